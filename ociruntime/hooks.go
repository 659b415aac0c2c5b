package ociruntime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hook directories podman reads, in rising precedence: a file of
// /etc's masks one of the same name in /usr/share's.
var DefaultHookDirs = []string{"/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"}

// Hook stages: the OCI runtime's, and podman's precreate, which runs
// before the runtime sees the spec and may rewrite it.
const (
	StagePrecreate       = "precreate"
	StagePrestart        = "prestart"
	StageCreateRuntime   = "createRuntime"
	StageCreateContainer = "createContainer"
	StageStartContainer  = "startContainer"
	StagePoststart       = "poststart"
	StagePoststop        = "poststop"
)

var hookStages = []string{StagePrecreate, StagePrestart, StageCreateRuntime, StageCreateContainer, StageStartContainer, StagePoststart, StagePoststop}

// HookFile is one oci-hooks(5) file (version 1.0.0).
type HookFile struct {
	Path    string     `json:"-"`
	Version string     `json:"version"`
	Hook    specs.Hook `json:"hook"`
	When    HookWhen   `json:"when"`
	Stages  []string   `json:"stages"`
}

// HookWhen are a hook's conditions: every one given must hold.
type HookWhen struct {
	Always        *bool             `json:"always,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Commands      []string          `json:"commands,omitempty"`
	HasBindMounts *bool             `json:"hasBindMounts,omitempty"`
}

// ReadHooks reads the hook files of dirs (later ones masking earlier
// ones' files of the same name), sorted by file name. A file that cannot
// be read or is malformed is left out and reported in problems, naming
// it: it must not keep a container from starting.
func ReadHooks(dirs []string) (hooks []HookFile, problems []error) {
	byName := map[string]string{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				problems = append(problems, fmt.Errorf("hooks directory %s: %w", dir, err))
			}
			continue
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
				byName[e.Name()] = filepath.Join(dir, e.Name())
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h, err := readHook(byName[n])
		if err != nil {
			problems = append(problems, err)
			continue
		}
		hooks = append(hooks, h)
	}
	return hooks, problems
}

func readHook(path string) (HookFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return HookFile{}, fmt.Errorf("hook %s: %w", path, err)
	}
	h := HookFile{Path: path}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return HookFile{}, fmt.Errorf("hook %s: not an oci-hooks(5) file: %w", path, err)
	}
	var probs []string
	if h.Version != "1.0.0" {
		probs = append(probs, fmt.Sprintf("version %q (want 1.0.0)", h.Version))
	}
	if !filepath.IsAbs(h.Hook.Path) {
		probs = append(probs, fmt.Sprintf("hook.path %q must be absolute", h.Hook.Path))
	}
	if len(h.Stages) == 0 {
		probs = append(probs, "no stages")
	}
	for _, st := range h.Stages {
		if !slices.Contains(hookStages, st) {
			probs = append(probs, fmt.Sprintf("unknown stage %q", st))
		}
	}
	for k, v := range h.When.Annotations {
		for _, re := range []string{k, v} {
			if _, err := regexp.Compile(re); err != nil {
				probs = append(probs, fmt.Sprintf("when.annotations: %v", err))
			}
		}
	}
	for _, c := range h.When.Commands {
		if _, err := regexp.Compile(c); err != nil {
			probs = append(probs, fmt.Sprintf("when.commands: %v", err))
		}
	}
	if h.When.Always == nil && h.When.Annotations == nil && h.When.Commands == nil && h.When.HasBindMounts == nil {
		probs = append(probs, "when has no condition")
	}
	if len(probs) > 0 {
		return HookFile{}, fmt.Errorf("hook %s: %s", path, strings.Join(probs, "; "))
	}
	return h, nil
}

// Matches reports whether the hook applies to spec: each condition it
// gives holds (always; an annotation matching each key and value pattern;
// the command matching a pattern; bind mounts).
func (h HookFile) Matches(spec *specs.Spec) bool {
	w := h.When
	if w.Always != nil && !*w.Always {
		return false
	}
	for kre, vre := range w.Annotations {
		k, v := regexp.MustCompile(kre), regexp.MustCompile(vre)
		found := false
		for ak, av := range spec.Annotations {
			if k.MatchString(ak) && v.MatchString(av) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	if w.Commands != nil {
		var cmd string
		if spec.Process != nil && len(spec.Process.Args) > 0 {
			cmd = spec.Process.Args[0]
		}
		if !slices.ContainsFunc(w.Commands, func(re string) bool { return regexp.MustCompile(re).MatchString(cmd) }) {
			return false
		}
	}
	if w.HasBindMounts != nil {
		has := slices.ContainsFunc(spec.Mounts, func(m specs.Mount) bool {
			return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		})
		if has != *w.HasBindMounts {
			return false
		}
	}
	return true
}

// StageHooks are the hooks of each stage that apply to a spec, in file
// name order.
type StageHooks map[string][]specs.Hook

// Select picks the hooks that apply to spec.
func Select(hooks []HookFile, spec *specs.Spec) StageHooks {
	out := StageHooks{}
	for _, h := range hooks {
		if !h.Matches(spec) {
			continue
		}
		for _, st := range h.Stages {
			out[st] = append(out[st], h.Hook)
		}
	}
	return out
}

// ApplyHooks puts the hooks runc runs as it creates a container into
// spec. The others are the caller's: runc has no precreate; it runs
// poststart in runc start, which the start step does without (see
// Runc.StartCreated), and poststop in runc delete, which a stop does not
// always come to. The unit's steps run those (WriteStageHooks).
func (sh StageHooks) ApplyHooks(spec *specs.Spec) {
	if len(sh[StagePrestart])+len(sh[StageCreateRuntime])+len(sh[StageCreateContainer])+len(sh[StageStartContainer]) == 0 {
		return
	}
	spec.Hooks = &specs.Hooks{
		Prestart:        sh[StagePrestart], //nolint:staticcheck // podman runs it still
		CreateRuntime:   sh[StageCreateRuntime],
		CreateContainer: sh[StageCreateContainer],
		StartContainer:  sh[StageStartContainer],
	}
}

// RunPrecreate runs podman's precreate hooks in turn: each reads the spec
// on its standard input and writes the spec to use on its output.
func RunPrecreate(ctx context.Context, hooks []specs.Hook, spec *specs.Spec) (*specs.Spec, error) {
	for _, h := range hooks {
		in, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		out, err := RunHook(ctx, h, in)
		if err != nil {
			return nil, fmt.Errorf("precreate hook %s: %w", h.Path, err)
		}
		var next specs.Spec
		if err := json.Unmarshal(out, &next); err != nil {
			return nil, fmt.Errorf("precreate hook %s wrote no spec: %w", h.Path, err)
		}
		spec = &next
	}
	return spec, nil
}

// RunHook runs one hook with in on its standard input, within its timeout,
// and returns what it wrote to its standard output.
func RunHook(ctx context.Context, h specs.Hook, in []byte) ([]byte, error) {
	if h.Timeout != nil && *h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// stageFile is where a bundle keeps the hooks of a stage the unit's steps
// run: poststart (the start step, once the container's process runs) and
// poststop (the stop step, however the container ended).
func stageFile(bundle, stage string) string { return filepath.Join(bundle, stage+"-hooks.json") }

// WriteStageHooks keeps the poststart and poststop hooks of sh for the
// unit's steps.
func WriteStageHooks(bundle string, sh StageHooks) error {
	for _, st := range []string{StagePoststart, StagePoststop} {
		if err := writeStage(bundle, st, sh[st]); err != nil {
			return err
		}
	}
	return nil
}

func writeStage(bundle, stage string, hooks []specs.Hook) error {
	path := stageFile(bundle, stage)
	if len(hooks) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	data, err := json.Marshal(hooks)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// HasStageHooks reports whether the bundle keeps hooks of stage.
func HasStageHooks(bundle, stage string) bool {
	_, err := os.Stat(stageFile(bundle, stage))
	return err == nil
}

// RunStageHooks runs the hooks of stage a bundle keeps, each with the
// container's state on its input, as the OCI runtime would (pid 0 once
// stopped). A hook that fails is reported; the others run all the same.
func RunStageHooks(ctx context.Context, bundle, id, stage string, pid int) error {
	data, err := os.ReadFile(stageFile(bundle, stage))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s hooks: %w", stage, err)
	}
	var hooks []specs.Hook
	if err := json.Unmarshal(data, &hooks); err != nil {
		return fmt.Errorf("%s hooks: %w", stage, err)
	}
	status := specs.StateRunning
	if stage == StagePoststop {
		status = specs.StateStopped
	}
	state := specs.State{Version: specs.Version, ID: id, Status: status, Pid: pid, Bundle: bundle}
	if spec, err := os.ReadFile(filepath.Join(bundle, "config.json")); err == nil {
		var s struct {
			Annotations map[string]string `json:"annotations"`
		}
		if json.Unmarshal(spec, &s) == nil {
			state.Annotations = s.Annotations
		}
	}
	in, err := json.Marshal(state)
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hooks {
		if _, err := RunHook(ctx, h, in); err != nil {
			errs = append(errs, fmt.Errorf("%s hook %s: %w", stage, h.Path, err))
		}
	}
	return errors.Join(errs...)
}
