package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

// nodeAgent plays the kubelet of one Node, with that node's own credentials
// (system:node:NAME in group system:nodes), so the Node authorizer and the NodeRestriction
// admission plugin constrain it exactly as they constrain a real kubelet.
type nodeAgent struct {
	k            *kubelet
	name, ip     string
	controlPlane bool
	client       kubernetes.Interface
	recorder     record.EventRecorder

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	wg      sync.WaitGroup

	readySince metav1.Time
	podCIDR    string          // spec.podCIDR, once kube-controller-manager allocated it
	images     map[string]bool // pulled from an emulated registry (registry.go), by reference
}

func newNodeAgent(k *kubelet, nf nodeFlag, cs kubernetes.Interface) *nodeAgent {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	rec := b.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: nf.name})
	return &nodeAgent{
		k: k, name: nf.name, ip: nf.ip, controlPlane: nf.controlPlane, client: cs,
		recorder: rec, workers: map[types.UID]*podWorker{}, images: map[string]bool{},
	}
}

func (n *nodeAgent) imagePresent(ref string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.images[ref]
}

func (n *nodeAgent) setImagePresent(ref string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.images[ref] = true
}

func (n *nodeAgent) logf(format string, args ...any) {
	log.Printf("node/%s: %s", n.name, fmt.Sprintf(format, args...))
}

func (n *nodeAgent) run(ctx context.Context) {
	// Register (retry until the apiserver answers).
	_ = wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := n.register(ctx); err != nil {
			n.logf("register: %v", err)
			return false, nil
		}
		return true, nil
	})
	if ctx.Err() != nil {
		return
	}
	go n.heartbeat(ctx)
	go n.serveAPI(ctx)

	factory := informers.NewSharedInformerFactoryWithOptions(n.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.name).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.podChanged(ctx, obj.(*v1.Pod)) },
		UpdateFunc: func(_, obj any) { n.podChanged(ctx, obj.(*v1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				n.podGone(p)
			}
		},
	})
	factory.Start(ctx.Done())
	if pn := n.k.podnet; pn != nil && cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		// Only the reservations of this node's pods can be judged from its informer.
		pn.retain(n.name, func(uid types.UID) bool {
			for _, obj := range inf.GetStore().List() {
				if obj.(*v1.Pod).UID == uid {
					return true
				}
			}
			return false
		})
	}
	<-ctx.Done()
	factory.Shutdown()
	// Stop every pod worker: they stop their containers (the kubelet going away must leave
	// no process behind in localcluster; a real kubelet would leave its containers running).
	n.mu.Lock()
	for _, w := range n.workers {
		w.notifyUpdate()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

func (n *nodeAgent) podChanged(ctx context.Context, p *v1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	w, ok := n.workers[p.UID]
	if !ok {
		if p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			if p.DeletionTimestamp == nil {
				return // terminal and not being deleted: nothing to run
			}
		}
		w = newPodWorker(n, p)
		n.workers[p.UID] = w
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			w.run(ctx)
			n.mu.Lock()
			delete(n.workers, p.UID)
			n.mu.Unlock()
		}()
		return
	}
	w.setPod(p)
}

// nodePodCIDR is the node's spec.podCIDR (fetched until kube-controller-manager has set it).
func (n *nodeAgent) nodePodCIDR(ctx context.Context) (string, error) {
	n.mu.Lock()
	cidr := n.podCIDR
	n.mu.Unlock()
	if cidr != "" {
		return cidr, nil
	}
	node, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if node.Spec.PodCIDR == "" {
		return "", fmt.Errorf("node %s has no podCIDR yet", n.name)
	}
	n.mu.Lock()
	n.podCIDR = node.Spec.PodCIDR
	n.mu.Unlock()
	return node.Spec.PodCIDR, nil
}

func (n *nodeAgent) podGone(p *v1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w, ok := n.workers[p.UID]; ok {
		w.setGone(p)
	}
}

// ---- Node object, status and lease ----

func (n *nodeAgent) labels() map[string]string {
	// Only labels a kubelet may set on itself (NodeRestriction); the control-plane role
	// label is applied by up.sh with admin credentials, as kubeadm's mark-control-plane does.
	return map[string]string{
		"kubernetes.io/hostname":           n.name,
		"kubernetes.io/os":                 runtime.GOOS,
		"kubernetes.io/arch":               runtime.GOARCH,
		"beta.kubernetes.io/os":            runtime.GOOS,
		"beta.kubernetes.io/arch":          runtime.GOARCH,
		"node.kubernetes.io/instance-type": "localcluster",
	}
}

