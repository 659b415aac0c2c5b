package supervisor

import (
	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/events"
)

// event records what happened to a container in the journal (package
// events). An event that cannot be written is lost, not the command.
func (s *Supervisor) event(cfg *container.Config, status string, extra ...func(*events.Event)) {
	if s.eventSocket == "" {
		return
	}
	ev := events.Event{Status: status, Name: cfg.Name, Unit: cfg.Unit, Image: cfg.Image}
	for _, f := range extra {
		f(&ev)
	}
	_ = events.Write(s.eventSocket, ev)
}
