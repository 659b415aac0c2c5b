package ociruntime

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeInit lays out runc's state of container id under a new root and
// starts a process that does what runc's init does with exec.fifo: script
// gets the pipe's path as $1.
func fakeInit(t *testing.T, id, script string) (*Runc, *exec.Cmd, string) {
	t.Helper()
	r := &Runc{Path: "/nonexistent/runc", Root: t.TempDir()}
	dir := filepath.Join(r.StateRoot(id), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, execFifoName)
	if err := unix.Mkfifo(fifo, 0o622); err != nil {
		t.Fatal(err)
	}
	init := exec.Command("sh", "-c", script, "init", fifo)
	if err := init.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { init.Process.Kill(); init.Wait() })
	return r, init, fifo
}

func TestStartCreatedHandsOverToTheInit(t *testing.T) {
	// The init blocks opening the pipe, writes one byte, and execs (here
	// closing the pipe first, as close-on-exec does).
	r, init, fifo := fakeInit(t, "web", `exec 3>"$1"; printf 0 >&3; exec 3>&-; exec sleep 30`)
	done, err := r.StartCreated("web", init.Process.Pid)
	if !done || err != nil {
		t.Fatalf("StartCreated = %v, %v; want done", done, err)
	}
	if _, err := os.Stat(fifo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pipe is still there (%v): runc would report the container as created", err)
	}
}

func TestStartCreatedOfAnInitThatDied(t *testing.T) {
	r, init, fifo := fakeInit(t, "web", `exit 1`)
	// Dead before it opened the pipe: no wait for ever.
	start := time.Now()
	done, err := r.StartCreated("web", init.Process.Pid)
	if !done || !errors.Is(err, ErrInitGone) {
		t.Errorf("StartCreated = %v, %v; want ErrInitGone", done, err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Errorf("the pipe of a container that never ran was removed: %v", err)
	}
}

func TestStartCreatedLeavesAnUnknownLayoutToRunc(t *testing.T) {
	r := &Runc{Path: "/nonexistent/runc", Root: t.TempDir()}
	if done, err := r.StartCreated("web", os.Getpid()); done || err != nil {
		t.Errorf("StartCreated without runc's pipe = %v, %v; want not done, for runc start to do it", done, err)
	}
}
