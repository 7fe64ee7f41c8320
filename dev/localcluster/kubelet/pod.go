package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// podWorker owns one pod: admission, volumes, container processes, probes and status. Only
// its run loop starts and stops containers; exit watchers and probers record results under
// mu and poke the loop.
type podWorker struct {
	n             *nodeAgent
	uid           types.UID
	ns, name, dir string
	notify        chan struct{}

	mu         sync.Mutex
	pod        *v1.Pod
	gone       bool
	containers []*container

	admitted     bool
	rejected     string // why the pod cannot run here ("" when admitted)
	rejectReason string
	sandboxReady bool
	volumes      map[string]*volumeState
	lastVolSync  time.Time
	volErr       string
	startTime    *metav1.Time
	condTimes    map[v1.PodConditionType]condState
	lastPosted   string
	net          *podNet // non-hostNetwork pods, once their network is set up
	netErr       string
}

type condState struct {
	status v1.ConditionStatus
	at     metav1.Time
}

func newPodWorker(n *nodeAgent, p *v1.Pod) *podWorker {
	w := &podWorker{
		n: n, uid: p.UID, ns: p.Namespace, name: p.Name, pod: p,
		dir:       filepath.Join(n.k.cfg.stateDir, "pods", p.Namespace+"_"+p.Name),
		notify:    make(chan struct{}, 1),
		volumes:   map[string]*volumeState{},
		condTimes: map[v1.PodConditionType]condState{},
	}
	for _, c := range p.Spec.Containers {
		ctr := &container{w: w, spec: c}
		// A pod that already ran (e.g. before this kubelet restarted): its containers are
		// started again, which counts as a restart, as after a node reboot.
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == c.Name && cs.ContainerID != "" {
				ctr.restartCount, ctr.everStarted = cs.RestartCount, true
				ctr.lastTerm = cs.LastTerminationState.Terminated
			}
		}
		w.containers = append(w.containers, ctr)
	}
	return w
}

func (w *podWorker) logf(format string, args ...any) {
	log.Printf("node/%s pod/%s/%s: %s", w.n.name, w.ns, w.name, fmt.Sprintf(format, args...))
}

func (w *podWorker) notifyUpdate() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *podWorker) setPod(p *v1.Pod) {
	w.mu.Lock()
	w.pod = p
	w.mu.Unlock()
	w.notifyUpdate()
}

func (w *podWorker) setGone(last *v1.Pod) {
	w.mu.Lock()
	w.gone = true
	if last != nil {
		w.pod = last
	}
	w.mu.Unlock()
	w.notifyUpdate()
}

func (w *podWorker) currentPod() *v1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) podRef() *v1.Pod { return w.currentPod() }

// restartPolicy: caller holds mu.
func (w *podWorker) restartPolicy() v1.RestartPolicy {
	if w.pod.Spec.RestartPolicy == "" {
		return v1.RestartPolicyAlways
	}
	return w.pod.Spec.RestartPolicy
}

func (w *podWorker) getConfigMap(ctx context.Context, ns, name string) (*v1.ConfigMap, error) {
	return w.n.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func (w *podWorker) getSecret(ctx context.Context, ns, name string) (*v1.Secret, error) {
	return w.n.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (w *podWorker) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if w.sync(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			// The kubelet is stopping: stop the containers, post nothing.
			w.stopAll(w.n.k.cfg.shutdownGrace, "kubelet stopping")
			if w.net != nil {
				w.n.k.podnet.teardown(w.net) // the reservation stays for the next kubelet
			}
			return
		case <-w.notify:
		case <-tick.C:
		}
	}
}

// admit decides whether this kubelet can run the pod at all; returns "" or why not.
func (w *podWorker) admit(pod *v1.Pod) (reason, msg string) {
	if !pod.Spec.HostNetwork && w.n.k.podnet == nil {
		return "CreateContainerConfigError", "this localcluster kubelet has no pod network (--pod-network-netns): hostNetwork pods only"
	}
	if len(pod.Spec.InitContainers) > 0 {
		return "CreateContainerConfigError", "init containers are not supported by the localcluster kubelet"
	}
	for i := range pod.Spec.Volumes {
		if why := supportedVolume(&pod.Spec.Volumes[i]); why != "" {
			return "CreateContainerConfigError", why
		}
	}
	for _, c := range pod.Spec.Containers {
		if imageFor(c.Image) == nil {
			return "ErrImageNeverPull", fmt.Sprintf("container %s: no host binary plays image %q (known: %s)", c.Name, c.Image, knownImageNames())
		}
		if why := supportedLifecycle(c.Lifecycle); why != "" {
			return "CreateContainerConfigError", "container " + c.Name + ": " + why
		}
		for _, p := range []*v1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
			if why := supportedProbe(p); why != "" {
				return "CreateContainerConfigError", "container " + c.Name + ": " + why
			}
		}
	}
	return "", ""
}

