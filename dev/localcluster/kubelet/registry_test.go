package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestParseImageRef(t *testing.T) {
	cases := map[string]string{
		"curlimages/curl:8.11.1":                     "docker.io/curlimages/curl:8.11.1",
		"haproxy":                                    "docker.io/library/haproxy:latest",
		"index.docker.io/library/haproxy:3.0":        "docker.io/library/haproxy:3.0",
		"quay.io/brancz/kube-rbac-proxy:v0.19.1":     "quay.io/brancz/kube-rbac-proxy:v0.19.1",
		"mirror.example:5000/brancz/kube-rbac-proxy": "mirror.example:5000/brancz/kube-rbac-proxy:latest",
		"localhost/curl:1":                           "localhost/curl:1",
		"127.0.0.9:5000/a/b@sha256:abc":              "127.0.0.9:5000/a/b@sha256:abc",
		// A first component without '.', ':' or localhost is a Docker Hub namespace, not a host.
		"mirror/curl:1": "docker.io/mirror/curl:1",
	}
	for in, want := range cases {
		r, err := parseImageRef(in)
		if err != nil || r.String() != want {
			t.Errorf("parseImageRef(%q) = %q, %v; want %q", in, r.String(), err, want)
		}
	}
	for _, bad := range []string{"", "quay.io/", "a b", "quay.io/x:y:z"} {
		if _, err := parseImageRef(bad); err == nil {
			t.Errorf("parseImageRef(%q): no error", bad)
		}
	}
}

var mirror = &emulatedRegistries{Registries: []emulatedRegistry{
	{Host: "mirror.example:5000", Images: []string{"brancz/kube-rbac-proxy:v0.19.1", "curlimages/curl:8.11.1"}},
	{Host: "private.example", Images: []string{"team/haproxy:3"}, Credentials: &registryCredentials{"puller", "s3cret"}},
}}

func TestPullFromDeclaredRegistryOnly(t *testing.T) {
	from, err := mirror.pull("mirror.example:5000/curlimages/curl:8.11.1", nil)
	if err != nil || !strings.Contains(from, "mirror.example:5000") || !strings.Contains(from, "stand-in") {
		t.Fatalf("pull from the mirror = %q, %v", from, err)
	}
	// The same image, named by its upstream registry: no such host on a closed network.
	_, err = mirror.pull("curlimages/curl:8.11.1", nil)
	for _, want := range []string{
		`failed to pull and unpack image "docker.io/curlimages/curl:8.11.1"`,
		`Head "https://registry-1.docker.io/v2/curlimages/curl/manifests/8.11.1"`,
		"lookup registry-1.docker.io: no such host",
		"a stand-in", "mirror.example:5000, private.example",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("pull of the upstream image: %v; want it to contain %q", err, want)
		}
	}
	// A declared registry that does not hold the tag.
	_, err = mirror.pull("mirror.example:5000/curlimages/curl:8.12.0", nil)
	if err == nil || !strings.Contains(err.Error(), "code = NotFound") || !strings.Contains(err.Error(), "mirror.example:5000/curlimages/curl:8.12.0: not found") {
		t.Errorf("pull of a tag the mirror lacks: %v", err)
	}
}

func TestPullNeedsTheRegistrysCredentials(t *testing.T) {
	const ref = "private.example/team/haproxy:3"
	_, err := mirror.pull(ref, nil)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "imagePullSecrets") {
		t.Errorf("pull without credentials: %v", err)
	}
	wrong := map[string][]registryCredentials{"private.example": {{"puller", "wrong"}}, "mirror.example:5000": {{"puller", "s3cret"}}}
	if _, err := mirror.pull(ref, wrong); err == nil {
		t.Errorf("pull with a wrong password, or the right one for another host, succeeded")
	}
	right := map[string][]registryCredentials{"private.example": {{"other", "x"}, {"puller", "s3cret"}}}
	if _, err := mirror.pull(ref, right); err != nil {
		t.Errorf("pull with the credentials: %v", err)
	}
}

