package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Emulated registries: a stand-in. There is no registry here, as there is no container runtime:
// an image is played by a host binary (images.go). What a pull can emulate honestly is *where* an
// image may come from. Without the registries file the nodes are on an open network: every image
// is "pulled" from the registry it names, at once, and nothing is remembered. With the file
// (--emulated-registries; up.sh passes run/registries.json, tests write it), the nodes are on a
// closed network, as an air-gapped cluster behind a registry mirror: an image is pulled only from
// a registry the file declares, only if that registry holds that repository and tag, and, when the
// registry asks for credentials, only with an imagePullSecret of the pod that carries them.
// Anything else fails as a real pull does (containerd's messages, marked as the stand-in's): the
// waiting reason ErrImagePull, then ImagePullBackOff with back-off, retried until the file (re-read
// at every pull) lets it through. Images pulled are kept per node, for imagePullPolicy.
type emulatedRegistries struct {
	Registries []emulatedRegistry `json:"registries"`
}

type emulatedRegistry struct {
	// Host is the registry as image references name it: "mirror.example:5000".
	Host string `json:"host"`
	// Images are the references it holds, without the host: "brancz/kube-rbac-proxy:v0.19.1".
	Images []string `json:"images"`
	// Credentials, when set, are required: the pod's imagePullSecrets must carry them for Host.
	Credentials *registryCredentials `json:"credentials,omitempty"`
	// Mirrors are the upstream registries whose pulls the nodes' runtime sends here, each to a
	// namespace of this registry ("" for none): containerd's mirror configuration, as EKS Anywhere
	// writes it from registryMirrorConfiguration (public.ecr.aws by default, or its ociNamespaces).
	Mirrors map[string]string `json:"mirrors,omitempty"`
}

type registryCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// imageRef is a reference in the form a container runtime resolves: docker.io for names without
// a registry, library/ for Docker Hub's one-word names, latest for no tag.
type imageRef struct {
	registry, repository string
	tag, digest          string
}

// Without the host: what a registry holds under it.
func (r imageRef) path() string {
	if r.digest != "" {
		return r.repository + "@" + r.digest
	}
	return r.repository + ":" + r.tag
}

func (r imageRef) String() string { return r.registry + "/" + r.path() }

// reference is the tag or digest a manifest is fetched by.
func (r imageRef) reference() string {
	if r.digest != "" {
		return r.digest
	}
	return r.tag
}

// endpoint is where the registry's API answers: Docker Hub's is registry-1.docker.io.
func (r imageRef) endpoint() string {
	if r.registry == "docker.io" {
		return "registry-1.docker.io"
	}
	return r.registry
}

func (r imageRef) endpointHost() string {
	host := r.endpoint()
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

func parseImageRef(ref string) (imageRef, error) {
	var r imageRef
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, r.digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, r.tag = name[:i], name[i+1:]
	}
	if r.tag == "" && r.digest == "" {
		r.tag = "latest"
	}
	first, rest, found := strings.Cut(name, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.registry, r.repository = first, rest
	} else {
		r.registry, r.repository = "docker.io", name
	}
	if r.registry == "index.docker.io" {
		r.registry = "docker.io"
	}
	if r.registry == "docker.io" && !strings.Contains(r.repository, "/") {
		r.repository = "library/" + r.repository
	}
	if r.repository == "" || strings.HasSuffix(r.repository, "/") || strings.ContainsAny(r.repository, " :@") {
		return r, errors.New("invalid reference format")
	}
	return r, nil
}

// readEmulatedRegistries reads the file; nil (an open network) when there is none.
func readEmulatedRegistries(file string) (*emulatedRegistries, error) {
	if file == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var regs emulatedRegistries
	if err := json.Unmarshal(raw, &regs); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &regs, nil
}

func (e *emulatedRegistries) hosts() string {
	var hosts []string
	for _, r := range e.Registries {
		mirrored := make([]string, 0, len(r.Mirrors))
		for upstream := range r.Mirrors {
			mirrored = append(mirrored, upstream)
		}
		sort.Strings(mirrored)
		if len(mirrored) > 0 {
			hosts = append(hosts, r.Host+" (the mirror of "+strings.Join(mirrored, ", ")+")")
		} else {
			hosts = append(hosts, r.Host)
		}
	}
	sort.Strings(hosts)
	return strings.Join(hosts, ", ")
}

// standIn marks every failure the emulation invents, so no one takes it for a real registry's.
const standIn = "localcluster's emulated registries, a stand-in"

