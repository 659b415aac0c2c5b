package unitstep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/ociruntime"
)

// A stop during the start step reaches the step's process only; runc,
// its child, must hear of it at once.
func TestRunPassesAStopOnToItsCommand(t *testing.T) {
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- Run([]string{"sleep", "30"}) }()
	// Run catches the signal before it starts its command: once the
	// command runs, SIGTERM cannot end this test process.
	for !hasChild("sleep") {
		if time.Since(start) > 5*time.Second {
			t.Fatal("Run did not start its command")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrStoppedWhileStarting) {
			t.Errorf("Run after SIGTERM: %v, want ErrStoppedWhileStarting", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the command did not get the stop: still running after %v", time.Since(start))
	}
}

func TestRunReturnsTheCommandsFailure(t *testing.T) {
	if err := Run([]string{"sh", "-c", "exit 3"}); err == nil || errors.Is(err, ErrStoppedWhileStarting) {
		t.Errorf("Run of exit 3: %v", err)
	}
	if err := Run([]string{"true"}); err != nil {
		t.Errorf("Run of true: %v", err)
	}
}

// hasChild reports whether this process has a child named comm.
func hasChild(comm string) bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, pid := range strings.Fields(string(data)) {
			if c, _ := os.ReadFile("/proc/" + pid + "/comm"); strings.TrimSpace(string(c)) == comm {
				return true
			}
		}
	}
	return false
}

// A stop step that cannot find runc still records the exit, and says what
// it left.
func TestStopPostWithoutRuncRecordsTheExit(t *testing.T) {
	dirs := Dirs{StateDir: t.TempDir(), RuntimeDir: t.TempDir()}
	if err := os.MkdirAll(dirs.Record("web"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EXIT_CODE": "exited", "EXIT_STATUS": "3", "SERVICE_RESULT": "exit-code"}
	// A unit name no host has: the cgroups looked for do not exist.
	unit := fmt.Sprintf("ctr-unitstep-test-%d.service", os.Getpid())
	err := Steps{Dirs: dirs}.StopPost(context.Background(), "web", unit, func(k string) string { return env[k] })
	if !errors.Is(err, ociruntime.ErrNotFound) {
		t.Errorf("StopPost without runc: %v, want ErrNotFound", err)
	}
	if ex, rerr := ReadExit(dirs.ExitFile("web")); rerr != nil || ex == nil || ex.ExitCode != 3 {
		t.Errorf("exit record %+v, %v; want exit code 3", ex, rerr)
	}
}