func TestDockerConfigCredentials(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("puller:s3cret:with-colon"))
	s := &v1.Secret{Type: v1.SecretTypeDockerConfigJson, Data: map[string][]byte{v1.DockerConfigJsonKey: []byte(`{"auths": {
		"https://private.example/v2/": {"auth": "` + auth + `"},
		"mirror.example:5000": {"username": "u", "password": "p"}}}`)}}
	got := dockerConfigCredentials(s)
	if c := got["private.example"]; len(c) != 1 || c[0] != (registryCredentials{"puller", "s3cret:with-colon"}) {
		t.Errorf("private.example: %v", c)
	}
	if c := got["mirror.example:5000"]; len(c) != 1 || c[0] != (registryCredentials{"u", "p"}) {
		t.Errorf("mirror.example:5000: %v", c)
	}
	legacy := &v1.Secret{Type: v1.SecretTypeDockercfg, Data: map[string][]byte{v1.DockerConfigKey: []byte(`{"private.example": {"username": "a", "password": "b"}}`)}}
	if c := dockerConfigCredentials(legacy)["private.example"]; len(c) != 1 || c[0].Username != "a" {
		t.Errorf("legacy dockercfg: %v", c)
	}
	opaque := &v1.Secret{Type: v1.SecretTypeOpaque, Data: map[string][]byte{v1.DockerConfigJsonKey: []byte(`{"auths": {"x": {}}}`)}}
	if got := dockerConfigCredentials(opaque); len(got) != 0 {
		t.Errorf("an Opaque secret gave credentials: %v", got)
	}
}

func TestReadEmulatedRegistries(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "registries.json")
	if regs, err := readEmulatedRegistries(file); regs != nil || err != nil {
		t.Fatalf("absent file: %v, %v; want an open network", regs, err)
	}
	if regs, err := readEmulatedRegistries(""); regs != nil || err != nil {
		t.Fatalf("no flag: %v, %v; want an open network", regs, err)
	}
	if err := os.WriteFile(file, []byte(`{"registries": [{"host": "mirror.example:5000", "images": ["a/b:1"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	regs, err := readEmulatedRegistries(file)
	if err != nil || len(regs.Registries) != 1 || regs.Registries[0].Host != "mirror.example:5000" {
		t.Fatalf("file: %+v, %v", regs, err)
	}
	if err := os.WriteFile(file, []byte(`{"registries": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readEmulatedRegistries(file); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestPullThroughAMirror(t *testing.T) {
	regs := &emulatedRegistries{Registries: []emulatedRegistry{{
		Host:    "mirror.example:5000",
		Images:  []string{"eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54", "quay/brancz/kube-rbac-proxy:v0.19.1"},
		Mirrors: map[string]string{"public.ecr.aws": "", "quay.io": "quay"},
	}}}
	for _, ref := range []string{
		"public.ecr.aws/eks-anywhere/kubernetes-sigs/kind/haproxy:v0.20.0-eks-a-54",
		"quay.io/brancz/kube-rbac-proxy:v0.19.1",
		"mirror.example:5000/quay/brancz/kube-rbac-proxy:v0.19.1",
	} {
		if from, err := regs.pull(ref, nil); err != nil || !strings.Contains(from, "mirror.example:5000") {
			t.Errorf("pull of %s = %q, %v; want it through the mirror", ref, from, err)
		}
	}
	_, err := regs.pull("quay.io/brancz/kube-rbac-proxy:v0.20.0", nil)
	if err == nil || !strings.Contains(err.Error(), `image "quay.io/brancz/kube-rbac-proxy:v0.20.0"`) ||
		!strings.Contains(err.Error(), "mirror.example:5000/quay/brancz/kube-rbac-proxy:v0.20.0: not found") {
		t.Errorf("a tag the mirror lacks: %v", err)
	}
	_, err = regs.pull("curlimages/curl:8.11.1", nil)
	if err == nil || !strings.Contains(err.Error(), "no such host") || !strings.Contains(err.Error(), "mirror.example:5000 (the mirror of public.ecr.aws, quay.io)") {
		t.Errorf("an unmirrored registry: %v", err)
	}
}
