package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Volumes are materialised under pods/<ns>_<name>/volumes/<volume>/ and bind-mounted into
// each container's mount namespace at its mountPath. configMap, secret, downwardAPI and
// projected volumes are written the way the kubelet's atomic writer lays them out: a
// timestamped directory, a "..data" symlink swapped atomically, and one symlink per
// top-level entry pointing into "..data" — so updates show up in running containers.
//
// Ownership and modes follow the kubelet: defaultMode (0644 unless set) or the item's mode;
// with fsGroup, files and directories get that group, files g+r (0440 mask, these volumes
// are read-only) and directories setgid; projected service-account tokens are 0600 and owned
// by the pod's runAsUser when every container runs as the same user (the kubelet's "fsUser").
// Not emulated: emptyDir medium Memory (a plain directory), sizeLimit, SELinux labels.

type fileProjection struct {
	data  []byte
	mode  os.FileMode
	owner *int64 // uid, nil = root
}

type volumeState struct {
	hash        string
	tokenExpiry time.Time // earliest time a projected token must be refreshed
}

const defaultMode = 0o644

func (w *podWorker) volumeDir(name string) string {
	return filepath.Join(w.dir, "volumes", name)
}

// supportedVolume reports why a volume cannot be provided, or "".
func supportedVolume(v *v1.Volume) string {
	switch {
	case v.ConfigMap != nil, v.Secret != nil, v.EmptyDir != nil, v.DownwardAPI != nil, v.HostPath != nil:
		return ""
	case v.Projected != nil:
		for _, s := range v.Projected.Sources {
			if s.ClusterTrustBundle != nil || s.PodCertificate != nil {
				return fmt.Sprintf("volume %q: projected clusterTrustBundle/podCertificate sources are not supported", v.Name)
			}
		}
		return ""
	}
	return fmt.Sprintf("volume %q: only configMap, secret, emptyDir, downwardAPI, projected and hostPath volumes are supported", v.Name)
}

// fsUser is the kubelet's notion of the single uid all containers run as, if any.
func fsUser(pod *v1.Pod) *int64 {
	var uid *int64
	all := append(append([]v1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for i := range all {
		u := effectiveUID(pod, &all[i])
		if u == nil {
			return nil
		}
		if uid != nil && *uid != *u {
			return nil
		}
		uid = u
	}
	return uid
}

func fsGroup(pod *v1.Pod) *int64 {
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.FSGroup
	}
	return nil
}

// syncVolumes materialises every volume; force rewrites even when nothing changed.
func (w *podWorker) syncVolumes(ctx context.Context, pod *v1.Pod, force bool) error {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir := w.volumeDir(v.Name)
		switch {
		case v.EmptyDir != nil:
			if err := w.ensureEmptyDir(pod, dir); err != nil {
				return fmt.Errorf("emptyDir %q: %w", v.Name, err)
			}
		case v.HostPath != nil:
			// mounted straight from the host path in the container; nothing to write
		default:
			st := w.volumes[v.Name]
			if st == nil {
				st = &volumeState{}
				w.volumes[v.Name] = st
			}
			refreshTokens := force || st.hash == "" || (!st.tokenExpiry.IsZero() && time.Now().After(st.tokenExpiry))
			payload, expiry, err := w.collect(ctx, pod, v, refreshTokens)
			if err != nil {
				return fmt.Errorf("volume %q: %w", v.Name, err)
			}
			if payload == nil {
				continue // only tokens, and they do not need a refresh yet
			}
			h := payloadHash(payload)
			if h == st.hash && !force {
				continue
			}
			if err := writeAtomic(dir, payload, fsGroup(pod)); err != nil {
				return fmt.Errorf("volume %q: %w", v.Name, err)
			}
			st.hash = h
			st.tokenExpiry = expiry
		}
	}
	return nil
}

func (w *podWorker) ensureEmptyDir(pod *v1.Pod, dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	mode := os.FileMode(0o777)
	if g := fsGroup(pod); g != nil {
		if err := os.Chown(dir, -1, int(*g)); err != nil {
			return err
		}
		mode |= os.ModeSetgid
	}
	return os.Chmod(dir, mode)
}

