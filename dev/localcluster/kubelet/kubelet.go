package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// config is the kubelet's configuration (flags).
type config struct {
	stateDir      string
	apiHost       string
	apiPort       int
	version       string
	cpu, memory   resource.Quantity
	pods          resource.Quantity
	storage       resource.Quantity
	backoffBase   time.Duration
	backoffMax    time.Duration
	leaseSeconds  int32
	statusEvery   time.Duration
	volumeResync  time.Duration
	shutdownGrace time.Duration
	kubeletPort   int
	clientCAFile  string
	podNetns      string
	podBridge     string
	// registriesFile declares the emulated registries (registry.go); absent: an open network.
	registriesFile string
}

type nodeFlag struct {
	name, ip, kubeconfig string
	controlPlane         bool
}

type nodeFlags []nodeFlag

func (n *nodeFlags) String() string { return fmt.Sprint(*n) }
func (n *nodeFlags) Set(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) < 3 || len(parts) > 4 {
		return fmt.Errorf("want NAME,IP,KUBECONFIG[,control-plane], got %q", v)
	}
	f := nodeFlag{name: parts[0], ip: parts[1], kubeconfig: parts[2]}
	if len(parts) == 4 {
		if parts[3] != "control-plane" {
			return fmt.Errorf("unknown node role %q", parts[3])
		}
		f.controlPlane = true
	}
	*n = append(*n, f)
	return nil
}

type kubelet struct {
	cfg    config
	nodes  []*nodeAgent
	podnet *podNetwork // nil without --pod-network-netns: hostNetwork pods only
}

func runKubelet(args []string) error {
	fs := flag.NewFlagSet("kubelet", flag.ExitOnError)
	var nodes nodeFlags
	fs.Var(&nodes, "node", "NAME,IP,KUBECONFIG[,control-plane]: a node to play (repeatable); KUBECONFIG holds that node's system:node:NAME credentials")
	var cfg config
	fs.StringVar(&cfg.stateDir, "state-dir", "/tmp/eksa-metrics-localcluster", "state directory (pods/ is created in it)")
	fs.StringVar(&cfg.apiHost, "apiserver-host", "127.0.0.1", "KUBERNETES_SERVICE_HOST given to containers")
	fs.IntVar(&cfg.apiPort, "apiserver-port", 6443, "KUBERNETES_SERVICE_PORT given to containers")
	fs.StringVar(&cfg.version, "kubelet-version", "v0.0.0-localcluster", "version reported in node.status.nodeInfo.kubeletVersion")
	cpu := fs.String("cpu", "4", "cpu capacity advertised per node (not enforced)")
	mem := fs.String("memory", "8Gi", "memory capacity advertised per node (not enforced)")
	pods := fs.String("max-pods", "110", "pods capacity advertised per node")
	fs.DurationVar(&cfg.backoffBase, "backoff-base", 10*time.Second, "first crash-loop back-off (doubles up to --backoff-max)")
	fs.DurationVar(&cfg.backoffMax, "backoff-max", 300*time.Second, "maximum crash-loop back-off")
	lease := fs.Int("lease-seconds", 40, "node lease duration")
	fs.DurationVar(&cfg.statusEvery, "node-status-every", time.Minute, "node status heartbeat period (the lease is renewed every lease-seconds/4)")
	fs.DurationVar(&cfg.volumeResync, "volume-resync", 30*time.Second, "how often configMap/secret/projected volumes are refreshed")
	fs.DurationVar(&cfg.shutdownGrace, "shutdown-grace", 10*time.Second, "max grace for containers when the kubelet itself stops")
	fs.IntVar(&cfg.kubeletPort, "kubelet-port", 10250, "port of the (containerLogs-only) kubelet API on each node IP; 0 disables it")
	fs.StringVar(&cfg.clientCAFile, "client-ca-file", "", "CA that signs the apiserver's kubelet client certificate (required for the kubelet API)")
	fs.StringVar(&cfg.podNetns, "pod-network-netns", "", "name of the pod-network namespace (in /run/netns) holding the bridge; empty: hostNetwork pods only")
	fs.StringVar(&cfg.podBridge, "pod-bridge", "eksa-br0", "the bridge in the pod-network namespace")
	fs.StringVar(&cfg.registriesFile, "emulated-registries", "", "JSON file of the emulated registries, re-read at every pull; while it exists the nodes are on a closed network and pull only from them (README \"Emulated registries\")")
	_ = fs.Parse(args)
	if cfg.clientCAFile == "" {
		cfg.kubeletPort = 0
	}
	if len(nodes) == 0 {
		return fmt.Errorf("at least one --node is required")
	}
	cfg.leaseSeconds = int32(*lease)
	var err error
	if cfg.cpu, err = resource.ParseQuantity(*cpu); err != nil {
		return err
	}
	if cfg.memory, err = resource.ParseQuantity(*mem); err != nil {
		return err
	}
	if cfg.pods, err = resource.ParseQuantity(*pods); err != nil {
		return err
	}
	cfg.storage = resource.MustParse("50Gi")
	if err := os.MkdirAll(filepath.Join(cfg.stateDir, "pods"), 0o755); err != nil {
		return err
	}
	log.SetFlags(log.Ldate | log.Ltime | log.Lmicroseconds)

	// A previous kubelet that died hard may have left container processes behind.
	reapStaleContainers(cfg.stateDir)
	pruneDeletedPods(cfg.stateDir, 24*time.Hour)

	k := &kubelet{cfg: cfg}
	if cfg.podNetns != "" {
		var ips []string
		for _, nf := range nodes {
			ips = append(ips, nf.ip)
		}
		api := net.JoinHostPort(cfg.apiHost, strconv.Itoa(cfg.apiPort))
		if k.podnet, err = newPodNetwork(cfg.podNetns, cfg.podBridge, cfg.stateDir, ips, api); err != nil {
			return err
		}
	}
	for _, nf := range nodes {
		rc, err := clientcmd.BuildConfigFromFlags("", nf.kubeconfig)
		if err != nil {
			return fmt.Errorf("node %s: %w", nf.name, err)
		}
		rc.UserAgent = "eksa-localkubelet/" + nf.name
		rc.QPS, rc.Burst = 20, 40
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		k.nodes = append(k.nodes, newNodeAgent(k, nf, cs))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var wg sync.WaitGroup
	for _, n := range k.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.run(ctx) }()
	}
	<-ctx.Done()
	log.Printf("kubelet: stopping; containers get at most %s to exit", cfg.shutdownGrace)
	wg.Wait()
	log.Printf("kubelet: stopped")
	return nil
}
