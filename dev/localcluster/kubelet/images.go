package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// There is no container runtime here: an image is mapped to a host binary. Only the images
// the metrics proxy uses are known; a pod with any other image stays Pending.
type imageKind struct {
	names      []string // what to look for in the image's repository
	entrypoint []string // the image's ENTRYPOINT (argv), nil when it has none
	cmd        []string // the image's CMD
	// files maps executables of the image to host binaries (names on the kubelet's PATH);
	// any other command[0] is resolved by its basename.
	files map[string]string
	// With no entrypoint, a docker-entrypoint.sh that prepends cmd[0] when the first argument
	// starts with "-"; prependNonCommand: also when it names no command (curlimages/curl).
	prependNonCommand bool
	// The image's STOPSIGNAL, which the container runtime sends to stop it; SIGTERM when unset.
	stopSignal syscall.Signal
}

var knownImages = []imageKind{
	// kube-rbac-proxy images: ENTRYPOINT ["/usr/local/bin/kube-rbac-proxy"], no CMD.
	{names: []string{"kube-rbac-proxy"}, entrypoint: []string{"kube-rbac-proxy"}},
	// The official haproxy image: ENTRYPOINT ["docker-entrypoint.sh"] which prepends
	// "haproxy" when the first argument starts with "-"; CMD ["haproxy", "-f", CFG].
	// STOPSIGNAL SIGUSR1 (haproxy's soft stop), in the official image as in kind's.
	{names: []string{"haproxy"}, cmd: []string{"haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"},
		stopSignal: syscall.SIGUSR1},
	// The Cluster API core manager: ENTRYPOINT ["/manager"], the cluster-api-controller binary.
	{names: []string{"cluster-api-controller"}, entrypoint: []string{"/manager"},
		files: map[string]string{"/manager": "cluster-api-controller"}},
	// curlimages/curl: ENTRYPOINT ["/entrypoint.sh"] (prepends curl to options and to
	// anything that is no command), CMD ["curl"].
	{names: []string{"curlimages/curl"}, cmd: []string{"curl"}, prependNonCommand: true},
	// ENTRYPOINT ["/bin/prometheus"], CMD as in the upstream Dockerfile.
	{names: []string{"prometheus/prometheus", "prom/prometheus"}, entrypoint: []string{"/bin/prometheus"},
		cmd: []string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"}},
}

func knownImageNames() string {
	var names []string
	for _, k := range knownImages {
		names = append(names, k.names...)
	}
	return strings.Join(names, ", ")
}

func imageFor(ref string) *imageKind {
	// Match on the repository path, not on the registry host or the tag.
	repo := ref
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	for i := range knownImages {
		for _, name := range knownImages[i].names {
			if strings.Contains(repo, name) {
				return &knownImages[i]
			}
		}
	}
	return nil
}

// argvFor computes the process argv the way a container runtime combines the image's
// ENTRYPOINT/CMD with the container's command/args (already $(VAR)-expanded).
func (img *imageKind) argvFor(command, args []string) []string {
	switch {
	case len(command) > 0:
		return append(append([]string{}, command...), args...)
	case img.entrypoint != nil:
		if len(args) > 0 {
			return append(append([]string{}, img.entrypoint...), args...)
		}
		return append(append([]string{}, img.entrypoint...), img.cmd...)
	default: // haproxy-style docker-entrypoint.sh
		if len(args) == 0 {
			return append([]string{}, img.cmd...)
		}
		if strings.HasPrefix(args[0], "-") {
			return append([]string{img.cmd[0]}, args...)
		}
		if img.prependNonCommand {
			if _, err := img.resolve(args[0]); err != nil || strings.Contains(args[0], "://") {
				return append([]string{img.cmd[0]}, args...)
			}
		}
		return append([]string{}, args...)
	}
}

// resolve finds the host binary that plays argv0 of this image.
func (img *imageKind) resolve(argv0 string) (string, error) {
	if host, ok := img.files[argv0]; ok {
		return resolveBinary(host)
	}
	return resolveBinary(argv0)
}

// resolveBinary resolves argv[0] by its basename on the kubelet's PATH (plus the sbin
// directories, where Debian puts haproxy) and follows symlinks.
func resolveBinary(argv0 string) (string, error) {
	base := filepath.Base(argv0)
	p, err := exec.LookPath(base)
	if err != nil {
		for _, d := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
			if fi, serr := os.Stat(filepath.Join(d, base)); serr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				p, err = filepath.Join(d, base), nil
				break
			}
		}
	}
	if err != nil {
		return "", fmt.Errorf("executable %q not found on the kubelet's PATH", base)
	}
	abs, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(abs)
}

var (
	digestMu    sync.Mutex
	digestCache = map[string]string{}
)

// binaryDigest is used as the imageID: the sha256 of the host binary that plays the image.
func binaryDigest(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	key := fmt.Sprintf("%s|%d|%d", path, fi.Size(), fi.ModTime().UnixNano())
	digestMu.Lock()
	defer digestMu.Unlock()
	if d, ok := digestCache[key]; ok {
		return d
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))
	digestCache[key] = d
	return d
}
