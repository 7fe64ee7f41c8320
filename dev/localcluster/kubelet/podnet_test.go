package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestPodSubnetAndPickPodIP(t *testing.T) {
	p, gw, err := podSubnet("192.168.1.0/24")
	if err != nil || gw.String() != "192.168.1.1" || p.String() != "192.168.1.0/24" {
		t.Fatalf("podSubnet = %v %v %v", p, gw, err)
	}
	taken := map[string]bool{"192.168.1.2": true, "192.168.1.4": true}
	a, err := pickPodIP(p, func(a netip.Addr) bool { return taken[a.String()] })
	if err != nil || a.String() != "192.168.1.3" {
		t.Fatalf("pickPodIP = %v %v, want 192.168.1.3", a, err)
	}
	// A /30 has one address besides the gateway, network and broadcast.
	p30, _, _ := podSubnet("10.0.0.4/30")
	if a, err := pickPodIP(p30, func(netip.Addr) bool { return false }); err != nil || a.String() != "10.0.0.6" {
		t.Fatalf("pickPodIP(/30) = %v %v", a, err)
	}
	if _, err := pickPodIP(p30, func(netip.Addr) bool { return true }); err == nil {
		t.Fatal("pickPodIP: a full subnet gave an address")
	}
	for _, bad := range []string{"fd00::/64", "10.0.0.0/31", "nonsense"} {
		if _, _, err := podSubnet(bad); err == nil {
			t.Errorf("podSubnet(%q) accepted", bad)
		}
	}
}

func TestReserveIsCollisionFreeAndPersistent(t *testing.T) {
	state := t.TempDir()
	pn := &podNetwork{stateDir: state, used: map[string]types.UID{}}
	seen := map[string]bool{}
	dirs := map[types.UID]string{}
	for _, uid := range []types.UID{"a", "b", "c"} {
		dir := filepath.Join(state, "pods", "ns_"+string(uid))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		dirs[uid] = dir
		r, _, _, err := pn.reserve(uid, "node", dir, "192.168.0.0/24")
		if err != nil || seen[r.ip] {
			t.Fatalf("reserve(%s) = %v %v (seen %v)", uid, r, err, seen)
		}
		seen[r.ip] = true
	}
	// Same pod again (e.g. after a kubelet restart): the same address.
	again := &podNetwork{stateDir: state, used: map[string]types.UID{}}
	r1, _, _, _ := pn.reserve("b", "node", dirs["b"], "192.168.0.0/24")
	r2, _, _, err := again.reserve("b", "node", dirs["b"], "192.168.0.0/24")
	if err != nil || r1.ip != r2.ip {
		t.Fatalf("reservation not persisted: %v vs %v (%v)", r1, r2, err)
	}
	// Released: the address is free again, the file is gone.
	pn.release(r1, dirs["b"])
	if _, err := os.Stat(filepath.Join(dirs["b"], "network")); !os.IsNotExist(err) {
		t.Fatalf("network file still there: %v", err)
	}
	r3, _, _, _ := pn.reserve("d", "node", dirs["b"], "192.168.0.0/24")
	if r3.ip != r1.ip {
		t.Fatalf("released address %s not reused (got %s)", r1.ip, r3.ip)
	}
	// retain drops reservations of this node's pods that are gone, only those.
	pn.retain("other-node", func(types.UID) bool { return false })
	if _, err := os.Stat(filepath.Join(dirs["a"], "network")); err != nil {
		t.Fatal("retain dropped another node's reservation")
	}
	pn.retain("node", func(uid types.UID) bool { return uid != "a" })
	if _, err := os.Stat(filepath.Join(dirs["a"], "network")); !os.IsNotExist(err) {
		t.Fatal("retain kept a gone pod's reservation")
	}
}

func TestPodNetNames(t *testing.T) {
	uid := types.UID("0b9f3c5e-6c1c-4a47-9a57-3a2f7f0f6a11")
	if v := podVethName(uid); len(v) > 15 || !strings.HasPrefix(v, "veth") {
		t.Errorf("veth name %q: want veth..., at most 15 characters", v)
	}
	if podNetnsName(uid) == podNetnsName("other") || podVethName(uid) == podVethName("other") {
		t.Error("names of different pods collide")
	}
	if podNetnsName(uid) != podNetnsName(uid) {
		t.Error("names are not stable")
	}
}

