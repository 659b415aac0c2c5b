// Command syscalls makes the system calls named on its command line, with
// arguments no kernel accepts, and prints each call's errno: the tests
// run it inside containers to see which calls the seccomp filter stops
// (EPERM, errno 1) before the kernel could look at the arguments. Built
// static (CGO_ENABLED=0), it runs in any root file system.
package main

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

var calls = map[string]uintptr{
	"keyctl":          unix.SYS_KEYCTL,
	"add_key":         unix.SYS_ADD_KEY,
	"request_key":     unix.SYS_REQUEST_KEY,
	"bpf":             unix.SYS_BPF,
	"perf_event_open": unix.SYS_PERF_EVENT_OPEN,
	"userfaultfd":     unix.SYS_USERFAULTFD,
	"kexec_load":      unix.SYS_KEXEC_LOAD,
	"init_module":     unix.SYS_INIT_MODULE,
	"unshare":         unix.SYS_UNSHARE,
	"mount":           unix.SYS_MOUNT,
	"getpid":          unix.SYS_GETPID,
	"uname":           unix.SYS_UNAME,
}

func main() {
	for _, name := range os.Args[1:] {
		nr, ok := calls[name]
		if !ok {
			fmt.Printf("%s unknown\n", name)
			continue
		}
		// Invalid arguments everywhere: a call the filter lets through
		// fails in the kernel with EINVAL, EFAULT and such, or succeeds
		// harmlessly (getpid; unshare(0) changes nothing).
		a := [6]uintptr{^uintptr(0), 0, 0, 0, 0, 0}
		switch name {
		case "unshare", "getpid":
			a[0] = 0
		case "uname":
			a[0] = 0 // EFAULT
		}
		_, _, errno := syscall.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
		fmt.Printf("%s %d\n", name, int(errno))
	}
}
