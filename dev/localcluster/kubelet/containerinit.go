package main

// container-init runs as root as the first process of a "container", already in a mount
// namespace of its own (the kubelet starts it with Unshareflags=CLONE_NEWNS; Go then marks
// "/" MS_REC|MS_PRIVATE so nothing propagates back to the host). It builds the container's
// root file system view, drops privileges and execs the container's process, so the PID the
// kubelet tracks is the container process itself.
//
// Root file system: there is no image; the container sees an overlay whose lower layer is
// the host's "/" and whose upper layer is a tmpfs private to this mount namespace. Mount
// points for volumes are created in that upper layer (nothing is created on the host), the
// volumes are bind-mounted on them, and with readOnlyRootFilesystem the overlay is then
// remounted read-only. /dev, /proc and /sys are the host's (bind mounts; we do not unshare
// the PID namespace, so /proc shows host processes — not emulated: PID/IPC/UTS isolation).
// Everything vanishes with the namespace when the process exits.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// initSpec is what the kubelet hands to container-init (a 0600 JSON file in the pod dir).
type initSpec struct {
	Scratch      string      `json:"scratch"`         // host dir; a tmpfs is mounted on it in the new namespace
	NetNS        string      `json:"netns,omitempty"` // the pod's network namespace; "" for hostNetwork
	Mounts       []mountSpec `json:"mounts"`
	Binary       string      `json:"binary"`   // host path of the executable (symlinks resolved)
	ExecPath     string      `json:"execPath"` // path inside the container root
	BindBinary   bool        `json:"bindBinary"`
	Argv         []string    `json:"argv"`
	Env          []string    `json:"env"`
	WorkingDir   string      `json:"workingDir"`
	UID          *int64      `json:"uid,omitempty"`
	GID          *int64      `json:"gid,omitempty"`
	Groups       []int64     `json:"groups,omitempty"`
	NoNewPrivs   bool        `json:"noNewPrivs"`
	ReadOnlyRoot bool        `json:"readOnlyRoot"`
}

type mountSpec struct {
	Source   string `json:"source"`
	Target   string `json:"target"` // absolute path inside the container
	ReadOnly bool   `json:"readOnly"`
}

func containerInit(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: container-init SPEC.json")
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var s initSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if s.NetNS != "" {
		// Before the chroot hides /run/netns; main locked this thread, which execs below.
		f, err := os.Open(s.NetNS)
		if err != nil {
			return err
		}
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("joining the pod network %s: %w", s.NetNS, err)
		}
		f.Close()
	}
	if err := setupRoot(&s); err != nil {
		return fmt.Errorf("setting up the container root: %w", err)
	}
	return dropAndExec(&s)
}

func setupRoot(s *initSpec) error {
	scratch := s.Scratch
	if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=64m"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", scratch, err)
	}
	upper, work, root := filepath.Join(scratch, "upper"), filepath.Join(scratch, "work"), filepath.Join(scratch, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=/,upperdir=%s,workdir=%s", upper, work)
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay root: %w", err)
	}
	// The overlay does not carry the host's submounts: bring back the API file systems.
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		if err := unix.Mount(d, filepath.Join(root, d), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s: %w", d, err)
		}
	}
	if err := unix.Mount("", filepath.Join(root, "sys"), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("read-only /sys: %w", err)
	}
	for _, m := range s.Mounts {
		if err := bindInto(root, m.Source, m.Target, m.ReadOnly); err != nil {
			return err
		}
	}
	if s.BindBinary {
		if err := bindInto(root, s.Binary, s.ExecPath, true); err != nil {
			return err
		}
	}
	if s.ReadOnlyRoot {
		if err := unix.Mount("", root, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("read-only root: %w", err)
		}
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	wd := s.WorkingDir
	if wd == "" {
		wd = "/"
	}
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("workingDir %s: %w", wd, err)
	}
	return nil
}

// bindInto bind-mounts source (a directory or a file on the host) onto target inside root,
// creating the mount point in the overlay's upper layer when it does not exist. The target
// is resolved as the container would see it: symlinks on the way (e.g. /var/run -> /run)
// are followed inside root, never out to the host.
func bindInto(root, source, target string, readOnly bool) error {
	fi, err := os.Stat(source)
	if err != nil {
		return err
	}
	var dst string
	if fi.IsDir() {
		if dst, err = resolveInRoot(root, target, true); err != nil {
			return fmt.Errorf("mount point %s: %w", target, err)
		}
	} else {
		parent, err := resolveInRoot(root, filepath.Dir(filepath.Clean("/"+target)), true)
		if err != nil {
			return fmt.Errorf("mount point %s: %w", target, err)
		}
		dst = filepath.Join(parent, filepath.Base(target))
		lfi, err := os.Lstat(dst)
		switch {
		case os.IsNotExist(err):
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
			if err != nil {
				return fmt.Errorf("mount point %s: %w", target, err)
			}
			f.Close()
		case err != nil:
			return err
		case lfi.Mode()&os.ModeSymlink != 0 || lfi.IsDir():
			return fmt.Errorf("mount point %s: not a regular file in the container", target)
		}
	}
	if err := unix.Mount(source, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", source, target, err)
	}
	if readOnly {
		if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", target, err)
		}
	}
	return nil
}

// resolveInRoot maps an absolute container path to a host path under root, following
// symlinks the way they resolve inside the container (absolute links restart at root, ".."
// never climbs above root), and creating missing directories when create is set.
func resolveInRoot(root, target string, create bool) (string, error) {
	queue := strings.Split(filepath.Clean("/"+target), "/")
	cur, hops := root, 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if cur != root {
				cur = filepath.Dir(cur)
			}
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(next)
		if os.IsNotExist(err) && create {
			if err := os.Mkdir(next, 0o755); err != nil {
				return "", err
			}
			cur = next
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return "", unix.ELOOP
			}
			link, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(link) {
				cur = root
			}
			queue = append(strings.Split(link, "/"), queue...)
			continue
		}
		if !fi.IsDir() && len(queue) > 0 {
			return "", fmt.Errorf("%s: not a directory", next)
		}
		cur = next
	}
	return cur, nil
}

func dropAndExec(s *initSpec) error {
	unix.Umask(0o022)
	if s.GID != nil {
		groups := make([]int, 0, len(s.Groups))
		for _, g := range s.Groups {
			groups = append(groups, int(g))
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(int(*s.GID)); err != nil {
			return fmt.Errorf("setgid: %w", err)
		}
	} else if len(s.Groups) > 0 {
		groups := make([]int, 0, len(s.Groups))
		for _, g := range s.Groups {
			groups = append(groups, int(g))
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if s.UID != nil {
		// Leaving uid 0 clears the permitted/effective capability sets (no keepcaps): for a
		// non-root runAsUser this is what capabilities.drop [ALL] amounts to.
		if err := syscall.Setuid(int(*s.UID)); err != nil {
			return fmt.Errorf("setuid: %w", err)
		}
	}
	// A credential change resets the parent-death signal: arm it again so the container dies
	// with the kubelet if the kubelet is killed hard.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	if s.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	err := syscall.Exec(s.ExecPath, s.Argv, s.Env)
	return fmt.Errorf("exec %s: %w", s.ExecPath, err)
}
