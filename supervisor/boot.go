package supervisor

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctr-unit/ctr-unit/units"
)

// startsAtBoot decides whether a container comes up at boot by its
// restart policy, as podman's podman-restart.service and docker's daemon
// do: always does; unless-stopped does unless the user stopped it. An
// instance of ctr@.service is left to systemd: `systemctl enable` is how
// it comes up at boot.
func startsAtBoot(cfg *Config, st State) bool {
	if units.IsTemplateInstance(cfg.Unit) {
		return false
	}
	switch cfg.Restart.Name {
	case PolicyAlways:
		return true
	case PolicyUnlessStopped:
		return !st.StoppedByUser
	}
	return false
}

// StartAtBoot starts every container whose restart policy asks to be
// running after a reboot (ctr-unit-restart.service runs it at boot). It
// starts all it can and reports, by name, those that failed.
func (s *Supervisor) StartAtBoot(ctx context.Context) (started []string, err error) {
	if err := s.refreshBoot(); err != nil {
		return nil, err
	}
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, name := range names {
		cfg, err := s.store.Config(name)
		if errors.Is(err, ErrNoSuchContainer) {
			continue
		}
		st, serr := s.store.State(name)
		if err = errors.Join(err, serr); err != nil {
			errs = append(errs, err)
			continue
		}
		if !startsAtBoot(cfg, st) {
			continue
		}
		if err := s.Start(ctx, name, StartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("start %s at boot: %w", name, err))
			continue
		}
		started = append(started, name)
	}
	return started, errors.Join(errs...)
}
