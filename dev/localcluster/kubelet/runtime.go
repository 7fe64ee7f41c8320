package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// container is the kubelet-side state of one container of a pod (guarded by podWorker.mu).
type container struct {
	w    *podWorker
	spec v1.Container

	// resolved for the current run
	uid, gid *int64
	env      []string

	cmd          *exec.Cmd
	pid          int
	running      bool
	everStarted  bool
	startedAt    time.Time
	exitCh       chan struct{}
	probeCancel  context.CancelFunc
	restartCount int32
	containerID  string
	imageID      string
	ready        bool
	started      bool

	lastTerm, prevTerm *v1.ContainerStateTerminated
	waiting            *v1.ContainerStateWaiting
	nextStart          time.Time
	backoff            time.Duration
	pullBackoff        time.Duration // the image pull's own back-off, as the kubelet keeps per image
	pullError          string        // the last failed pull's message, for ImagePullBackOff
	killRequested      string
	done               bool // exited and will not be restarted (restartPolicy)
}

func (c *container) isStarted() bool {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.running && c.started
}

func (c *container) pidNow() int {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if !c.running {
		return 0
	}
	return c.pid
}

type startError struct {
	reason, msg string
}

func (e *startError) Error() string { return e.reason + ": " + e.msg }

// prepare resolves everything a container start needs, without side effects on the host.
func (w *podWorker) prepare(ctx context.Context, pod *v1.Pod, c *container) (*initSpec, error) {
	spec := &c.spec
	img := imageFor(spec.Image)
	if img == nil {
		return nil, &startError{"ErrImageNeverPull", fmt.Sprintf("no host binary plays image %q (known: %s)", spec.Image, knownImageNames())}
	}
	env, lookup, err := envResolver{w}.resolve(ctx, pod, spec)
	if err != nil {
		return nil, &startError{"CreateContainerConfigError", err.Error()}
	}
	var command, args []string
	for _, s := range spec.Command {
		command = append(command, expandVars(s, lookup))
	}
	for _, s := range spec.Args {
		args = append(args, expandVars(s, lookup))
	}
	argv := img.argvFor(command, args)
	bin, err := img.resolve(argv[0])
	if err != nil {
		return nil, &startError{"RunContainerError", err.Error()}
	}
	uid, gid := effectiveUID(pod, spec), effectiveGID(pod, spec)
	if runAsNonRoot(pod, spec) && (uid == nil || *uid == 0) {
		return nil, &startError{"CreateContainerConfigError", "container has runAsNonRoot and image will run as root"}
	}
	if uid != nil && gid == nil {
		g := primaryGroup(*uid)
		gid = &g
	}
	var groups []int64
	if gid != nil {
		groups = append(groups, *gid)
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.FSGroup != nil {
			groups = append(groups, *psc.FSGroup)
		}
		groups = append(groups, psc.SupplementalGroups...)
	}
	s := &initSpec{
		Scratch:    filepath.Join(w.dir, "containers", spec.Name, "scratch"),
		Binary:     bin,
		ExecPath:   bin,
		Argv:       argv,
		Env:        env,
		WorkingDir: spec.WorkingDir,
		UID:        uid,
		GID:        gid,
		Groups:     groups,
	}
	w.mu.Lock()
	if w.net != nil {
		s.NetNS = "/run/netns/" + w.net.netns
	}
	w.mu.Unlock()
	if !(strings.HasPrefix(bin, "/usr/") || strings.HasPrefix(bin, "/bin/") || strings.HasPrefix(bin, "/sbin/")) {
		// e.g. ~/.cache/eksa-metrics/bin/...: not reachable for a non-root user; place it
		// where an image would have it.
		s.ExecPath = "/usr/local/bin/" + filepath.Base(bin)
		s.BindBinary = true
	}
	if sc := spec.SecurityContext; sc != nil {
		s.NoNewPrivs = sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
		s.ReadOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	}
	vols := map[string]*v1.Volume{}
	for i := range pod.Spec.Volumes {
		vols[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	for _, vm := range spec.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, &startError{"CreateContainerConfigError", fmt.Sprintf("volumeMount %q: no such volume", vm.Name)}
		}
		src := w.volumeDir(v.Name)
		ro := vm.ReadOnly
		switch {
		case v.HostPath != nil:
			src = v.HostPath.Path
		case v.EmptyDir != nil:
		default:
			ro = true // the kubelet always mounts API data volumes read-only
		}
		if vm.SubPath != "" || vm.SubPathExpr != "" {
			sub := vm.SubPath
			if vm.SubPathExpr != "" {
				sub = expandVars(vm.SubPathExpr, lookup)
			}
			p, err := filepath.EvalSymlinks(filepath.Join(src, sub))
			if err != nil {
				return nil, &startError{"CreateContainerConfigError", fmt.Sprintf("subPath %q: %v", sub, err)}
			}
			base, _ := filepath.EvalSymlinks(src)
			if p != base && !strings.HasPrefix(p, base+"/") {
				return nil, &startError{"CreateContainerConfigError", fmt.Sprintf("subPath %q escapes the volume", sub)}
			}
			src = p
		}
		s.Mounts = append(s.Mounts, mountSpec{Source: src, Target: vm.MountPath, ReadOnly: ro})
	}
	c.uid, c.gid, c.env = uid, gid, env
	return s, nil
}