// sync runs one pass of the worker; it returns true when the worker is finished.
func (w *podWorker) sync(ctx context.Context) bool {
	w.mu.Lock()
	pod, gone := w.pod, w.gone
	w.mu.Unlock()

	if gone {
		// Deleted without our confirmation (e.g. force-deleted): stop everything with the
		// grace the deletion asked for (at least 1s), nothing left to confirm. The containers'
		// mounts go away with their mount namespaces.
		w.stopAll(w.graceFor(pod, pod.DeletionGracePeriodSeconds), "pod object deleted")
		w.cleanup()
		return true
	}
	if pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod)
	}
	if !w.admitted {
		reason, msg := w.admit(pod)
		if reason != "" {
			if w.rejected != msg {
				w.rejected, w.rejectReason = msg, reason
				w.logf("left Pending: %s", msg)
				w.n.recorder.Eventf(pod, v1.EventTypeWarning, "Failed", "localcluster kubelet cannot run this pod: %s", msg)
			}
			w.postStatus(ctx, pod, false)
			return false
		}
		w.rejected, w.rejectReason = "", ""
		w.admitted = true
		if err := w.prepareDir(); err != nil {
			w.logf("pod dir: %v", err)
		}
		if pod.Status.StartTime != nil {
			w.startTime = pod.Status.StartTime
		} else {
			w.startTime = ptr.To(metav1.Now())
		}
		w.logf("admitted (hostIP %s)", w.n.ip)
	}
	if !pod.Spec.HostNetwork && !w.allDone() && (w.net == nil || !w.net.live()) {
		if err := w.setupNetwork(ctx); err != nil {
			if w.netErr != err.Error() {
				w.netErr = err.Error()
				w.logf("pod network: %v", err)
				w.n.recorder.Eventf(pod, v1.EventTypeWarning, "FailedCreatePodSandBox", "setting up the pod network: %v", err)
			}
			w.postStatus(ctx, pod, false)
			return false
		}
		w.netErr = ""
	}
	if !w.sandboxReady || time.Since(w.lastVolSync) >= w.n.k.cfg.volumeResync || w.volumesExpiring() {
		err := w.syncVolumes(ctx, pod, !w.sandboxReady)
		w.lastVolSync = time.Now()
		if err != nil {
			if w.volErr != err.Error() {
				w.volErr = err.Error()
				w.logf("volumes: %v", err)
				w.n.recorder.Eventf(pod, v1.EventTypeWarning, "FailedMount", "MountVolume.SetUp failed: %v", err)
			}
			if !w.sandboxReady {
				w.postStatus(ctx, pod, false)
				return false
			}
		} else {
			w.volErr = ""
			w.sandboxReady = true
		}
	}
	for _, c := range w.containers {
		w.mu.Lock()
		kill, running, done, next := c.killRequested, c.running, c.done, c.nextStart
		w.mu.Unlock()
		if kill != "" && running {
			w.stopContainer(c, w.graceFor(pod, nil), kill)
			continue
		}
		if !running && !done && !time.Now().Before(next) {
			w.startContainer(ctx, pod, c)
		} else if !running && !done {
			w.imagePullBackOff(pod, c)
		}
	}
	if w.net != nil && w.net.live() && w.allDone() {
		// Run to completion: the sandbox goes, the pod keeps its IP in status until deleted.
		w.n.k.podnet.teardown(w.net)
		w.logf("pod network: namespace %s removed (all containers exited)", w.net.netns)
	}
	w.postStatus(ctx, pod, false)
	return false
}

// imagePullBackOff: after a failed pull, until the next attempt the container waits in
// ImagePullBackOff, as on a real kubelet (ErrImagePull is what the attempt itself reports).
func (w *podWorker) imagePullBackOff(pod *v1.Pod, c *container) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.waiting == nil || c.waiting.Reason != "ErrImagePull" || c.pullError == "" {
		return
	}
	c.waiting = &v1.ContainerStateWaiting{
		Reason:  "ImagePullBackOff",
		Message: fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", c.spec.Image, c.pullError),
	}
	w.n.recorder.Eventf(pod, v1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.spec.Image)
}

func (w *podWorker) allDone() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.containers {
		if !c.done {
			return false
		}
	}
	return true
}

