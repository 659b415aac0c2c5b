package unitstep

import (
	"errors"
	"io/fs"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/jsonfile"
)

// ExitRuntimeError is the exit code podman and docker give a container
// that has no process status: it never ran.
const ExitRuntimeError = 125

// Exit is how the container's last run ended, written by the unit's
// stop step every time the container stops, whoever stopped it.
type Exit struct {
	ExitCode int    `json:"ExitCode"`
	Result   string `json:"Result,omitempty"`
	// Error is why the container's process could not be started (the
	// runtime's message), as podman's State.Error.
	Error string `json:"Error,omitempty"`
	// StartedAt is when the run that ended began: when runc created its
	// init (zero if it never got that far, and in records of older
	// versions).
	StartedAt  time.Time `json:"StartedAt,omitzero"`
	FinishedAt time.Time `json:"FinishedAt"`
	// OOMKilled: the kernel's OOM killer killed a process of the
	// container during this run.
	OOMKilled bool `json:"OOMKilled,omitempty"`
}

// ExitFromEnv reads how the main process ended from the variables systemd
// gives ExecStopPost. A process killed by a signal has exit code
// 128+signal, as in docker and podman.
func ExitFromEnv(getenv func(string) string, now time.Time) Exit {
	ex := Exit{Result: getenv("SERVICE_RESULT"), FinishedAt: now}
	status := getenv("EXIT_STATUS")
	switch getenv("EXIT_CODE") {
	case "exited":
		ex.ExitCode, _ = strconv.Atoi(status)
	case "killed", "dumped":
		// systemd names the signal without its SIG prefix.
		if sig := unix.SignalNum("SIG" + status); sig != 0 {
			ex.ExitCode = 128 + int(sig)
		} else {
			ex.ExitCode = ExitRuntimeError
		}
	default:
		// The container never ran (runc failed before its init started).
		if ex.Result != "success" {
			ex.ExitCode = ExitRuntimeError
		}
	}
	return ex
}

// SaveExit writes an exit record. It is not flushed to disk: it is on the
// path of every stop, and a flush costs milliseconds on an idle disk.
func SaveExit(path string, ex Exit) error {
	return jsonfile.WriteVolatile(path, ex)
}

// ReadExit reads an exit record; nil if there is none.
func ReadExit(path string) (*Exit, error) {
	var ex Exit
	if err := jsonfile.ReadVolatile(path, &ex); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	return &ex, nil
}
