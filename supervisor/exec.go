package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/tty"
)

// ExecOptions describe a process to run in a running container.
type ExecOptions struct {
	Args []string
	// Env is added to the container's environment, replacing a variable
	// of the same name.
	Env     []string
	User    string
	WorkDir string
	// Privileged gives the process every capability ctr-unit has, and
	// lets it gain privileges.
	Privileged bool
	// Terminal gives the process a terminal, connected to Stdout (and
	// Stdin if set); Local is the caller's terminal, if any.
	Terminal bool
	Local    *os.File
	Detach   bool
	// Stdin is nil unless the caller passes its input (-i).
	Stdin          *os.File
	Stdout, Stderr *os.File
}

// Exec runs a process in a running container, in its namespaces and in
// the container's cgroup below its unit's (runc exec), so the unit's stop
// ends it too and stats count it. It returns the process's exit code; with
// Detach, the process's pid once it runs.
func (s *Supervisor) Exec(ctx context.Context, name string, o ExecOptions) (int, error) {
	info, _, err := s.current(ctx, name)
	if err != nil {
		return -1, err
	}
	if err := checkExec(name, info.Status); err != nil {
		return -1, err
	}
	runc, err := s.runc()
	if err != nil {
		return -1, err
	}
	p, err := s.execProcess(info.Config, o)
	if err != nil {
		return -1, err
	}
	scratch := s.dirs.Bundle(name)
	eio := ociruntime.ExecIO{Stdout: o.Stdout, Stderr: o.Stderr, Detach: o.Detach}
	if o.Stdin != nil {
		eio.Stdin = o.Stdin
	}
	if o.Detach {
		eio.Stdin, eio.Stdout, eio.Stderr = nil, nil, nil
		eio.PIDFile = filepath.Join(scratch, fmt.Sprintf("exec-%d.pid", os.Getpid()))
		defer os.Remove(eio.PIDFile)
	}
	var started func(context.Context) error
	var master *os.File
	session := make(chan error, 1)
	if o.Terminal {
		sock, err := tty.Listen(scratch)
		if err != nil {
			return -1, err
		}
		defer sock.Close()
		eio.ConsoleSocket = sock.Path
		// The process's input and output go over the terminal: runc's own
		// stdio carries nothing but its errors.
		eio.Stdin, eio.Stdout = nil, nil
		started = func(ctx context.Context) error {
			m, err := sock.Receive(ctx)
			if err != nil {
				return err
			}
			if o.Detach {
				return m.Close()
			}
			master = m
			go func() {
				sess := tty.Session{Master: m, In: o.Stdin, Out: o.Stdout, Local: o.Local}
				session <- sess.Run()
			}()
			return nil
		}
	}
	code, err := runc.Exec(ctx, name, p, scratch, eio, started)
	if master != nil {
		// What the process wrote last is still to be read; a process
		// it left in the background must not keep this command.
		select {
		case err := <-session:
			session <- err
		case <-time.After(time.Second):
		}
		master.Close()
		<-session
	}
	if err != nil {
		return -1, fmt.Errorf("container %s: %w", name, err)
	}
	if o.Detach {
		data, _ := os.ReadFile(eio.PIDFile)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return pid, nil
	}
	return code, nil
}

// execProcess is the process to run: the container's own (its
// environment, user, capabilities) with what o changes.
func (s *Supervisor) execProcess(cfg *container.Config, o ExecOptions) (*specs.Process, error) {
	data, err := os.ReadFile(filepath.Join(s.dirs.Bundle(cfg.Name), "config.json"))
	if err != nil {
		return nil, fmt.Errorf("container %s: read its bundle: %w", cfg.Name, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil || spec.Process == nil {
		return nil, fmt.Errorf("container %s: read its bundle: %v", cfg.Name, err)
	}
	p := *spec.Process
	p.Args = o.Args
	p.Terminal = o.Terminal
	p.Env = mergeEnv(p.Env, o.Env)
	if o.Terminal && !slices.ContainsFunc(p.Env, func(e string) bool { return strings.HasPrefix(e, "TERM=") }) {
		p.Env = append(p.Env, "TERM=xterm")
	}
	if o.WorkDir != "" {
		p.Cwd = o.WorkDir
	}
	if o.User != "" {
		uid, gid, ok := container.NumericUser(o.User)
		if !ok {
			pid, _, alive := s.runningInit(cfg.Name)
			if !alive {
				return nil, fmt.Errorf("%w: %s", ErrNotRunning, cfg.Name)
			}
			if uid, gid, err = rootfs.LookupUser(fmt.Sprintf("/proc/%d/root", pid), o.User); err != nil {
				return nil, fmt.Errorf("%w: container %s: %w", container.ErrInvalid, cfg.Name, err)
			}
		}
		p.User = specs.User{UID: uid, GID: gid}
	}
	if o.Privileged {
		caps := boundingCapabilities()
		p.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
		p.NoNewPrivileges = false
	}
	return &p, nil
}

// mergeEnv is env with extra set, each replacing its name's entry.
func mergeEnv(env, extra []string) []string {
	out := slices.Clone(env)
	for _, e := range extra {
		key, _, _ := strings.Cut(e, "=")
		out = slices.DeleteFunc(out, func(x string) bool { return strings.HasPrefix(x, key+"=") })
		out = append(out, e)
	}
	return out
}

// BoundingCapabilities are the capabilities this process may hand on: its
// bounding set, by name. A privileged process gets these (a capability
// ctr-unit lacks could not be given anyway).
func boundingCapabilities() []string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	var mask uint64
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	var out []string
	for _, c := range capability.ListKnown() {
		if mask&(1<<uint(c)) != 0 {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return out
}