// pull decides a pull of ref on a closed network, with the credentials of the pod's
// imagePullSecrets by registry host. nil error: pulled; the string names where from. The errors
// follow what containerd answers a real kubelet (the CRI's rpc error), with what the emulation knows.
func (e *emulatedRegistries) pull(ref string, creds map[string][]registryCredentials) (string, error) {
	r, err := parseImageRef(ref)
	if err != nil {
		return "", fmt.Errorf("rpc error: code = Unknown desc = failed to pull and unpack image %q: %v", ref, err)
	}
	manifest := func(r imageRef) string {
		return fmt.Sprintf("https://%s/v2/%s/manifests/%s", r.endpoint(), r.repository, r.reference())
	}
	failed := func(code string, resolved imageRef, why string) error {
		return fmt.Errorf("rpc error: code = %s desc = failed to pull and unpack image %q: failed to resolve reference %q: %s", code, r, resolved, why)
	}
	for _, reg := range e.Registries {
		target, via := r, ""
		if ns, ok := reg.Mirrors[r.registry]; ok && reg.Host != r.registry {
			// Pulled through the mirror: the same repository under its namespace there, as containerd
			// resolves a mirror endpoint; the credentials are the mirror's.
			target.registry, via = reg.Host, " through its mirror "+reg.Host
			if ns != "" {
				target.repository = ns + "/" + r.repository
			}
		} else if reg.Host != r.registry {
			continue
		}
		if c := reg.Credentials; c != nil && !hasCredentials(creds[reg.Host], *c) {
			return "", failed("Unknown", target, fmt.Sprintf("pull access denied, repository does not exist or may require authorization: unexpected status from HEAD request to %s: 401 Unauthorized (%s: %s requires credentials, and none of the pod's imagePullSecrets carries them for %s)", manifest(target), standIn, reg.Host, reg.Host))
		}
		for _, held := range reg.Images {
			if h, err := parseImageRef(reg.Host + "/" + held); err == nil && h == target {
				return "emulated registry " + reg.Host + " (" + standIn + ")", nil
			}
		}
		return "", failed("NotFound", target, fmt.Sprintf("%s: not found (%s: %s%s holds %s)", target, standIn, reg.Host, via, strings.Join(reg.Images, ", ")))
	}
	return "", failed("Unknown", r, fmt.Sprintf("failed to do request: Head %q: dial tcp: lookup %s: no such host (%s: a closed network, whose only registries are %s)", manifest(r), r.endpointHost(), standIn, e.hosts()))
}

func hasCredentials(have []registryCredentials, want registryCredentials) bool {
	for _, c := range have {
		if c == want {
			return true
		}
	}
	return false
}

// dockerConfigCredentials reads a kubernetes.io/dockerconfigjson (or legacy dockercfg) Secret's
// credentials by registry host, as the kubelet's keyring does: username/password, or auth
// (base64 of "user:password").
func dockerConfigCredentials(s *v1.Secret) map[string][]registryCredentials {
	type entry struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	}
	auths := map[string]entry{}
	switch s.Type {
	case v1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]entry `json:"auths"`
		}
		if json.Unmarshal(s.Data[v1.DockerConfigJsonKey], &cfg) == nil {
			auths = cfg.Auths
		}
	case v1.SecretTypeDockercfg:
		_ = json.Unmarshal(s.Data[v1.DockerConfigKey], &auths)
	}
	out := map[string][]registryCredentials{}
	for key, a := range auths {
		// Keys may be URLs ("https://mirror.example:5000/v2/"): the host is what matches.
		host := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
		host, _, _ = strings.Cut(host, "/")
		c := registryCredentials{Username: a.Username, Password: a.Password}
		if a.Auth != "" {
			if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
				if user, pass, ok := strings.Cut(string(raw), ":"); ok {
					c = registryCredentials{Username: user, Password: pass}
				}
			}
		}
		out[host] = append(out[host], c)
	}
	return out
}

// pullImage "pulls" a container's image before it starts, honouring its imagePullPolicy against
// the node's store of images pulled so far. Open network: always pulled.
func (w *podWorker) pullImage(ctx context.Context, pod *v1.Pod, c *container) error {
	ref := c.spec.Image
	regs, err := readEmulatedRegistries(w.n.k.cfg.registriesFile)
	if err != nil {
		return &startError{"ErrImagePull", "reading the emulated registries: " + err.Error()}
	}
	if regs == nil {
		return nil
	}
	if _, err := parseImageRef(ref); err != nil {
		return &startError{"InvalidImageName", fmt.Sprintf("Failed to apply default image tag %q: couldn't parse image name %q: %v", ref, ref, err)}
	}
	present := w.n.imagePresent(ref)
	switch c.spec.ImagePullPolicy {
	case v1.PullNever:
		if !present {
			return &startError{"ErrImageNeverPull", fmt.Sprintf("Container image %q is not present with pull policy of Never", ref)}
		}
		return nil
	case v1.PullIfNotPresent:
		if present {
			w.n.recorder.Eventf(pod, v1.EventTypeNormal, "Pulled", "Container image %q already present on machine", ref)
			return nil
		}
	}
	creds := map[string][]registryCredentials{}
	for _, s := range pod.Spec.ImagePullSecrets {
		secret, err := w.getSecret(ctx, pod.Namespace, s.Name)
		if err != nil {
			// As the kubelet: a missing pull secret is a warning; the pull goes on without it.
			w.n.recorder.Eventf(pod, v1.EventTypeWarning, "FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (%s); attempting to pull the image may not succeed.", s.Name)
			continue
		}
		for host, cs := range dockerConfigCredentials(secret) {
			creds[host] = append(creds[host], cs...)
		}
	}
	w.n.recorder.Eventf(pod, v1.EventTypeNormal, "Pulling", "Pulling image %q", ref)
	from, err := regs.pull(ref, creds)
	if err != nil {
		w.n.recorder.Eventf(pod, v1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", ref, err)
		return &startError{"ErrImagePull", err.Error()}
	}
	w.n.setImagePresent(ref)
	w.n.recorder.Eventf(pod, v1.EventTypeNormal, "Pulled", "Successfully pulled image %q from the %s", ref, from)
	return nil
}