// primaryGroup is the gid a runtime would use for runAsUser without runAsGroup: the user's
// group from /etc/passwd, else 0.
func primaryGroup(uid int64) int64 {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) > 3 && parts[2] == strconv.FormatInt(uid, 10) {
			if g, err := strconv.ParseInt(parts[3], 10, 64); err == nil {
				return g
			}
		}
	}
	return 0
}

// startContainer starts (or restarts) one container; called only from the pod worker loop.
func (w *podWorker) startContainer(ctx context.Context, pod *v1.Pod, c *container) {
	if err := w.pullImage(ctx, pod, c); err != nil {
		se := &startError{"ErrImagePull", err.Error()}
		errors.As(err, &se)
		w.mu.Lock()
		c.waiting = &v1.ContainerStateWaiting{Reason: se.reason, Message: se.msg}
		if c.pullBackoff == 0 {
			c.pullBackoff = w.n.k.cfg.backoffBase
		} else if c.pullBackoff *= 2; c.pullBackoff > w.n.k.cfg.backoffMax {
			c.pullBackoff = w.n.k.cfg.backoffMax
		}
		c.nextStart, c.pullError = time.Now().Add(c.pullBackoff), se.msg
		w.mu.Unlock()
		w.logf("container %s: %s", c.spec.Name, se)
		return
	}
	w.mu.Lock()
	c.pullBackoff, c.pullError = 0, ""
	w.mu.Unlock()
	spec, err := w.prepare(ctx, pod, c)
	if err != nil {
		se := &startError{"RunContainerError", err.Error()}
		errors.As(err, &se)
		w.mu.Lock()
		c.waiting = &v1.ContainerStateWaiting{Reason: se.reason, Message: se.msg}
		c.nextStart = time.Now().Add(10 * time.Second)
		w.mu.Unlock()
		w.n.recorder.Eventf(pod, v1.EventTypeWarning, "Failed", "Error: %s", se.msg)
		w.logf("container %s: %s", c.spec.Name, se)
		return
	}
	cdir := filepath.Join(w.dir, "containers", c.spec.Name)
	if err := os.MkdirAll(spec.Scratch, 0o700); err != nil {
		w.logf("container %s: %v", c.spec.Name, err)
		return
	}
	raw, _ := json.Marshal(spec)
	specPath := filepath.Join(cdir, "init.json")
	if err := os.WriteFile(specPath, raw, 0o600); err != nil {
		w.logf("container %s: %v", c.spec.Name, err)
		return
	}
	logf, err := os.OpenFile(filepath.Join(w.dir, c.spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		w.logf("container %s: %v", c.spec.Name, err)
		return
	}
	defer logf.Close()
	w.mu.Lock()
	restart := c.everStarted
	rc := c.restartCount
	if restart {
		rc++
	}
	w.mu.Unlock()
	fmt.Fprintf(logf, "==== %s eksa-localkubelet: starting container %q (restart %d): %q as uid %s\n",
		time.Now().UTC().Format(time.RFC3339), c.spec.Name, rc, spec.Argv, fmtID(spec.UID))
	// /proc/self/exe still works when the binary has been replaced or deleted on disk.
	cmd := exec.Command("/proc/self/exe", "container-init", specPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // Go also makes "/" rprivate in the child
		Setpgid:      true,
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		w.mu.Lock()
		c.waiting = &v1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
		c.nextStart = time.Now().Add(10 * time.Second)
		w.mu.Unlock()
		w.logf("container %s: start: %v", c.spec.Name, err)
		return
	}
	pid := cmd.Process.Pid
	if st := procStartTime(pid); st != "" {
		_ = os.WriteFile(filepath.Join(cdir, "pid"), []byte(fmt.Sprintf("%d %s\n", pid, st)), 0o600)
	}
	now := time.Now()
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d/%d", pod.UID, c.spec.Name, rc, now.UnixNano())))
	pctx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	c.cmd, c.pid, c.running, c.everStarted, c.startedAt = cmd, pid, true, true, now
	c.restartCount = rc
	c.containerID = "hostprocess://" + hex.EncodeToString(sum[:])
	c.imageID = "localcluster-host-binary://" + spec.Binary + "@" + binaryDigest(spec.Binary)
	c.waiting, c.killRequested = nil, ""
	c.started = c.spec.StartupProbe == nil
	c.ready = c.spec.ReadinessProbe == nil && c.started
	c.exitCh = make(chan struct{})
	c.probeCancel = cancel
	exitCh := c.exitCh
	w.mu.Unlock()
	w.logf("container %s: started pid %d: %q", c.spec.Name, pid, spec.Argv)
	w.n.recorder.Eventf(pod, v1.EventTypeNormal, "Started", "Started container %s (host process %d)", c.spec.Name, pid)

	w.startProbers(pctx, c, now)
	go func() {
		err := cmd.Wait()
		w.containerExited(c, cmd, err)
		close(exitCh)
	}()
}

func fmtID(p *int64) string {
	if p == nil {
		return "(unset: 0)"
	}
	return strconv.FormatInt(*p, 10)
}

func (w *podWorker) startProbers(ctx context.Context, c *container, started time.Time) {
	spec := c.spec
	if spec.StartupProbe != nil {
		go w.runProber(ctx, c, probeStartup, spec.StartupProbe, started, func(ok bool, msg string) {
			w.mu.Lock()
			if ok {
				c.started = true
				if spec.ReadinessProbe == nil {
					c.ready = true
				}
			} else {
				c.killRequested = "Container " + spec.Name + " failed startup probe, will be restarted"
			}
			w.mu.Unlock()
			w.notifyUpdate()
		})
	}
	if spec.ReadinessProbe != nil {
		go w.runProber(ctx, c, probeReadiness, spec.ReadinessProbe, started, func(ok bool, _ string) {
			w.mu.Lock()
			c.ready = ok
			w.mu.Unlock()
			w.notifyUpdate()
		})
	}
	if spec.LivenessProbe != nil {
		go w.runProber(ctx, c, probeLiveness, spec.LivenessProbe, started, func(ok bool, msg string) {
			if ok {
				return
			}
			w.mu.Lock()
			c.killRequested = "Container " + spec.Name + " failed liveness probe, will be restarted"
			w.mu.Unlock()
			w.notifyUpdate()
		})
	}
}

func (w *podWorker) containerExited(c *container, cmd *exec.Cmd, waitErr error) {
	now := time.Now()
	code := 0
	signaled := ""
	if ps := cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
			signaled = ws.Signal().String()
		} else {
			code = ps.ExitCode()
		}
	} else if waitErr != nil {
		code = 128
	}
	// Whatever the process left in its process group goes with it (e.g. haproxy workers).
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = os.Remove(filepath.Join(w.dir, "containers", c.spec.Name, "pid"))

	w.mu.Lock()
	defer w.mu.Unlock()
	if c.probeCancel != nil {
		c.probeCancel()
	}
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	msg := ""
	if signaled != "" {
		msg = "killed by signal " + signaled
	}
	c.prevTerm = c.lastTerm
	c.lastTerm = &v1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, Message: msg,
		StartedAt: metav1.NewTime(c.startedAt), FinishedAt: metav1.NewTime(now), ContainerID: c.containerID,
	}
	c.running, c.ready, c.started = false, false, false
	w.logf("container %s: pid %d exited with code %d %s", c.spec.Name, c.pid, code, msg)

	policy := w.restartPolicy()
	if policy == v1.RestartPolicyNever || (policy == v1.RestartPolicyOnFailure && code == 0) {
		c.done = true
		go w.notifyUpdate()
		return
	}
	// Crash-loop back-off as the kubelet does it: the first restart is immediate, then
	// base, 2*base, ... up to max; reset after running cleanly for 2*max.
	if now.Sub(c.startedAt) >= 2*w.n.k.cfg.backoffMax {
		c.backoff = 0
	}
	delay := c.backoff
	if c.backoff == 0 {
		c.backoff = w.n.k.cfg.backoffBase
	} else if c.backoff *= 2; c.backoff > w.n.k.cfg.backoffMax {
		c.backoff = w.n.k.cfg.backoffMax
	}
	c.nextStart = now.Add(delay)
	if delay > 0 {
		c.waiting = &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.spec.Name, w.name, w.ns, w.uid)}
	}
	go w.notifyUpdate()
}

