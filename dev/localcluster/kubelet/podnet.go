package main

// The pod network of non-hostNetwork pods. up.sh creates one pod-network namespace per cluster
// holding the bridge, with every node's podCIDR gateway (its first address) on it and
// ip_forward on. Each pod gets a network namespace of its own, created here: a veth pair whose
// pod end is eth0 (an address of its node's podCIDR, default route via the gateway) and whose
// other end is on the bridge. Pod-to-pod traffic is real routing over that bridge; no
// interface, address or route is ever added to the kubelet's own namespace.
//
// Emulated: on a real cluster the CNI routes pods to the node IPs and the apiserver. Here those
// are loopback addresses of the kubelet's namespace, which no route reaches. So in each pod
// namespace (and in the pod-network namespace) an iptables nat OUTPUT rule REDIRECTs TCP to
// the node IPs (all ports) and to the apiserver onto podFwdPort there, where the kubelet
// listens; it reads the original destination (SO_ORIGINAL_DST) and dials the same address and
// port in its own namespace.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
)

// podFwdPort is where the forwarder listens (127.0.0.1) in each namespace of the pod network:
// above the default ephemeral range (32768-60999), so no client socket of a pod takes it.
const podFwdPort = 65001

// podNetwork is the kubelet's side of the pod network: the address reservations of every node
// and the forwarder.
type podNetwork struct {
	netns    string // name of the pod-network namespace (/run/netns/NAME)
	bridge   string
	stateDir string
	nodeIPs  []string
	api      string // HOST:PORT of the apiserver as pods are told (KUBERNETES_SERVICE_*)
	own      *os.File

	mu   sync.Mutex
	used map[string]types.UID // pod IP -> owner
	ln   net.Listener         // the forwarder in the pod-network namespace
}

// podNet is one pod's network; its reservation is persisted in the pod dir (file "network":
// "UID IP NETNS VETH NODE"), so a pod keeps its IP across kubelet restarts.
type podNet struct {
	uid                   types.UID
	ip, netns, veth, node string

	mu sync.Mutex // guards the namespace handles against probes racing a teardown
	ns *os.File   // open while the namespace exists
	sw *netnsSwitch
	ln net.Listener
}

func podNetnsName(uid types.UID) string { return "eksa-lc-pod-" + uidHash(uid)[:12] }

// podVethName is the bridge end of the pod's veth pair (15 characters, the kernel's limit).
func podVethName(uid types.UID) string { return "veth" + uidHash(uid)[:11] }

func uidHash(uid types.UID) string {
	h := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(h[:])
}

// podSubnet returns a node's podCIDR and its gateway, the first address (on the bridge).
func podSubnet(cidr string) (netip.Prefix, netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("podCIDR %q: want an IPv4 prefix of /30 or wider", cidr)
	}
	p = p.Masked()
	return p, p.Addr().Next(), nil
}

// pickPodIP returns the lowest address of p after the gateway that is not taken, excluding the
// broadcast address.
func pickPodIP(p netip.Prefix, taken func(netip.Addr) bool) (netip.Addr, error) {
	for a := p.Addr().Next().Next(); p.Contains(a); a = a.Next() {
		if !p.Contains(a.Next()) {
			break // broadcast
		}
		if !taken(a) {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("podCIDR %s has no free address", p)
}

// redirectRules is the iptables-restore input of a pod-network namespace's nat table: TCP to
// the apiserver and to every port of the node IPs goes to the forwarder.
func redirectRules(nodeIPs []string, api string, port int) (string, error) {
	host, apiPort, err := net.SplitHostPort(api)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	fmt.Fprintf(&b, "-A OUTPUT -d %s/32 -p tcp -m tcp --dport %s -j REDIRECT --to-ports %d\n", host, apiPort, port)
	for _, ip := range nodeIPs {
		fmt.Fprintf(&b, "-A OUTPUT -d %s/32 -p tcp -j REDIRECT --to-ports %d\n", ip, port)
	}
	b.WriteString("COMMIT\n")
	return b.String(), nil
}

// forwardAllowed: only what the REDIRECT rules send is forwarded (a pod dialing the forwarder
// port directly gets nothing else of the kubelet's namespace).
func forwardAllowed(dst netip.AddrPort, nodeIPs []string, api string) bool {
	if dst.String() == api {
		return true
	}
	for _, ip := range nodeIPs {
		if dst.Addr().String() == ip && dst.Port() != podFwdPort {
			return true
		}
	}
	return false
}

// parseOrigDst decodes the struct sockaddr_in that getsockopt(SO_ORIGINAL_DST) returns.
func parseOrigDst(b []byte) (netip.AddrPort, error) {
	if len(b) < 8 || binary.NativeEndian.Uint16(b[0:2]) != unix.AF_INET {
		return netip.AddrPort{}, fmt.Errorf("SO_ORIGINAL_DST: not an IPv4 sockaddr (%x)", b)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4])), nil
}

