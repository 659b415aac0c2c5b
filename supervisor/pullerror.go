package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/smallfile"
)

// pullErrorDir holds, per container name, why the last run of a
// definition's pull unit failed. A definition whose image was never pulled
// has no record yet; this file is what ps and inspect show of it, as
// podman shows a container whose start failed.
const pullErrorDir = "pull-errors"

func (s *Supervisor) pullErrorPath(name string) string {
	return filepath.Join(s.dirs.StateDir, pullErrorDir, name)
}

// RecordPullError keeps why the pull unit of container name failed (the
// registry's message), for ps and inspect.
func (s *Supervisor) RecordPullError(name, msg string) error {
	p := s.pullErrorPath(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("container %s: record pull error: %w", name, err)
	}
	if err := renameio.WriteFile(p, []byte(strings.TrimSpace(msg)+"\n"), 0o600); err != nil {
		return fmt.Errorf("container %s: record pull error: %w", name, err)
	}
	return nil
}

// ClearPullError forgets a pull failure once a pull succeeded.
func (s *Supervisor) ClearPullError(name string) error {
	if err := os.Remove(s.pullErrorPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container %s: clear pull error: %w", name, err)
	}
	return nil
}

// pullError reads why the last pull of container name's image failed,
// and when; "" if none did since a pull succeeded.
func (s *Supervisor) pullError(name string) (string, time.Time) {
	msg, at, err := smallfile.ReadWithModTime(s.pullErrorPath(name))
	if err != nil {
		return "", time.Time{}
	}
	return strings.TrimSpace(string(msg)), at
}

// pullFailed is what is known of a definition without a record whose
// pull failed: its definition, its unit's state and the pull's error as
// the exit's. ErrNoSuchContainer when there is no such failure (or no
// longer a definition).
func (s *Supervisor) pullFailed(ctx context.Context, name string) (*Info, error) {
	p := s.pullErrorPath(name)
	msg, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", container.ErrNoSuchContainer, name)
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: read pull error: %w", name, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("container %s: read pull error: %w", name, err)
	}
	cfg, err := s.Definition(name)
	if err != nil {
		return nil, err
	}
	systemd, err := s.sd(ctx)
	if err != nil {
		return nil, err
	}
	unit, err := systemd.Status(ctx, cfg.Unit)
	if err != nil {
		return nil, err
	}
	// Image pull failures are create failures: podman's 125.
	ex := &container.Exit{ExitCode: 125, Error: strings.TrimSpace(string(msg)), FinishedAt: fi.ModTime()}
	return &Info{Config: cfg, Exit: ex, Unit: unit, Status: StatusExited}, nil
}

// pullFailedNames are the names with a recorded pull failure.
func (s *Supervisor) pullFailedNames() []string {
	ents, err := os.ReadDir(filepath.Join(s.dirs.StateDir, pullErrorDir))
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}
