package recordstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

func testConfig(name string) *Config {
	return &Config{Name: name, Unit: "ctr-" + name + ".service", Rootfs: "/r", Command: []string{"true"}, Restart: container.RestartPolicy{Name: container.PolicyNo}}
}

func TestStoreCreateIsExclusive(t *testing.T) {
	s := Open(unitstep.Dirs{StateDir: t.TempDir()})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.Create(testConfig("web")) }()
	}
	wg.Wait()
	close(errs)
	var ok, inUse int
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, container.ErrNameInUse):
			inUse++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || inUse != 7 {
		t.Fatalf("%d creates succeeded and %d saw the name in use; want 1 and 7", ok, inUse)
	}
	names, _ := s.Names()
	if len(names) != 1 || names[0] != "web" {
		t.Fatalf("Names = %v, want [web] (no leftovers of the losing creates)", names)
	}
}

func TestStoreRecordRoundTripAndRemove(t *testing.T) {
	dir := t.TempDir()
	s := Open(unitstep.Dirs{StateDir: dir})
	cfg := testConfig("db")
	cfg.StopSignal = container.Signal(2)
	cfg.Restart = container.RestartPolicy{Name: container.PolicyOnFailure, MaxRetries: 2}
	if err := s.Create(cfg); err != nil {
		t.Fatal(err)
	}
	got, err := s.Config("db")
	if err != nil || got.StopSignal != 2 || got.Restart.MaxRetries != 2 {
		t.Fatalf("Config = %+v, %v", got, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "containers", "db", configFile))
	if !strings.Contains(string(raw), `"StopSignal": "SIGINT"`) {
		t.Errorf("stop signal not stored by name: %s", raw)
	}
	st := State{StartedAt: time.Unix(5, 0).UTC(), StoppedByUser: true, RestartCount: 4}
	if err := s.SaveState("db", st); err != nil {
		t.Fatal(err)
	}
	if back, _ := s.State("db"); back != st {
		t.Errorf("State = %+v, want %+v", back, st)
	}
	if ex, err := s.Exit("db"); ex != nil || err != nil {
		t.Errorf("Exit before any run = %v, %v", ex, err)
	}
	// The unit's stop step writes it where the store reads it.
	if err := unitstep.SaveExit(unitstep.Dirs{StateDir: dir}.ExitFile("db"), Exit{ExitCode: 3}); err != nil {
		t.Fatal(err)
	}
	if ex, _ := s.Exit("db"); ex == nil || ex.ExitCode != 3 {
		t.Errorf("Exit = %+v", ex)
	}
	// Replacing records, flushed or not, leaves only the records.
	for _, stopped := range []bool{false, false, true} {
		if err := s.SaveState("db", State{StoppedByUser: stopped}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync("db"); err != nil {
		t.Errorf("Sync: %v", err)
	}
	files, _ := os.ReadDir(filepath.Join(dir, "containers", "db"))
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	if strings.Join(names, " ") != "config.json exit.json state.json" {
		t.Errorf("record files %v: a temporary file is left", names)
	}
	// After a power cut, a record written without a flush can be empty:
	// as if it were not there.
	for _, f := range []string{stateFile, exitFile} {
		if err := os.WriteFile(filepath.Join(dir, "containers", "db", f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := s.State("db"); err != nil || st != (State{}) {
		t.Errorf("State of an empty file = %+v, %v; want a zero state", st, err)
	}
	if ex, err := s.Exit("db"); ex != nil || err != nil {
		t.Errorf("Exit of an empty file = %+v, %v; want none", ex, err)
	}
	if err := s.Remove("db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Config("db"); !errors.Is(err, container.ErrNoSuchContainer) {
		t.Errorf("Config after Remove: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "containers"))
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
	// The name is free again.
	if err := s.Create(testConfig("db")); err != nil {
		t.Errorf("re-create: %v", err)
	}
}

// WriteState's record is in place before its flush is waited for: a
// command killed while it waits for systemd (and the flush) leaves it
// written.
func TestWriteStateIsInPlaceBeforeTheFlush(t *testing.T) {
	s := Open(unitstep.Dirs{StateDir: t.TempDir()})
	if err := s.Create(testConfig("web")); err != nil {
		t.Fatal(err)
	}
	for _, stopped := range []bool{true, true, false} {
		flushed, err := s.WriteState("web", State{StoppedByUser: stopped, RestartCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		if st, err := s.State("web"); err != nil || st.StoppedByUser != stopped || st.RestartCount != 2 {
			t.Errorf("before the flush: %+v, %v", st, err)
		}
		if err := flushed(); err != nil {
			t.Errorf("flushed: %v", err)
		}
	}
	if _, err := s.WriteState("gone", State{StoppedByUser: true}); err == nil {
		t.Error("WriteState of a container without a record succeeded")
	}
}

func TestStoreLockSerialisesOneContainerOnly(t *testing.T) {
	s := Open(unitstep.Dirs{StateDir: t.TempDir()})
	s.Create(testConfig("a"))
	s.Create(testConfig("b"))
	ctx := context.Background()
	la, err := s.Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another container is not blocked.
	lb, err := s.Lock(ctx, "b")
	if err != nil {
		t.Fatalf("lock b while a is held: %v", err)
	}
	lb()
	// The same container is.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock of a: %v, want a timeout", err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := s.Lock(ctx, "a")
		if err == nil {
			l()
		}
		got <- err
	}()
	la()
	if err := <-got; err != nil {
		t.Fatalf("lock after release: %v", err)
	}
}

func TestStoreLockWaiterSeesRemoval(t *testing.T) {
	s := Open(unitstep.Dirs{StateDir: t.TempDir()})
	s.Create(testConfig("a"))
	ctx := context.Background()
	l, _ := s.Lock(ctx, "a")
	got := make(chan error, 1)
	go func() {
		_, err := s.Lock(ctx, "a")
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.Remove("a"); err != nil {
		t.Fatal(err)
	}
	l()
	if err := <-got; !errors.Is(err, container.ErrNoSuchContainer) {
		t.Fatalf("waiter after removal: %v, want container.ErrNoSuchContainer", err)
	}
}

// A record from before containers had IDs reads with the same one every
// time, derived from its name and creation time.
func TestOlderRecordsGetAStableID(t *testing.T) {
	dirs := unitstep.Dirs{StateDir: t.TempDir(), RuntimeDir: t.TempDir()}
	s := Open(dirs)
	cfg := testConfig("old")
	cfg.StopSignal, cfg.CreatedAt = container.DefaultStopSignal, time.Unix(1700000000, 5)
	if err := s.Create(cfg); err != nil {
		t.Fatal(err)
	}
	a, errA := s.Config("old")
	b, errB := s.Config("old")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a.ID == "" || a.ID != b.ID || a.ID != container.DerivedID("old", cfg.CreatedAt) {
		t.Errorf("IDs %q %q (%v %v)", a.ID, b.ID, errA, errB)
	}
}

// A record made before its layer is marked from the moment its name is
// claimed until the layer is said to be made; a plain one never is.
func TestLayerPendingMarksOnlyRecordsMadeBeforeTheirLayer(t *testing.T) {
	s := Open(unitstep.Dirs{StateDir: t.TempDir()})
	if err := s.Create(testConfig("plain")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLayerPending(testConfig("web")); err != nil {
		t.Fatal(err)
	}
	if s.LayerPending("plain") || !s.LayerPending("web") {
		t.Fatalf("pending: plain %v (want false), web %v (want true)", s.LayerPending("plain"), s.LayerPending("web"))
	}
	if err := s.CreateLayerPending(testConfig("web")); !errors.Is(err, container.ErrNameInUse) {
		t.Errorf("second create of web: %v, want ErrNameInUse", err)
	}
	for range 2 {
		if err := s.ClearLayerPending("web"); err != nil {
			t.Fatal(err)
		}
	}
	if s.LayerPending("web") {
		t.Error("web still pending after ClearLayerPending")
	}
	if err := s.Remove("web"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLayerPending(testConfig("web")); err != nil || !s.LayerPending("web") {
		t.Errorf("web made again: %v, pending %v", err, s.LayerPending("web"))
	}
}