func originalDst(c net.Conn) (netip.AddrPort, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var dst netip.AddrPort
	var serr error
	if err := raw.Control(func(fd uintptr) {
		// sockaddr_in is 16 bytes, the size of an IPv6Mreq: the usual way to fetch it.
		var m *unix.IPv6Mreq
		if m, serr = unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST); serr == nil {
			dst, serr = parseOrigDst(m.Multiaddr[:])
		}
	}); err != nil {
		return netip.AddrPort{}, err
	}
	return dst, serr
}

func newPodNetwork(netns, bridge, stateDir string, nodeIPs []string, api string) (*podNetwork, error) {
	own, err := openOwnNetns()
	if err != nil {
		return nil, err
	}
	pn := &podNetwork{netns: netns, bridge: bridge, stateDir: stateDir, nodeIPs: nodeIPs, api: api,
		own: own, used: map[string]types.UID{}}
	// Pods of a previous kubelet: their containers are dead, their namespaces go; their
	// reservations stay until retain() finds the pod gone.
	files, _ := filepath.Glob(filepath.Join(stateDir, "pods", "*", "network"))
	for _, f := range files {
		r, err := readReservation(f)
		if err != nil {
			_ = os.Remove(f)
			continue
		}
		pn.removeNamespace(r)
		pn.used[r.ip] = r.uid
	}
	f, err := os.Open("/run/netns/" + netns)
	if err != nil {
		return nil, fmt.Errorf("pod-network namespace: %w (up.sh creates it)", err)
	}
	defer f.Close()
	if pn.ln, err = pn.installForwarder(f); err != nil {
		return nil, fmt.Errorf("pod-network namespace %s: %w", netns, err)
	}
	return pn, nil
}

func readReservation(path string) (*podNet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(b))
	if len(f) != 5 {
		return nil, fmt.Errorf("%s: malformed", path)
	}
	return &podNet{uid: types.UID(f[0]), ip: f[1], netns: f[2], veth: f[3], node: f[4]}, nil
}

// installForwarder sets the REDIRECT rules in the namespace ns and serves its forwarder port.
func (pn *podNetwork) installForwarder(ns *os.File) (net.Listener, error) {
	rules, err := redirectRules(pn.nodeIPs, pn.api, podFwdPort)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("nsenter", "--net=/proc/self/fd/3", "--", "iptables-restore", "-w", "5")
	cmd.ExtraFiles = []*os.File{ns}
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("iptables-restore: %v: %s", err, bytes.TrimSpace(out))
	}
	var ln net.Listener
	sw := &netnsSwitch{host: pn.own, target: ns}
	if err := sw.do(func() error {
		var err error
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", podFwdPort))
		return err
	}); err != nil {
		return nil, err
	}
	go serveFwd(ln, func(c net.Conn) (net.Conn, error) {
		dst, err := originalDst(c)
		if err != nil {
			return nil, err
		}
		if !forwardAllowed(dst, pn.nodeIPs, pn.api) {
			return nil, fmt.Errorf("%s is not forwarded to the node", dst)
		}
		return net.DialTimeout("tcp", dst.String(), 5*time.Second)
	})
	return ln, nil
}