func (w *podWorker) setupNetwork(ctx context.Context) error {
	cidr, err := w.n.nodePodCIDR(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := w.n.k.podnet.setup(w.uid, w.n.name, w.dir, cidr)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.net = r
	w.mu.Unlock()
	w.logf("pod network: %s in netns %s, veth %s (%s)", r.ip, r.netns, r.veth, time.Since(start).Round(time.Millisecond))
	return nil
}

// podIP is the node IP for hostNetwork pods, else the pod's own address ("" until it has one).
// Caller holds mu.
func (w *podWorker) podIP() string {
	if w.pod.Spec.HostNetwork {
		return w.n.ip
	}
	if w.net == nil {
		return ""
	}
	return w.net.ip
}

func (w *podWorker) volumesExpiring() bool {
	for _, st := range w.volumes {
		if !st.tokenExpiry.IsZero() && time.Now().After(st.tokenExpiry) {
			return true
		}
	}
	return false
}

func (w *podWorker) graceFor(pod *v1.Pod, override *int64) time.Duration {
	g := int64(30)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		g = *pod.Spec.TerminationGracePeriodSeconds
	}
	if override != nil {
		g = *override
	}
	if g < 1 {
		g = 1 // like the kubelet: a minimum grace of 1s (grace 0 means "force" only to the API)
	}
	return time.Duration(g) * time.Second
}

func (w *podWorker) stopAll(grace time.Duration, why string) {
	var wg sync.WaitGroup
	for _, c := range w.containers {
		wg.Add(1)
		go func() { defer wg.Done(); w.stopContainer(c, grace, why) }()
	}
	wg.Wait()
}

// terminate handles a pod with deletionTimestamp: stop the containers within the grace
// period, post the final status, then confirm the deletion with grace 0 as the kubelet does.
func (w *podWorker) terminate(ctx context.Context, pod *v1.Pod) bool {
	grace := w.graceFor(pod, pod.DeletionGracePeriodSeconds)
	if ctx.Err() != nil { // the kubelet is stopping
		w.stopAll(min(grace, w.n.k.cfg.shutdownGrace), "kubelet stopping")
		return true
	}
	w.stopAll(grace, "pod deleted")
	w.mu.Lock()
	for _, c := range w.containers {
		c.done = true
		c.waiting = nil
	}
	w.mu.Unlock()
	if w.admitted {
		w.postStatus(ctx, pod, true)
	}
	// Clean up before confirming: once the pod object is gone a new pod with the same name
	// (and so the same directory) may arrive at once.
	w.cleanup()
	err := w.n.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.logf("confirming deletion: %v (will retry)", err)
		return false
	}
	w.logf("terminated and deleted")
	return true
}

func (w *podWorker) prepareDir() error {
	uidFile := filepath.Join(w.dir, "uid")
	if b, err := os.ReadFile(uidFile); err == nil && strings.TrimSpace(string(b)) != string(w.uid) {
		_ = os.RemoveAll(w.dir) // an older pod with the same name
	}
	if err := os.MkdirAll(filepath.Join(w.dir, "volumes"), 0o700); err != nil {
		return err
	}
	_ = os.Chmod(w.dir, 0o700)
	return os.WriteFile(uidFile, []byte(string(w.uid)+"\n"), 0o600)
}

