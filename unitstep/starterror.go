package unitstep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"

	"github.com/ctr-unit/ctr-unit/jsonfile"
	"github.com/ctr-unit/ctr-unit/ociruntime"
)

// AnnotationWorkDirMustExist marks the spec of a container whose working
// directory the user gave: the start step fails when it is missing, as
// podman does, rather than let runc make it (an image's is made).
const AnnotationWorkDirMustExist = "io.ctr-unit.workdir-must-exist"

// RuntimeError is why a container's process could not be started: runc
// create failed (a missing or non-executable command, ...), or its working
// directory is missing. Its exit code is podman's for the case: 127 when
// something was not found, 126 otherwise. The start step records it for
// the stop step, which puts it in the exit record.
type RuntimeError struct {
	Container string `json:"-"`
	ExitCode  int    `json:"ExitCode"`
	Msg       string `json:"Error"`
	// Printed: runc wrote the message to the step's output already.
	Printed bool `json:"-"`
}

func (e *RuntimeError) Error() string { return fmt.Sprintf("container %s: %s", e.Container, e.Msg) }

// runtimeExitCode classifies runc's message as podman's define.ExitCode
// does.
func runtimeExitCode(msg string) int {
	if code := ociruntime.ExitCodeOf(msg); code != 0 {
		return code
	}
	// podman's reading of any other failure to start the process.
	return ociruntime.ExitCannotInvoke
}

// recordStartError keeps e for the stop step and returns it.
func (s Steps) recordStartError(e *RuntimeError) error {
	if err := jsonfile.WriteVolatile(s.Dirs.StartErrorFile(e.Container), e); err != nil {
		return errors.Join(e, fmt.Errorf("record why container %s did not start: %w", e.Container, err))
	}
	return e
}

// takeStartError reads and removes what the start step recorded; nil if
// nothing.
func takeStartError(path string) *RuntimeError {
	var e RuntimeError
	err := jsonfile.ReadVolatile(path, &e)
	_ = os.Remove(path)
	if err != nil || e.ExitCode == 0 {
		return nil
	}
	return &e
}

// specView is what the start step reads of a container's OCI spec.
type specView struct {
	Root *struct {
		Path string `json:"path"`
	} `json:"root"`
	Process *struct {
		Cwd string `json:"cwd"`
	} `json:"process"`
	Mounts []struct {
		Destination string `json:"destination"`
	} `json:"mounts"`
	Annotations map[string]string `json:"annotations"`
}

// checkWorkDir fails the start of a container whose working directory,
// given by the user, is missing from its root file system, as podman's
// does (workdir "DIR" does not exist on container). As in podman, a mount
// at or below the directory excuses it: runc makes the mount point's
// parents.
func checkWorkDir(name, bundle string) *RuntimeError {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil // runc says what is wrong with the bundle
	}
	var spec specView
	if json.Unmarshal(data, &spec) != nil || spec.Annotations[AnnotationWorkDirMustExist] != "true" || spec.Root == nil || spec.Process == nil {
		return nil
	}
	cwd := filepath.Clean(spec.Process.Cwd)
	if cwd == "/" {
		return nil
	}
	for _, m := range spec.Mounts {
		if d := filepath.Clean(m.Destination); d == cwd || strings.HasPrefix(d, cwd+"/") {
			return nil
		}
	}
	root := spec.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(bundle, root)
	}
	path, err := securejoin.SecureJoin(root, cwd)
	if err != nil {
		return nil
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &RuntimeError{Container: name, ExitCode: ociruntime.ExitCannotInvoke, Msg: fmt.Sprintf("workdir %q does not exist on container %s", spec.Process.Cwd, name)}
	case err == nil && !info.IsDir():
		return &RuntimeError{Container: name, ExitCode: ociruntime.ExitCannotInvoke, Msg: fmt.Sprintf("workdir %q exists on container %s, but is not a directory", spec.Process.Cwd, name)}
	}
	return nil
}
