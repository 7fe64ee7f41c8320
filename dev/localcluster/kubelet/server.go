package main

// A minimal kubelet API on NODE_IP:10250, so `kubectl logs` works: only
// GET /containerLogs/{namespace}/{pod}/{container} (follow, previous, tailLines, limitBytes).
// Like the kubelet: a self-signed serving certificate (the apiserver does not verify it
// unless --kubelet-certificate-authority is set), x509 client authentication against the
// cluster CA, and authorization by SubjectAccessReview (get nodes/proxy on this node).
// exec, attach, port-forward, stats and the read-only port are not served.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const logHeaderPrefix = "==== "

func selfSignedCert(node, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: node + "@" + strconv.FormatInt(time.Now().Unix(), 10)},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{node},
		IPAddresses:  []net.IP{net.ParseIP(ip)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func (n *nodeAgent) serveAPI(ctx context.Context) {
	cfg := n.k.cfg
	if cfg.kubeletPort == 0 {
		return
	}
	caPEM, err := os.ReadFile(cfg.clientCAFile)
	if err != nil {
		n.logf("kubelet API disabled: client CA: %v", err)
		return
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		n.logf("kubelet API disabled: no certificate in %s", cfg.clientCAFile)
		return
	}
	cert, err := selfSignedCert(n.name, n.ip)
	if err != nil {
		n.logf("kubelet API disabled: %v", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", n.containerLogs)
	srv := &http.Server{
		Addr:              net.JoinHostPort(n.ip, strconv.Itoa(cfg.kubeletPort)),
		Handler:           n.authenticated(mux),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
		},
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	n.logf("kubelet API (containerLogs only) on https://%s", srv.Addr)
	if err := srv.ListenAndServeTLS("", ""); err != nil && err != http.ErrServerClosed {
		n.logf("kubelet API: %v", err)
	}
}

// authenticated: a verified client certificate, then a SubjectAccessReview for
// get nodes/proxy on this node (what the kubelet checks for /containerLogs).
func (n *nodeAgent) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   leaf.Subject.CommonName,
			Groups: append(append([]string{}, leaf.Subject.Organization...), "system:authenticated"),
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: "get", Resource: "nodes", Subresource: "proxy", Name: n.name,
			},
		}}
		res, err := n.client.AuthorizationV1().SubjectAccessReviews().Create(r.Context(), sar, metav1.CreateOptions{})
		if err != nil {
			http.Error(w, "authorization error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if !res.Status.Allowed {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=get, resource=nodes, subresource=proxy)", sar.Spec.User), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (n *nodeAgent) findWorker(ns, pod string) *podWorker {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, w := range n.workers {
		if w.ns == ns && w.name == pod {
			return w
		}
	}
	return nil
}

func (n *nodeAgent) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	q := r.URL.Query()
	pw := n.findWorker(ns, pod)
	if pw == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s not found on node %s", ns, pod, n.name), http.StatusNotFound)
		return
	}
	var ctr *container
	for _, c := range pw.containers {
		if c.spec.Name == name {
			ctr = c
		}
	}
	if ctr == nil {
		http.Error(w, fmt.Sprintf("container %q not in pod %s/%s", name, ns, pod), http.StatusNotFound)
		return
	}
	path := filepath.Join(pw.dir, name+".log")
	data, err := os.ReadFile(path)
	if err != nil {
		http.Error(w, "no log yet: "+err.Error(), http.StatusNotFound)
		return
	}
	previous := q.Get("previous") == "true"
	runs := splitRuns(data)
	var body []byte
	switch {
	case previous && len(runs) < 2:
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", name, pod), http.StatusBadRequest)
		return
	case previous:
		body = runs[len(runs)-2]
	case len(runs) > 0:
		body = runs[len(runs)-1]
	}
	if s := q.Get("tailLines"); s != "" {
		if t, err := strconv.Atoi(s); err == nil && t >= 0 {
			body = tailLines(body, t)
		}
	}
	limit := int64(-1)
	if s := q.Get("limitBytes"); s != "" {
		if l, err := strconv.ParseInt(s, 10, 64); err == nil && l > 0 {
			limit = l
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	var out io.Writer = w
	if limit > 0 {
		out = &limitWriter{w: w, n: limit}
	}
	if _, err := out.Write(body); err != nil {
		return
	}
	if previous || q.Get("follow") != "true" {
		return
	}
	// follow: stream what the current run appends until it ends or the client goes away.
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	offset := int64(len(data))
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		f, err := os.Open(path)
		if err != nil {
			return
		}
		fi, _ := f.Stat()
		if fi != nil && fi.Size() > offset {
			chunk := make([]byte, fi.Size()-offset)
			k, _ := f.ReadAt(chunk, offset)
			chunk = chunk[:k]
			offset += int64(k)
			if i := bytes.Index(chunk, []byte("\n"+logHeaderPrefix)); i >= 0 || bytes.HasPrefix(chunk, []byte(logHeaderPrefix)) {
				if i < 0 {
					i = 0
				} else {
					i++
				}
				_, _ = out.Write(chunk[:i])
				f.Close()
				return // a new run started: the followed container ended
			}
			if _, err := out.Write(chunk); err != nil {
				f.Close()
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		f.Close()
		if !ctr.isRunning() {
			return
		}
	}
}

func (c *container) isRunning() bool {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.running
}

// splitRuns cuts a container log into runs at the kubelet's header lines (headers dropped).
func splitRuns(data []byte) [][]byte {
	var runs [][]byte
	var cur []byte
	started := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte(logHeaderPrefix)) && bytes.Contains(line, []byte(" eksa-localkubelet: starting container ")) {
			if started {
				runs = append(runs, cur)
			}
			cur, started = nil, true
			continue
		}
		cur = append(cur, line...)
		cur = append(cur, '\n')
	}
	if started {
		runs = append(runs, cur)
	}
	return runs
}

func tailLines(b []byte, n int) []byte {
	if n == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return []byte(strings.Join(lines, ""))
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.w.Write(p)
	l.n -= int64(k)
	if err == nil && l.n <= 0 {
		err = io.EOF
	}
	return k, err
}
