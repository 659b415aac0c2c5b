package main

import "testing"

func TestUnfinishedBoot(t *testing.T) {
	out := `hack/sysbox up p5-pod500 v2: exit status 1:   UNIT LOAD ACTIVE SUB DESCRIPTION
0 loaded units listed.
JOB  UNIT                                  TYPE    STATE
7621 container-c323.service                restart waiting
9283 libpod-cc166a85cf2b3e35b.scope        start   waiting
407  container-c32.service                 start   running
1427 container-c2.service                  restart waiting
9180 machine.slice                         start   waiting

5 jobs listed.
sysbox: box 'p5-pod500' did not boot within 900s (state: starting)
`
	want := "the boot did not finish within 900s: 2 units waiting to start again after a failed start, 1 starting"
	if got := unfinishedBoot(out); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := unfinishedBoot("hack/sysbox up x v2: exit status 1: unshare exited early"); got != "" {
		t.Errorf("another failure summed up as %q", got)
	}
}