// minimumGrace is what the kubelet leaves the stop signal when a preStop hook used up the grace
// period (its minimumGracePeriodInSeconds).
const minimumGrace = 2 * time.Second

// supportedLifecycle returns "" or why the container's lifecycle hooks cannot be honoured here:
// of the hooks, only preStop's sleep action is played.
func supportedLifecycle(l *v1.Lifecycle) string {
	switch {
	case l == nil:
		return ""
	case l.PostStart != nil:
		return "postStart hooks are not supported by the localcluster kubelet"
	case l.PreStop != nil && (l.PreStop.Sleep == nil || l.PreStop.Exec != nil || l.PreStop.HTTPGet != nil || l.PreStop.TCPSocket != nil):
		return "of the preStop hooks, the localcluster kubelet plays only sleep"
	}
	return ""
}

// stopContainer stops a container as the kubelet does: its preStop hook first (a sleep, within
// the grace period), then the image's stop signal (SIGTERM unless its STOPSIGNAL says otherwise)
// to the process group with what is left of the grace (at least minimumGrace), then SIGKILL.
// Blocks until exited.
func (w *podWorker) stopContainer(c *container, grace time.Duration, why string) {
	w.mu.Lock()
	if !c.running {
		w.mu.Unlock()
		return
	}
	pid, exitCh := c.pid, c.exitCh
	w.mu.Unlock()
	w.logf("container %s: stopping pid %d (grace %s): %s", c.spec.Name, pid, grace, why)
	if pod := w.currentPod(); pod != nil {
		w.n.recorder.Eventf(pod, v1.EventTypeNormal, "Killing", "Stopping container %s: %s", c.spec.Name, why)
	}
	if l := c.spec.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
		hook := min(time.Duration(l.PreStop.Sleep.Seconds)*time.Second, grace)
		w.logf("container %s: preStop sleep %s", c.spec.Name, hook)
		select {
		case <-exitCh:
			return
		case <-time.After(hook):
		}
		grace = max(grace-hook, minimumGrace)
	}
	signal := syscall.SIGTERM
	if k := imageFor(c.spec.Image); k != nil && k.stopSignal != 0 {
		signal = k.stopSignal
	}
	_ = syscall.Kill(-pid, signal)
	select {
	case <-exitCh:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-exitCh:
	case <-time.After(10 * time.Second):
		log.Printf("pid %d did not exit after SIGKILL", pid)
	}
}

// procStartTime returns field 22 of /proc/PID/stat (start time in clock ticks), which with
// the PID identifies a process across PID reuse.
func procStartTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// reapStaleContainers kills container processes recorded by a previous kubelet instance
// (pid + start time must match, so a reused PID is never hit).
func reapStaleContainers(stateDir string) {
	files, _ := filepath.Glob(filepath.Join(stateDir, "pods", "*", "containers", "*", "pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		parts := strings.Fields(string(b))
		if len(parts) == 2 {
			if pid, err := strconv.Atoi(parts[0]); err == nil && pid > 1 && procStartTime(pid) == parts[1] {
				log.Printf("kubelet: killing container process %d left by a previous kubelet (%s)", pid, f)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.Remove(f)
	}
}

// pruneDeletedPods removes the directories (logs) of pods deleted more than maxAge ago.
func pruneDeletedPods(stateDir string, maxAge time.Duration) {
	marks, _ := filepath.Glob(filepath.Join(stateDir, "pods", "*", "deleted"))
	for _, m := range marks {
		if fi, err := os.Stat(m); err == nil && time.Since(fi.ModTime()) > maxAge {
			_ = os.RemoveAll(filepath.Dir(m))
		}
	}
}
