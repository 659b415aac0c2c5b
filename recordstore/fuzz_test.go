package recordstore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/unitstep"
)

// FuzzRecordRead: a record, state, exit or health file truncated or
// garbled (a disk filled mid-write, a hand edit) is read without a panic;
// what cannot be read is an error naming the container, and the store
// still lists it so that rm can remove it.
func FuzzRecordRead(f *testing.F) {
	cfg := testConfig("db")
	cfg.StopSignal = container.Signal(2)
	cfg.Restart = container.RestartPolicy{Name: container.PolicyOnFailure, MaxRetries: 2}
	for _, v := range []any{cfg, State{StartedAt: time.Unix(5, 0).UTC(), StoppedByUser: true, RestartCount: 4}, healthcheck.State{}} {
		data, _ := json.MarshalIndent(v, "", "\t")
		f.Add(data)
		f.Add(data[:len(data)/2])
	}
	f.Add([]byte(`{"Name": "db", "StopSignal": "SIGNOPE"}`))
	f.Add([]byte(`{"Name": "db", "StopSignal": 99999}`))
	f.Add([]byte(`{"Restart": {"Name": "sometimes", "MaximumRetryCount": -1}}`))
	f.Add([]byte("null"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		s := Open(unitstep.Dirs{StateDir: dir})
		rec := filepath.Join(dir, "containers", "db")
		if err := os.MkdirAll(rec, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{configFile, stateFile, exitFile, healthFile} {
			if err := os.WriteFile(filepath.Join(rec, file), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if names, err := s.Names(); err != nil || len(names) != 1 {
			t.Fatalf("Names = %v, %v", names, err)
		}
		if _, err := s.Config("db"); err != nil && !strings.Contains(err.Error(), "db") {
			t.Errorf("Config error does not name the container: %v", err)
		}
		if _, err := s.State("db"); err != nil && !strings.Contains(err.Error(), "db") {
			t.Errorf("State error does not name the container: %v", err)
		}
		s.Exit("db")
		s.Health("db")
		if err := s.Remove("db"); err != nil {
			t.Errorf("Remove of an unreadable record: %v", err)
		}
	})
}
