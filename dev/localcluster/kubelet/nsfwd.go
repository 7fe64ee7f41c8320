package main

// nsfwd forwards TCP connections between the host network namespace and a network namespace
// that localcluster created itself (for kube-proxy). A socket belongs to the network namespace
// of the thread that created it, so listening or dialing "inside" is done on an OS thread that
// has temporarily joined the namespace with setns(2); the resulting file descriptors are then
// used from any goroutine. No interface, route or address is added anywhere.
//
//	nsfwd --netns /run/netns/NAME --in 127.0.0.1:10249=127.0.0.1:10249 --out 127.0.0.1:6443=127.0.0.1:6443
//
// --in HOSTLISTEN=NSTARGET listens on the host and dials in the namespace;
// --out NSLISTEN=HOSTTARGET listens in the namespace and dials on the host.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type netnsSwitch struct {
	host, target *os.File
}

// do runs fn on an OS thread that is in the target namespace.
func (n *netnsSwitch) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(n.target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		ferr := fn()
		if err := unix.Setns(int(n.host.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: the runtime then discards it with the goroutine.
			errc <- fmt.Errorf("returning to the host netns: %w (after %v)", err, ferr)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func runNsfwd(args []string) error {
	fs := flag.NewFlagSet("nsfwd", flag.ExitOnError)
	netns := fs.String("netns", "", "path of the network namespace (e.g. /run/netns/NAME)")
	var ins, outs stringList
	fs.Var(&ins, "in", "HOSTLISTEN=NSTARGET (repeatable)")
	fs.Var(&outs, "out", "NSLISTEN=HOSTTARGET (repeatable)")
	_ = fs.Parse(args)
	if *netns == "" || len(ins)+len(outs) == 0 {
		return fmt.Errorf("--netns and at least one --in/--out are required")
	}
	host, err := openOwnNetns()
	if err != nil {
		return err
	}
	target, err := os.Open(*netns)
	if err != nil {
		return err
	}
	sw := &netnsSwitch{host: host, target: target}
	hostDial := func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 5*time.Second) }
	nsDial := func(addr string) (net.Conn, error) {
		var c net.Conn
		err := sw.do(func() error {
			var err error
			c, err = net.DialTimeout("tcp", addr, 5*time.Second)
			return err
		})
		return c, err
	}
	var wg sync.WaitGroup
	var listeners []net.Listener
	for _, spec := range ins {
		l, to, err := splitFwd(spec)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", l)
		if err != nil {
			return fmt.Errorf("host listen %s: %w", l, err)
		}
		listeners = append(listeners, ln)
		log.Printf("nsfwd: host %s -> netns %s", l, to)
		wg.Add(1)
		go func() { defer wg.Done(); serveFwd(ln, func(net.Conn) (net.Conn, error) { return nsDial(to) }) }()
	}
	for _, spec := range outs {
		l, to, err := splitFwd(spec)
		if err != nil {
			return err
		}
		var ln net.Listener
		if err := sw.do(func() error { var err error; ln, err = net.Listen("tcp", l); return err }); err != nil {
			return fmt.Errorf("netns listen %s: %w", l, err)
		}
		listeners = append(listeners, ln)
		log.Printf("nsfwd: netns %s -> host %s", l, to)
		wg.Add(1)
		go func() { defer wg.Done(); serveFwd(ln, func(net.Conn) (net.Conn, error) { return hostDial(to) }) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	for _, ln := range listeners {
		ln.Close()
	}
	wg.Wait()
	return nil
}

func splitFwd(spec string) (string, string, error) {
	l, r, ok := strings.Cut(spec, "=")
	if !ok || l == "" || r == "" {
		return "", "", fmt.Errorf("bad forward %q, want LISTEN=TARGET", spec)
	}
	return l, r, nil
}

// openOwnNetns opens the network namespace of the process, read from a thread known to be in it.
func openOwnNetns() (*os.File, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
}

// serveFwd accepts until ln is closed; dial gets the accepted connection and returns its upstream.
func serveFwd(ln net.Listener, dial func(c net.Conn) (net.Conn, error)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := dial(c)
			if err != nil {
				log.Printf("nsfwd: dial for %s: %v", c.RemoteAddr(), err)
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
			go func() { io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func closeWrite(c net.Conn) {
	if t, ok := c.(*net.TCPConn); ok {
		_ = t.CloseWrite()
	}
}
