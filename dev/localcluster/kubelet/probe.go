package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type probeKind string

const (
	probeStartup   probeKind = "Startup"
	probeReadiness probeKind = "Readiness"
	probeLiveness  probeKind = "Liveness"
)

// supportedProbe reports why a probe cannot be run, or "".
func supportedProbe(p *v1.Probe) string {
	if p == nil {
		return ""
	}
	switch {
	case p.HTTPGet != nil, p.TCPSocket != nil, p.Exec != nil:
		return ""
	case p.GRPC != nil:
		return "grpc probes are not supported by the localcluster kubelet"
	}
	return "probe has no handler"
}

func probeDefaults(p *v1.Probe) (period, timeout time.Duration, success, failure int32) {
	period, timeout, success, failure = 10*time.Second, time.Second, 1, 3
	if p.PeriodSeconds > 0 {
		period = time.Duration(p.PeriodSeconds) * time.Second
	}
	if p.TimeoutSeconds > 0 {
		timeout = time.Duration(p.TimeoutSeconds) * time.Second
	}
	if p.SuccessThreshold > 0 {
		success = p.SuccessThreshold
	}
	if p.FailureThreshold > 0 {
		failure = p.FailureThreshold
	}
	return
}

// resolvePort resolves a probe port: a number, or the name of one of the container's ports.
func resolvePort(c *v1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("port %q not found in container %q", port.StrVal, c.Name)
}

// probeOnce runs one probe attempt, returning nil on success.
func (w *podWorker) probeOnce(ctx context.Context, ctr *container, p *v1.Probe) error {
	_, timeout, _, _ := probeDefaults(p)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w.mu.Lock()
	podIP, pnet := w.podIP(), w.net
	w.mu.Unlock()
	dial := (&net.Dialer{}).DialContext
	if pnet != nil {
		dial = pnet.dial // inside the pod's network namespace
	}
	switch {
	case p.HTTPGet != nil:
		h := p.HTTPGet
		port, err := resolvePort(&ctr.spec, h.Port)
		if err != nil {
			return err
		}
		host := h.Host
		if host == "" {
			host = podIP
		}
		scheme := strings.ToLower(string(h.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		path := h.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
		if pu, err := url.Parse(path); err == nil {
			u.Path, u.RawQuery = pu.Path, pu.RawQuery
		} else {
			u.Path = path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "kube-probe/"+w.n.k.cfg.version)
		req.Header.Set("Accept", "*/*")
		for _, hd := range h.HTTPHeaders {
			if strings.EqualFold(hd.Name, "Host") {
				req.Host = hd.Value
				continue
			}
			req.Header.Set(hd.Name, hd.Value)
		}
		client := &http.Client{
			Transport: &http.Transport{
				// The kubelet does not verify probe certificates.
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
				DisableKeepAlives: true,
				DialContext:       dial,
				Proxy:             nil,
			},
			CheckRedirect: func(r *http.Request, via []*http.Request) error {
				if len(via) >= 10 || r.URL.Hostname() != u.Hostname() {
					return http.ErrUseLastResponse // a redirect elsewhere counts as success
				}
				return nil
			},
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := resolvePort(&ctr.spec, p.TCPSocket.Port)
		if err != nil {
			return err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		c, err := dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		c.Close()
		return nil
	case p.Exec != nil:
		// Run inside the container: its mount namespace and root, as its user.
		pid := ctr.pidNow()
		if pid <= 0 || len(p.Exec.Command) == 0 {
			return fmt.Errorf("container not running")
		}
		args := []string{"-t", strconv.Itoa(pid), "-m", "-n", "-r", "-w"}
		if ctr.uid != nil {
			args = append(args, "-S", strconv.FormatInt(*ctr.uid, 10))
		}
		if ctr.gid != nil {
			args = append(args, "-G", strconv.FormatInt(*ctr.gid, 10))
		}
		args = append(args, "--")
		args = append(args, p.Exec.Command...)
		cmd := exec.CommandContext(ctx, "nsenter", args...)
		cmd.Env = ctr.env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("exec probe %v: %v: %s", p.Exec.Command, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return fmt.Errorf("unsupported probe")
}

// runProber probes one container with one probe until ctx ends, reporting threshold-crossing
// results through report(ok, msg).
func (w *podWorker) runProber(ctx context.Context, ctr *container, kind probeKind, p *v1.Probe, started time.Time, report func(ok bool, msg string)) {
	period, _, successT, failureT := probeDefaults(p)
	delay := time.Until(started.Add(time.Duration(p.InitialDelaySeconds) * time.Second))
	if delay > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
	var successes, failures int32
	var last *bool
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if kind == probeStartup || ctr.isStarted() {
			err := w.probeOnce(ctx, ctr, p)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				successes, failures = successes+1, 0
				if successes >= successT && (last == nil || !*last) {
					ok := true
					last = &ok
					report(true, "")
				}
				if kind == probeStartup && last != nil && *last {
					return
				}
			} else {
				failures, successes = failures+1, 0
				w.n.recorder.Eventf(w.podRef(), v1.EventTypeWarning, "Unhealthy", "%s probe failed: %v", kind, err)
				if failures >= failureT && (last == nil || *last || kind != probeReadiness) {
					nok := false
					last = &nok
					report(false, err.Error())
					if kind != probeReadiness {
						return // the container is being restarted; a new prober starts with it
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