// reserve returns the pod's persisted reservation, or a new address of cidr.
func (pn *podNetwork) reserve(uid types.UID, node, dir, cidr string) (*podNet, netip.Prefix, netip.Addr, error) {
	prefix, gw, err := podSubnet(cidr)
	if err != nil {
		return nil, prefix, gw, err
	}
	pn.mu.Lock()
	defer pn.mu.Unlock()
	file := filepath.Join(dir, "network")
	if r, err := readReservation(file); err == nil && r.uid == uid {
		if a, err := netip.ParseAddr(r.ip); err == nil && prefix.Contains(a) {
			pn.used[r.ip] = uid
			return r, prefix, gw, nil
		}
	}
	a, err := pickPodIP(prefix, func(a netip.Addr) bool { _, ok := pn.used[a.String()]; return ok })
	if err != nil {
		return nil, prefix, gw, err
	}
	r := &podNet{uid: uid, ip: a.String(), netns: podNetnsName(uid), veth: podVethName(uid), node: node}
	if err := os.WriteFile(file, []byte(fmt.Sprintf("%s %s %s %s %s\n", uid, r.ip, r.netns, r.veth, node)), 0o600); err != nil {
		return nil, prefix, gw, err
	}
	pn.used[r.ip] = uid
	return r, prefix, gw, nil
}

// release frees the pod's address and forgets its reservation.
func (pn *podNetwork) release(r *podNet, dir string) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if pn.used[r.ip] == r.uid {
		delete(pn.used, r.ip)
	}
	if cur, err := readReservation(filepath.Join(dir, "network")); err == nil && cur.uid == r.uid {
		_ = os.Remove(filepath.Join(dir, "network"))
	}
}

// retain drops the reservations of node's pods that no longer exist (deleted while no kubelet
// ran).
func (pn *podNetwork) retain(node string, exists func(types.UID) bool) {
	files, _ := filepath.Glob(filepath.Join(pn.stateDir, "pods", "*", "network"))
	for _, f := range files {
		if r, err := readReservation(f); err == nil && r.node == node && !exists(r.uid) {
			pn.release(r, filepath.Dir(f))
		}
	}
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// setup (re)creates the pod's namespace, veth pair, address, route and forwarder.
func (pn *podNetwork) setup(uid types.UID, node, dir, cidr string) (*podNet, error) {
	r, prefix, gw, err := pn.reserve(uid, node, dir, cidr)
	if err != nil {
		return nil, err
	}
	pn.removeNamespace(r) // whatever a failed attempt left
	steps := [][]string{
		{"netns", "add", r.netns},
		{"-n", pn.netns, "link", "add", r.veth, "type", "veth", "peer", "name", "eth0", "netns", r.netns},
		{"-n", pn.netns, "link", "set", r.veth, "master", pn.bridge, "up"},
		{"-n", r.netns, "link", "set", "lo", "up"},
		{"-n", r.netns, "addr", "add", fmt.Sprintf("%s/%d", r.ip, prefix.Bits()), "dev", "eth0"},
		{"-n", r.netns, "link", "set", "eth0", "up"},
		{"-n", r.netns, "route", "add", "default", "via", gw.String()},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			pn.removeNamespace(r)
			return nil, err
		}
	}
	if r.ns, err = os.Open("/run/netns/" + r.netns); err == nil {
		r.ln, err = pn.installForwarder(r.ns)
	}
	if err != nil {
		pn.teardown(r)
		return nil, err
	}
	r.sw = &netnsSwitch{host: pn.own, target: r.ns}
	return r, nil
}

// teardown removes the pod's namespace and veth pair; the reservation stays.
func (pn *podNetwork) teardown(r *podNet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	if r.ns != nil {
		r.ns.Close()
		r.ns, r.sw = nil, nil
	}
	pn.removeNamespace(r)
}

func (pn *podNetwork) removeNamespace(r *podNet) {
	// Deleting the bridge end removes the pair even while something still holds the namespace.
	if err := ipCmd("-n", pn.netns, "link", "del", r.veth); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
		log.Printf("pod network: %v", err)
	}
	if _, err := os.Stat("/run/netns/" + r.netns); err == nil {
		if err := ipCmd("netns", "delete", r.netns); err != nil {
			log.Printf("pod network: %v", err)
		}
	}
}

func (r *podNet) live() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sw != nil
}

// dial connects from inside the pod's network (probes).
func (r *podNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sw := r.sw
	if sw == nil {
		return nil, fmt.Errorf("the pod's network namespace is gone")
	}
	var c net.Conn
	err := sw.do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
