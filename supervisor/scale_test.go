package supervisor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctr-unit/ctr-unit/cgroupmgr"
)

// scaleDefinitions writes n definition files of sleeping containers.
func scaleDefinitions(tb testing.TB, s *Supervisor, n int) {
	tb.Helper()
	root, defDir := tb.TempDir(), tb.TempDir()
	s.defDirs = []string{defDir}
	for i := range n {
		text := fmt.Sprintf("[Unit]\nPartOf=scale.target\n\n[Container]\nRootfs=%s\nExec=sleep 100000\nStopSignal=SIGKILL\n\n[Install]\nWantedBy=multi-user.target\n", root)
		if err := os.WriteFile(filepath.Join(defDir, fmt.Sprintf("c%d.container", i)), []byte(text), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// The generator with 500 files (make bench-scale measures it at boot).
func BenchmarkGenerate500(b *testing.B) {
	s, _ := testSupervisor(b, cgroupmgr.Unified)
	scaleDefinitions(b, s, 500)
	for b.Loop() {
		out := b.TempDir()
		if err := s.Generate(out, func(f string, a ...any) { b.Fatalf(f, a...) }); err != nil {
			b.Fatal(err)
		}
	}
}

// ps with 500 containers defined in files, all running.
func BenchmarkList500(b *testing.B) {
	s, sd := testSupervisor(b, cgroupmgr.Unified)
	scaleDefinitions(b, s, 500)
	ctx := context.Background()
	if err := s.Refresh(ctx, nil); err != nil {
		b.Fatal(err)
	}
	names, _ := s.store.Names()
	for _, n := range names {
		cfg, _ := s.store.Config(n)
		sd.run(cfg.Unit, "/etc/systemd/system/ctr@.service", nil)
	}
	for b.Loop() {
		if err := s.Refresh(ctx, nil); err != nil {
			b.Fatal(err)
		}
		list, err := s.List(ctx, true)
		if err != nil || len(list) != 500 {
			b.Fatal(len(list), err)
		}
	}
}

// ps refreshes and then lists: List takes the records Refresh read, once.
// A later List reads the store again, and sees what was written since.
func TestListAfterRefreshReadsEachRecordOnce(t *testing.T) {
	s, _ := testSupervisor(t, cgroupmgr.Unified)
	scaleDefinitions(t, s, 3)
	ctx := context.Background()
	// The first makes the records; the second finds them fresh.
	for range 2 {
		if err := s.Refresh(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := s.store.Config("c1")
	if err != nil {
		t.Fatal(err)
	}
	// Written behind the Supervisor's back, as another command would.
	cfg.Labels = map[string]string{"changed": "yes"}
	if err := s.store.SaveDefined(cfg); err != nil {
		t.Fatal(err)
	}
	labels := func() map[string]string {
		t.Helper()
		list, err := s.List(ctx, true)
		if err != nil || len(list) != 3 {
			t.Fatalf("List = %d containers, %v; want 3", len(list), err)
		}
		return list[1].Config.Labels
	}
	if got := labels(); got["changed"] != "" {
		t.Errorf("first List after Refresh read c1's record again (labels %v): Refresh had read it", got)
	}
	if got := labels(); got["changed"] != "yes" {
		t.Errorf("second List: c1's labels %v, want the record as written since", got)
	}
}