// collect builds the payload of a configMap/secret/downwardAPI/projected volume. When the
// volume has service-account tokens that need no refresh (refreshTokens false) and nothing
// else changed, it still returns the full payload (tokens re-read from disk).
func (w *podWorker) collect(ctx context.Context, pod *v1.Pod, v *v1.Volume, refreshTokens bool) (map[string]fileProjection, time.Time, error) {
	payload := map[string]fileProjection{}
	var expiry time.Time
	switch {
	case v.ConfigMap != nil:
		mode := modeOr(v.ConfigMap.DefaultMode)
		if err := w.addConfigMap(ctx, pod, payload, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode); err != nil {
			return nil, expiry, err
		}
	case v.Secret != nil:
		mode := modeOr(v.Secret.DefaultMode)
		if err := w.addSecret(ctx, pod, payload, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode); err != nil {
			return nil, expiry, err
		}
	case v.DownwardAPI != nil:
		if err := w.addDownward(pod, payload, v.DownwardAPI.Items, modeOr(v.DownwardAPI.DefaultMode)); err != nil {
			return nil, expiry, err
		}
	case v.Projected != nil:
		mode := modeOr(v.Projected.DefaultMode)
		for _, s := range v.Projected.Sources {
			switch {
			case s.ConfigMap != nil:
				if err := w.addConfigMap(ctx, pod, payload, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, mode); err != nil {
					return nil, expiry, err
				}
			case s.Secret != nil:
				if err := w.addSecret(ctx, pod, payload, s.Secret.Name, s.Secret.Items, s.Secret.Optional, mode); err != nil {
					return nil, expiry, err
				}
			case s.DownwardAPI != nil:
				if err := w.addDownward(pod, payload, s.DownwardAPI.Items, mode); err != nil {
					return nil, expiry, err
				}
			case s.ServiceAccountToken != nil:
				tp := s.ServiceAccountToken
				fp := fileProjection{mode: mode}
				if fu, fg := fsUser(pod), fsGroup(pod); fu != nil || fg != nil {
					fp.mode = 0o600
					fp.owner = fu
				}
				if refreshTokens {
					tok, exp, err := w.requestToken(ctx, pod, tp)
					if err != nil {
						return nil, expiry, err
					}
					fp.data = []byte(tok)
					if expiry.IsZero() || exp.Before(expiry) {
						expiry = exp
					}
				} else {
					b, err := os.ReadFile(filepath.Join(w.volumeDir(v.Name), tp.Path))
					if err != nil {
						return w.collect(ctx, pod, v, true)
					}
					fp.data = b
					expiry = w.volumes[v.Name].tokenExpiry
				}
				payload[tp.Path] = fp
			}
		}
	}
	return payload, expiry, nil
}

func modeOr(m *int32) os.FileMode {
	if m == nil {
		return defaultMode
	}
	return os.FileMode(*m) & 0o777
}