// cleanup removes what the pod had on the host except its logs (kept for debugging), unless
// the directory already belongs to a newer pod of the same name.
func (w *podWorker) cleanup() {
	if pn := w.n.k.podnet; pn != nil {
		r := w.net
		if r == nil { // set up by an earlier kubelet, or never
			r, _ = readReservation(filepath.Join(w.dir, "network"))
		}
		if r != nil && r.uid == w.uid {
			pn.teardown(r)
			pn.release(r, w.dir)
		}
	}
	if b, err := os.ReadFile(filepath.Join(w.dir, "uid")); err == nil && strings.TrimSpace(string(b)) != string(w.uid) {
		return
	}
	_ = os.RemoveAll(filepath.Join(w.dir, "volumes"))
	_ = os.RemoveAll(filepath.Join(w.dir, "containers"))
	if _, err := os.Stat(w.dir); err == nil {
		_ = os.WriteFile(filepath.Join(w.dir, "deleted"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
	}
}

// ---- status ----

func (w *podWorker) cond(t v1.PodConditionType, ok bool, reason, msg string) v1.PodCondition {
	s := v1.ConditionFalse
	if ok {
		s = v1.ConditionTrue
	}
	prev, seen := w.condTimes[t]
	if !seen || prev.status != s {
		prev = condState{status: s, at: metav1.Now()}
		w.condTimes[t] = prev
	}
	c := v1.PodCondition{Type: t, Status: s, LastTransitionTime: prev.at}
	if !ok {
		c.Reason, c.Message = reason, msg
	}
	return c
}

func (w *podWorker) buildStatus(pod *v1.Pod, final bool) v1.PodStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	ip := w.n.ip
	st := v1.PodStatus{
		HostIP:             ip,
		HostIPs:            []v1.HostIP{{IP: ip}},
		StartTime:          w.startTime,
		QOSClass:           pod.Status.QOSClass,
		ObservedGeneration: pod.Generation,
	}
	if podIP := w.podIP(); podIP != "" {
		st.PodIP, st.PodIPs = podIP, []v1.PodIP{{IP: podIP}}
	}
	var unready []string
	anyRunning, anyStarted, allDone, allOK := false, false, true, true
	for _, c := range w.containers {
		cs := v1.ContainerStatus{
			Name: c.spec.Name, Image: c.spec.Image, ImageID: c.imageID, ContainerID: c.containerID,
			RestartCount: c.restartCount, Ready: c.running && c.ready, Started: ptr.To(c.running && c.started),
		}
		switch {
		case c.running:
			cs.State.Running = &v1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
			cs.LastTerminationState.Terminated = c.lastTerm
		case !w.admitted:
			cs.State.Waiting = &v1.ContainerStateWaiting{Reason: w.rejectReason, Message: w.rejected}
			cs.Started = ptr.To(false)
		case c.waiting != nil:
			cs.State.Waiting = c.waiting
			cs.LastTerminationState.Terminated = c.lastTerm
		case c.lastTerm != nil:
			cs.State.Terminated = c.lastTerm
			cs.LastTerminationState.Terminated = c.prevTerm
		default:
			cs.State.Waiting = &v1.ContainerStateWaiting{Reason: "ContainerCreating"}
			if w.volErr != "" {
				cs.State.Waiting.Message = w.volErr
			}
		}
		if c.running {
			anyRunning = true
		}
		if c.everStarted {
			anyStarted = true
		}
		if !c.done {
			allDone = false
		}
		if c.lastTerm == nil || c.lastTerm.ExitCode != 0 {
			allOK = false
		}
		if !cs.Ready {
			unready = append(unready, c.spec.Name)
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	switch {
	case final || (w.admitted && allDone && anyStarted):
		if allOK {
			st.Phase = v1.PodSucceeded
		} else {
			st.Phase = v1.PodFailed
		}
	case anyRunning || anyStarted:
		st.Phase = v1.PodRunning
	default:
		st.Phase = v1.PodPending
	}
	containersReady := len(unready) == 0 && !final
	msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	ready := containersReady
	for _, g := range pod.Spec.ReadinessGates {
		found := false
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == v1.ConditionTrue {
				found = true
			}
		}
		if !found {
			ready = false
		}
	}
	scheduled := v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			scheduled = c
		}
	}
	st.Conditions = []v1.PodCondition{
		w.cond(v1.PodReadyToStartContainers, w.sandboxReady && !final, "", ""),
		w.cond(v1.PodInitialized, w.admitted, "", ""),
		w.cond(v1.PodReady, ready, "ContainersNotReady", msg),
		w.cond(v1.ContainersReady, containersReady, "ContainersNotReady", msg),
		scheduled,
	}
	if final {
		st.Conditions[2].Reason, st.Conditions[3].Reason = "PodCompleted", "PodCompleted"
		st.Conditions[2].Message, st.Conditions[3].Message = "", ""
	}
	return st
}

// postStatus patches the pod's status subresource when it changed since the last post.
func (w *podWorker) postStatus(ctx context.Context, pod *v1.Pod, final bool) {
	st := w.buildStatus(pod, final)
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   st,
	})
	if err != nil {
		return
	}
	if string(body) == w.lastPosted {
		return
	}
	_, err = w.n.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	if err != nil {
		if ctx.Err() == nil && !apierrors.IsNotFound(err) {
			w.logf("status: %v", err)
		}
		return
	}
	w.lastPosted = string(body)
	w.logf("status: phase=%s ready=%v %s", st.Phase, isReady(st), containerSummary(st))
}

func isReady(st v1.PodStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func containerSummary(st v1.PodStatus) string {
	var parts []string
	for _, c := range st.ContainerStatuses {
		state := "?"
		switch {
		case c.State.Running != nil:
			state = "running"
		case c.State.Waiting != nil:
			state = "waiting:" + c.State.Waiting.Reason
		case c.State.Terminated != nil:
			state = fmt.Sprintf("terminated:%d", c.State.Terminated.ExitCode)
		}
		parts = append(parts, fmt.Sprintf("%s=%s/ready=%v/restarts=%d", c.Name, state, c.Ready, c.RestartCount))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