func TestRedirectRules(t *testing.T) {
	got, err := redirectRules([]string{"127.0.0.2", "127.0.0.3"}, "127.0.0.1:6443", 65001)
	if err != nil {
		t.Fatal(err)
	}
	want := "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" +
		"-A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 6443 -j REDIRECT --to-ports 65001\n" +
		"-A OUTPUT -d 127.0.0.2/32 -p tcp -j REDIRECT --to-ports 65001\n" +
		"-A OUTPUT -d 127.0.0.3/32 -p tcp -j REDIRECT --to-ports 65001\n" +
		"COMMIT\n"
	if got != want {
		t.Errorf("redirectRules:\n%s\nwant:\n%s", got, want)
	}
	if _, err := redirectRules(nil, "no-port", 1); err == nil {
		t.Error("an apiserver without port was accepted")
	}
}

func TestForwardAllowed(t *testing.T) {
	nodes := []string{"127.0.0.2"}
	for dst, want := range map[string]bool{
		"127.0.0.1:6443":  true,
		"127.0.0.1:2379":  false, // etcd is not the apiserver
		"127.0.0.2:10250": true,
		"127.0.0.2:65001": false, // the forwarder itself
		"127.0.0.9:80":    false,
	} {
		if got := forwardAllowed(netip.MustParseAddrPort(dst), nodes, "127.0.0.1:6443"); got != want {
			t.Errorf("forwardAllowed(%s) = %v, want %v", dst, got, want)
		}
	}
}

func TestParseOrigDst(t *testing.T) {
	// struct sockaddr_in: family (host order), port (network order), address, padding.
	b := make([]byte, 16)
	b[0], b[1] = 2, 0 // AF_INET, little-endian host
	b[2], b[3] = 0x19, 0x2b
	copy(b[4:8], []byte{127, 0, 0, 2})
	got, err := parseOrigDst(b)
	if err != nil || got.String() != "127.0.0.2:6443" {
		t.Fatalf("parseOrigDst = %v %v", got, err)
	}
	b[0] = 10 // AF_INET6
	if _, err := parseOrigDst(b); err == nil {
		t.Error("an IPv6 sockaddr was accepted")
	}
	if _, err := parseOrigDst(b[:4]); err == nil {
		t.Error("a short sockaddr was accepted")
	}
}

func TestImageMappings(t *testing.T) {
	capi := imageFor("registry.k8s.io/cluster-api/cluster-api-controller:v1.14.2")
	if capi == nil || strings.Join(capi.argvFor(nil, []string{"--leader-elect"}), " ") != "/manager --leader-elect" {
		t.Fatalf("cluster-api-controller image: %+v", capi)
	}
	if capi.files["/manager"] != "cluster-api-controller" {
		t.Error("/manager of the CAPI image is not cluster-api-controller")
	}
	if img := imageFor("docker.io/haproxy:2.8"); img.files["/manager"] != "" {
		t.Error("another image maps /manager")
	}
	curl := imageFor("curlimages/curl:8.11.1")
	if curl == nil {
		t.Fatal("curlimages/curl unknown")
	}
	for args, want := range map[string]string{
		"-fsS http://x/":   "curl -fsS http://x/",
		"http://x/healthz": "curl http://x/healthz",
		"sh -c true":       "sh -c true",
		"":                 "curl",
	} {
		var a []string
		if args != "" {
			a = strings.Fields(args)
		}
		if got := strings.Join(curl.argvFor(nil, a), " "); got != want {
			t.Errorf("curl args %q: argv %q, want %q", args, got, want)
		}
	}
	if got := strings.Join(curl.argvFor([]string{"/bin/sh", "-c"}, []string{"x"}), " "); got != "/bin/sh -c x" {
		t.Errorf("curl command: %q", got)
	}
	for _, ref := range []string{"quay.io/prometheus/prometheus:v3.1.0", "prom/prometheus"} {
		p := imageFor(ref)
		if p == nil || p.argvFor(nil, nil)[0] != "/bin/prometheus" || p.argvFor(nil, nil)[1] != "--config.file=/etc/prometheus/prometheus.yml" {
			t.Errorf("%s: %+v", ref, p)
		}
	}
	if imageFor("quay.io/prometheus-operator/prometheus-config-reloader:v0.79.0") != nil {
		t.Error("the config reloader is not the prometheus image")
	}
}