func (n *nodeAgent) register(ctx context.Context) error {
	nodes := n.client.CoreV1().Nodes()
	existing, err := nodes.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: n.labels()}}
		if n.controlPlane {
			// --register-with-taints, as kubeadm configures it for control-plane nodes.
			node.Spec.Taints = []v1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: v1.TaintEffectNoSchedule}}
		}
		existing, err = nodes.Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create node: %w", err)
		}
		n.logf("registered node (InternalIP %s)", n.ip)
	} else if err != nil {
		return err
	}
	for _, c := range existing.Status.Conditions {
		if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
			n.readySince = c.LastTransitionTime
		}
	}
	if n.readySince.IsZero() {
		n.readySince = metav1.Now()
	}
	return n.postStatus(ctx)
}

func (n *nodeAgent) nodeStatus() v1.NodeStatus {
	now := metav1.Now()
	res := v1.ResourceList{
		v1.ResourceCPU:              n.k.cfg.cpu,
		v1.ResourceMemory:           n.k.cfg.memory,
		v1.ResourcePods:             n.k.cfg.pods,
		v1.ResourceEphemeralStorage: n.k.cfg.storage,
	}
	cond := func(t v1.NodeConditionType, s v1.ConditionStatus, reason, msg string) v1.NodeCondition {
		return v1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg,
			LastHeartbeatTime: now, LastTransitionTime: n.readySince}
	}
	kernel, osImage := kernelAndOS()
	return v1.NodeStatus{
		Capacity:    res,
		Allocatable: res,
		Phase:       "",
		Conditions: []v1.NodeCondition{
			cond(v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(v1.NodeReady, v1.ConditionTrue, "KubeletReady", "kubelet is posting ready status (eksa-metrics localcluster process kubelet)"),
		},
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: n.ip},
			{Type: v1.NodeHostName, Address: n.name},
		},
		DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: 10250}},
		NodeInfo: v1.NodeSystemInfo{
			MachineID:               n.name,
			SystemUUID:              n.name,
			BootID:                  bootID(),
			KernelVersion:           kernel,
			OSImage:                 osImage,
			ContainerRuntimeVersion: "localcluster-hostprocess://0.1.0",
			KubeletVersion:          n.k.cfg.version,
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
		},
	}
}

func (n *nodeAgent) postStatus(ctx context.Context) error {
	body, err := json.Marshal(map[string]any{"status": n.nodeStatus()})
	if err != nil {
		return err
	}
	_, err = n.client.CoreV1().Nodes().Patch(ctx, n.name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	return err
}

func (n *nodeAgent) heartbeat(ctx context.Context) {
	leaseEvery := time.Duration(n.k.cfg.leaseSeconds) * time.Second / 4
	leaseT := time.NewTicker(leaseEvery)
	statusT := time.NewTicker(n.k.cfg.statusEvery)
	defer leaseT.Stop()
	defer statusT.Stop()
	n.renewLease(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-leaseT.C:
			n.renewLease(ctx)
		case <-statusT.C:
			if err := n.postStatus(ctx); err != nil {
				n.logf("node status: %v", err)
				if apierrors.IsNotFound(err) {
					if err := n.register(ctx); err != nil {
						n.logf("re-register: %v", err)
					}
				}
			}
		}
	}
}

func (n *nodeAgent) renewLease(ctx context.Context) {
	leases := n.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, nerr := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if nerr != nil {
			n.logf("lease: %v", nerr)
			return
		}
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: v1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.name, UID: node.UID}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(n.name),
				LeaseDurationSeconds: ptr.To(n.k.cfg.leaseSeconds), RenewTime: &now},
		}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			n.logf("lease create: %v", err)
		}
		return
	} else if err != nil {
		n.logf("lease: %v", err)
		return
	}
	l.Spec.RenewTime = &now
	l.Spec.HolderIdentity = ptr.To(n.name)
	l.Spec.LeaseDurationSeconds = ptr.To(n.k.cfg.leaseSeconds)
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		n.logf("lease renew: %v", err)
	}
}

func kernelAndOS() (string, string) {
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	osImage := "Linux"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				osImage = strings.Trim(v, `"`)
			}
		}
	}
	return kernel, osImage
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
