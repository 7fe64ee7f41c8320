package main

import (
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"NODE_IP": "127.0.0.2", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	cases := map[string]string{
		"--secure-listen-address=$(NODE_IP):10249": "--secure-listen-address=127.0.0.2:10249",
		"$(UNDEFINED)":         "$(UNDEFINED)",
		"$$(NODE_IP)":          "$(NODE_IP)",
		"a$(EMPTY)b":           "ab",
		"$(NODE_IP":            "$(NODE_IP",
		"cost $5":              "cost $5",
		"end$":                 "end$",
		"$(NODE_IP)$(NODE_IP)": "127.0.0.2127.0.0.2",
	}
	for in, want := range cases {
		if got := expandVars(in, lookup); got != want {
			t.Errorf("expandVars(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResolveInRootStaysInside(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "run"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "var"), 0o755))
	must(os.Symlink("/run", filepath.Join(root, "var", "run")))    // absolute, like Debian's
	must(os.Symlink("../../..", filepath.Join(root, "run", "up"))) // tries to climb out
	got, err := resolveInRoot(root, "/var/run/secrets/kubernetes.io/serviceaccount", true)
	must(err)
	if want := filepath.Join(root, "run/secrets/kubernetes.io/serviceaccount"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	got, err = resolveInRoot(root, "/run/up/etc", true)
	must(err)
	if want := filepath.Join(root, "etc"); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestArgvFor(t *testing.T) {
	hap := imageFor("docker.io/library/haproxy:2.8")
	krp := imageFor("quay.io/brancz/kube-rbac-proxy:v0.21.0")
	if hap == nil || krp == nil || imageFor("busybox:1.36") != nil || imageFor("registry/haproxy-exporter-not@sha256:x") == nil {
		t.Fatal("image mapping")
	}
	eq := func(a, b []string) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if got := hap.argvFor(nil, nil); !eq(got, []string{"haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"}) {
		t.Errorf("haproxy default: %q", got)
	}
	if got := hap.argvFor(nil, []string{"-W", "-db"}); !eq(got, []string{"haproxy", "-W", "-db"}) {
		t.Errorf("haproxy args: %q", got)
	}
	if got := krp.argvFor(nil, []string{"--upstream=x"}); !eq(got, []string{"kube-rbac-proxy", "--upstream=x"}) {
		t.Errorf("kube-rbac-proxy args: %q", got)
	}
	if got := krp.argvFor([]string{"/bin/kube-rbac-proxy"}, []string{"-v"}); !eq(got, []string{"/bin/kube-rbac-proxy", "-v"}) {
		t.Errorf("command: %q", got)
	}
}

func TestFsUser(t *testing.T) {
	u := int64(65534)
	pod := &v1.Pod{Spec: v1.PodSpec{
		SecurityContext: &v1.PodSecurityContext{RunAsUser: &u},
		Containers:      []v1.Container{{Name: "a"}, {Name: "b"}},
	}}
	if got := fsUser(pod); got == nil || *got != u {
		t.Fatalf("fsUser = %v", got)
	}
	other := int64(1000)
	pod.Spec.Containers[1].SecurityContext = &v1.SecurityContext{RunAsUser: &other}
	if got := fsUser(pod); got != nil {
		t.Fatalf("fsUser with mixed users = %v, want nil", *got)
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	if err := writeAtomic(dir, map[string]fileProjection{"a": {data: []byte("1"), mode: 0o644}, "sub/b": {data: []byte("2"), mode: 0o400}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(dir, map[string]fileProjection{"a": {data: []byte("3"), mode: 0o644}}, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a"))
	if err != nil || string(b) != "3" {
		t.Fatalf("a = %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Fatalf("stale entry sub still there: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // a, ..data, ..<timestamp>
		t.Fatalf("entries: %v", entries)
	}
}

func TestSupportedLifecycle(t *testing.T) {
	sleep := &v1.LifecycleHandler{Sleep: &v1.SleepAction{Seconds: 5}}
	exec := &v1.LifecycleHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}
	for _, tc := range []struct {
		name string
		l    *v1.Lifecycle
		ok   bool
	}{
		{"none", nil, true},
		{"preStop sleep", &v1.Lifecycle{PreStop: sleep}, true},
		{"preStop exec", &v1.Lifecycle{PreStop: exec}, false},
		{"postStart", &v1.Lifecycle{PostStart: sleep}, false},
	} {
		if got := supportedLifecycle(tc.l) == ""; got != tc.ok {
			t.Errorf("%s: supported %v, want %v (%q)", tc.name, got, tc.ok, supportedLifecycle(tc.l))
		}
	}
}