func (w *podWorker) addConfigMap(ctx context.Context, pod *v1.Pod, payload map[string]fileProjection, name string, items []v1.KeyToPath, optional *bool, mode os.FileMode) error {
	cm, err := w.getConfigMap(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return nil
		}
		return fmt.Errorf("configmap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(payload, data, items, optional, mode, "configmap "+name)
}

func (w *podWorker) addSecret(ctx context.Context, pod *v1.Pod, payload map[string]fileProjection, name string, items []v1.KeyToPath, optional *bool, mode os.FileMode) error {
	s, err := w.getSecret(ctx, pod.Namespace, name)
	if err != nil {
		if apierrors.IsNotFound(err) && optional != nil && *optional {
			return nil
		}
		return fmt.Errorf("secret %q: %w", name, err)
	}
	return project(payload, s.Data, items, optional, mode, "secret "+name)
}

func project(payload map[string]fileProjection, data map[string][]byte, items []v1.KeyToPath, optional *bool, mode os.FileMode, what string) error {
	if len(items) == 0 {
		for k, v := range data {
			payload[k] = fileProjection{data: v, mode: mode}
		}
		return nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return fmt.Errorf("%s has no key %q", what, it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		payload[it.Path] = fileProjection{data: v, mode: m}
	}
	return nil
}

func (w *podWorker) addDownward(pod *v1.Pod, payload map[string]fileProjection, items []v1.DownwardAPIVolumeFile, mode os.FileMode) error {
	for _, it := range items {
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = w.fieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			val, err = w.resourceFieldValue(pod, "", it.ResourceFieldRef)
		default:
			err = fmt.Errorf("downwardAPI item %q has no source", it.Path)
		}
		if err != nil {
			return err
		}
		payload[it.Path] = fileProjection{data: []byte(val), mode: m}
	}
	return nil
}

// requestToken asks the TokenRequest API for a token of the pod's service account, bound to
// the pod, as the kubelet does for projected serviceAccountToken sources.
func (w *podWorker) requestToken(ctx context.Context, pod *v1.Pod, tp *v1.ServiceAccountTokenProjection) (string, time.Time, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if tp.ExpirationSeconds != nil {
		exp = *tp.ExpirationSeconds
	}
	var auds []string
	if tp.Audience != "" {
		auds = []string{tp.Audience}
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         auds,
		ExpirationSeconds: ptr.To(exp),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	out, err := w.n.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token for serviceaccount %s/%s: %w", pod.Namespace, sa, err)
	}
	issued := time.Now()
	ttl := out.Status.ExpirationTimestamp.Time.Sub(issued)
	// The kubelet refreshes at 80% of the lifetime, or after 24h.
	refresh := issued.Add(ttl * 8 / 10)
	if max := issued.Add(24 * time.Hour); refresh.After(max) {
		refresh = max
	}
	return out.Status.Token, refresh, nil
}

func payloadHash(p map[string]fileProjection) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		f := p[k]
		owner := int64(-1)
		if f.owner != nil {
			owner = *f.owner
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00", k, f.mode, owner, len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeAtomic lays the payload out like the kubelet's atomic writer.
func writeAtomic(dir string, payload map[string]fileProjection, group *int64) error {
	for p := range payload {
		if p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") || strings.Contains(p, "/../") {
			return fmt.Errorf("invalid path %q", p)
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	ts := filepath.Join(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05.000000000"))
	if err := os.Mkdir(ts, 0o755); err != nil {
		return err
	}
	dirMode := os.FileMode(0o755)
	gid := -1
	if group != nil {
		gid = int(*group)
		dirMode |= 0o050 | os.ModeSetgid
	}
	setDir := func(d string) error {
		if err := os.Chown(d, -1, gid); err != nil {
			return err
		}
		return os.Chmod(d, dirMode)
	}
	if err := setDir(ts); err != nil {
		return err
	}
	for p, f := range payload {
		full := filepath.Join(ts, p)
		if d := filepath.Dir(full); d != ts {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			for x := d; x != ts; x = filepath.Dir(x) {
				if err := setDir(x); err != nil {
					return err
				}
			}
		}
		if err := os.WriteFile(full, f.data, 0o600); err != nil {
			return err
		}
		uid := -1
		if f.owner != nil {
			uid = int(*f.owner)
		}
		mode := f.mode
		if group != nil {
			mode |= 0o440
		}
		if err := os.Chown(full, uid, gid); err != nil {
			return err
		}
		if err := os.Chmod(full, mode); err != nil {
			return err
		}
	}
	// Swap ..data atomically.
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return err
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	// Top-level user-visible symlinks.
	want := map[string]bool{}
	for p := range payload {
		top := strings.SplitN(p, "/", 2)[0]
		want[top] = true
	}
	for top := range want {
		link := filepath.Join(dir, top)
		if cur, err := os.Readlink(link); err == nil && cur == filepath.Join("..data", top) {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(filepath.Join("..data", top), link); err != nil {
			return err
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") {
			if name != "..data" && name != filepath.Base(ts) {
				_ = os.RemoveAll(filepath.Join(dir, name))
			}
			continue
		}
		if !want[name] {
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	}
	_ = old
	if group != nil {
		if err := setDir(dir); err != nil {
			return err
		}
	}
	return nil
}
