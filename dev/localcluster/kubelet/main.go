// Command eksa-localkubelet is the process kubelet of eksa-metrics' local control plane
// (localcluster/). It is our own code, written for this project: it is NOT the upstream
// kubelet and emulates only what the metrics-proxy DaemonSets need (see README.md).
//
// Subcommands:
//
//	kubelet         play the kubelet for one or more Node objects (heartbeats, leases, pods)
//	container-init  internal: set up a container's mount namespace, drop privileges, exec
//	nsfwd           forward TCP between the host network namespace and a netns we created
package main

import (
	"fmt"
	"os"
	"runtime"
)

func init() {
	// container-init must run prctl(PR_SET_NO_NEW_PRIVS) and execve on the same OS thread:
	// the no_new_privs bit is per thread. Lock the main goroutine to the main thread before
	// the runtime gets a chance to move it.
	if len(os.Args) > 1 && os.Args[1] == "container-init" {
		runtime.LockOSThread()
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "kubelet":
		err = runKubelet(os.Args[2:])
	case "container-init":
		err = containerInit(os.Args[2:])
	case "nsfwd":
		err = runNsfwd(os.Args[2:])
	case "-h", "--help", "help":
		usage()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "eksa-localkubelet %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: eksa-localkubelet kubelet|nsfwd [flags]   (see localcluster/README.md)")
	os.Exit(2)
}
