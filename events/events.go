// Package events is ctr-unit's record of what happens to containers, kept
// in the journal: the one place that outlives every process and that
// systemd writes to as well. Whoever sees an event writes it as a
// structured entry (Write): the CLI (create, remove, pause, unpause), the
// unit's stop step (died, with the exit code, and oom), the check that
// changes a container's health (health_status). systemd's own messages
// about the containers' units give start, stop and restart, so a
// `systemctl stop` or a crash shows too. Reading them back (Parse) is the
// events command's; nothing stays resident to collect them.
//
// The package is lean: the unit's stop step links it.
package events

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// MessageID marks ctr-unit's own entries in the journal.
const MessageID = "6c1b5b0e2f4a4a67b3a5b1f0e4c2d7a9"

// systemd's message IDs (sd-messages.h) of the unit messages read as
// events.
const (
	systemdUnitStarted         = "39f53479d3a045ac8e11786248231fbf"
	systemdUnitStopping        = "de5b426a63be47a7b6ac3eaac82e2f6f"
	systemdUnitRestartSchedule = "5eb03494b6584870a536b337290809b3"
)

// Kinds of events, as podman names them.
const (
	Create       = "create"
	Start        = "start"
	Died         = "died"
	Stop         = "stop"
	Restart      = "restart"
	Pause        = "pause"
	Unpause      = "unpause"
	HealthStatus = "health_status"
	Remove       = "remove"
	OOM          = "oom"
)

// Event is one thing that happened to a container.
type Event struct {
	Time              time.Time `json:"time"`
	Type              string    `json:"Type"`
	Status            string    `json:"Status"`
	Name              string    `json:"Name"`
	Unit              string    `json:"Unit,omitempty"`
	Image             string    `json:"Image,omitempty"`
	ContainerExitCode *int      `json:"ContainerExitCode,omitempty"`
	Health            string    `json:"HealthStatus,omitempty"`
}

// JournalSocket is journald's native socket.
const JournalSocket = "/run/systemd/journal/socket"

// Write puts an event in the journal. unit names the container's unit:
// journalctl -u UNIT finds the entry (OBJECT_SYSTEMD_UNIT, which it trusts
// from root). A journal that cannot be reached loses the event, not the
// command: the caller reports the error as a warning at most.
func Write(socket string, ev Event) error {
	fields := []string{
		"MESSAGE_ID=" + MessageID,
		"MESSAGE=container " + ev.Name + ": " + ev.Status + detail(ev),
		// notice: a check unit keeps its logging to notice and above
		// (LogLevelMax=), and a container's events are worth one.
		"PRIORITY=5",
		"SYSLOG_IDENTIFIER=ctr-unit",
		"CTR_UNIT_EVENT=" + ev.Status,
		"CTR_UNIT_NAME=" + ev.Name,
	}
	if ev.Unit != "" {
		fields = append(fields, "OBJECT_SYSTEMD_UNIT="+ev.Unit, "CTR_UNIT_UNIT="+ev.Unit)
	}
	if ev.Image != "" {
		fields = append(fields, "CTR_UNIT_IMAGE="+oneLine(ev.Image))
	}
	if ev.ContainerExitCode != nil {
		fields = append(fields, "CTR_UNIT_EXIT_CODE="+strconv.Itoa(*ev.ContainerExitCode))
	}
	if ev.Health != "" {
		fields = append(fields, "CTR_UNIT_HEALTH="+oneLine(ev.Health))
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(fields, "\n") + "\n")); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

func detail(ev Event) string {
	switch {
	case ev.ContainerExitCode != nil:
		return fmt.Sprintf(" (exit code %d)", *ev.ContainerExitCode)
	case ev.Health != "":
		return " (" + ev.Health + ")"
	}
	return ""
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// JournalMatches are journalctl's matches for the entries Parse reads:
// one field, so journalctl ORs them.
func JournalMatches() []string {
	return []string{"MESSAGE_ID=" + MessageID, "MESSAGE_ID=" + systemdUnitStarted, "MESSAGE_ID=" + systemdUnitStopping, "MESSAGE_ID=" + systemdUnitRestartSchedule}
}

// Parse reads one journal entry (journalctl --output=json) as an event:
// ctr-unit's own, or systemd's about a container's unit. nameOf tells the
// container of a unit ("" if none); ok is false for any other entry.
func Parse(entry map[string]any, nameOf func(unit string) string) (Event, bool) {
	str := func(k string) string { v, _ := entry[k].(string); return v }
	var ev Event
	if us, err := strconv.ParseInt(str("__REALTIME_TIMESTAMP"), 10, 64); err == nil {
		ev.Time = time.UnixMicro(us)
	}
	ev.Type = "container"
	switch str("MESSAGE_ID") {
	case MessageID:
		// Anyone may log; only root's entries are ctr-unit's.
		if str("_UID") != "0" {
			return ev, false
		}
		ev.Status, ev.Name, ev.Unit = str("CTR_UNIT_EVENT"), str("CTR_UNIT_NAME"), str("CTR_UNIT_UNIT")
		ev.Image, ev.Health = str("CTR_UNIT_IMAGE"), str("CTR_UNIT_HEALTH")
		if c, err := strconv.Atoi(str("CTR_UNIT_EXIT_CODE")); err == nil {
			ev.ContainerExitCode = &c
		}
		return ev, ev.Status != "" && ev.Name != ""
	case systemdUnitStarted:
		ev.Status = Start
	case systemdUnitStopping:
		ev.Status = Stop
	case systemdUnitRestartSchedule:
		ev.Status = Restart
	default:
		return ev, false
	}
	// systemd's messages about a unit come from PID 1 with UNIT=.
	if str("_PID") != "1" {
		return ev, false
	}
	ev.Unit = str("UNIT")
	ev.Name = nameOf(ev.Unit)
	return ev, ev.Name != ""
}
