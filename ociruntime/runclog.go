package ociruntime

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
)

// Podman's exit codes for a process the runtime could not start.
const (
	ExitCannotInvoke = 126
	ExitNotFound     = 127
)

// ExitCodeOf gives runc's message about a process it could not start
// podman's exit code: ExitNotFound for a missing command, ExitCannotInvoke
// for one that cannot be run, 0 for a message that says neither. Both
// container starts and exec use it, so they cannot disagree.
func ExitCodeOf(msg string) int {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "not found"), strings.Contains(m, "no such file"), strings.Contains(m, "executable path is empty"):
		return ExitNotFound
	case strings.Contains(m, "permission denied"), strings.Contains(m, "exec format error"), strings.Contains(m, "is a directory"):
		return ExitCannotInvoke
	}
	return 0
}

// LogError is the last error runc logged to path (--log-format json); ""
// if none.
func LogError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &entry) == nil && (entry.Level == "error" || entry.Level == "fatal") {
			last = entry.Msg
		}
	}
	return last
}
