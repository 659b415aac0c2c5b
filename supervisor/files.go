package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/units"
)

// containerKeys are the keys of a definition's [Container] section. The
// Health* keys are read but not acted on yet.
var containerKeys = map[string]bool{
	"Rootfs": true, "Image": true, "Exec": true, "Environment": true, "WorkingDir": true,
	"Hostname": true, "Network": true, "Restart": true, "StopSignal": true, "StopTimeout": true,
	"Memory": true, "CPUs": true, "PidsLimit": true, "Requires": true, "WaitNetwork": true,
	"HealthCmd": true, "HealthInterval": true, "HealthTimeout": true, "HealthRetries": true,
	"HealthStartPeriod": true, "HealthOnFailure": true,
}

// reservedService are [Service] settings ctr-unit itself must own for the
// container to run as designed (see units.Service).
var reservedService = map[string]bool{
	"Type": true, "ExecStart": true, "ExecStartPre": true, "ExecStartPost": true, "ExecStopPost": true,
	"Delegate": true, "KillMode": true, "NotifyAccess": true, "GuessMainPID": true, "Slice": true, "PIDFile": true,
}

// configFromFile turns a definition into a container's config. It checks
// every key and returns every problem (definition.Problems). With checkFS
// it also checks that the rootfs exists, which a generator at early boot
// cannot.
func configFromFile(f *definition.File, checkFS bool) (*Config, error) {
	var probs definition.Problems
	bad := func(line int, format string, args ...any) {
		probs = append(probs, definition.Problem{File: f.Path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	if err := units.ValidateName(f.Name); err != nil {
		bad(0, "%v (the container's name is the file's name)", err)
	}
	for _, e := range f.Container {
		if !containerKeys[e.Key] {
			bad(e.Line, "unknown key %s in [Container]", e.Key)
		}
	}
	for i, o := range f.Pass {
		if o.Section == "Service" && reservedService[o.Name] {
			bad(f.PassLines[i], "[Service] %s= is set by ctr-unit and cannot be changed", o.Name)
		}
	}
	o := CreateOptions{Name: f.Name}
	if e, ok := f.Get("Image"); ok {
		bad(e.Line, "Image= is not supported for definition files yet; use Rootfs=DIR")
	}
	if e, ok := f.Get("Rootfs"); ok {
		o.Rootfs = e.Value
		switch {
		case !filepath.IsAbs(e.Value):
			bad(e.Line, "Rootfs=%s must be an absolute path", e.Value)
		case checkFS:
			if info, err := os.Stat(e.Value); err != nil || !info.IsDir() {
				bad(e.Line, "Rootfs=%s is not a directory", e.Value)
			}
		}
	} else if _, img := f.Get("Image"); !img {
		bad(f.SectionLine, "[Container] needs Rootfs=DIR")
	}
	if e, ok := f.Get("Exec"); ok {
		words, err := definition.SplitWords(e.Value)
		switch {
		case err != nil:
			bad(e.Line, "Exec=: %v", err)
		case len(words) == 0:
			bad(e.Line, "Exec= is empty")
		}
		o.Command = words
	} else {
		bad(f.SectionLine, "[Container] needs Exec=COMMAND")
	}
	for _, e := range f.All("Environment") {
		words, err := definition.SplitWords(e.Value)
		if err != nil {
			bad(e.Line, "Environment=: %v", err)
		}
		for _, w := range words {
			if k, _, ok := strings.Cut(w, "="); !ok || k == "" {
				bad(e.Line, "Environment=: %q is not KEY=VALUE", w)
			}
		}
		o.Env = append(o.Env, words...)
	}
	if e, ok := f.Get("WorkingDir"); ok {
		o.WorkDir = e.Value
		if !filepath.IsAbs(e.Value) {
			bad(e.Line, "WorkingDir=%s must be an absolute path", e.Value)
		}
	}
	if e, ok := f.Get("Hostname"); ok {
		o.Hostname = e.Value
	}
	if e, ok := f.Get("Network"); ok {
		o.Network = e.Value
		if e.Value != NetworkHost && e.Value != NetworkNone {
			bad(e.Line, "Network=%s: use host or none", e.Value)
		}
	}
	if e, ok := f.Get("Restart"); ok {
		o.Restart = e.Value
		if _, err := ParseRestartPolicy(e.Value); err != nil {
			bad(e.Line, "Restart=: %v", err)
		}
	}
	if e, ok := f.Get("StopSignal"); ok {
		o.StopSignal = e.Value
		if _, err := units.SignalNumber(e.Value); err != nil {
			bad(e.Line, "StopSignal=: %v", err)
		}
	}
	if e, ok := f.Get("StopTimeout"); ok {
		if secs, err := parseSeconds(e.Value); err != nil {
			bad(e.Line, "StopTimeout=%s: %v", e.Value, err)
		} else {
			o.StopTimeout = &secs
		}
	}
	if e, ok := f.Get("Memory"); ok {
		n, err := parseBytes(e.Value)
		if err != nil {
			bad(e.Line, "Memory=%s: %v", e.Value, err)
		}
		o.MemoryMax = n
	}
	if e, ok := f.Get("CPUs"); ok {
		cpus, err := strconv.ParseFloat(e.Value, 64)
		if err != nil || cpus <= 0 {
			bad(e.Line, "CPUs=%s: want a number of CPUs above 0, such as 1.5", e.Value)
		}
		o.CPUQuotaUSec = uint64(cpus * 1e6)
	}
	if e, ok := f.Get("PidsLimit"); ok {
		n, err := strconv.ParseUint(e.Value, 10, 64)
		if err != nil || n == 0 {
			bad(e.Line, "PidsLimit=%s: want a whole number above 0", e.Value)
		}
		o.PidsLimit = n
	}
	for _, e := range f.All("Requires") {
		for _, dep := range strings.Fields(e.Value) {
			if err := units.ValidateName(dep); err != nil {
				bad(e.Line, "Requires=: %v", err)
			} else if dep == f.Name {
				bad(e.Line, "Requires=%s: a container cannot require itself", dep)
			}
			o.Requires = append(o.Requires, dep)
		}
	}
	if e, ok := f.Get("WaitNetwork"); ok {
		wait, err := parseBool(e.Value)
		if err != nil {
			bad(e.Line, "WaitNetwork=%s: %v", e.Value, err)
		}
		o.NoNetworkWait = !wait
	}
	if len(probs) > 0 {
		return nil, probs
	}
	created := time.Now()
	if info, err := os.Stat(f.Path); err == nil {
		created = info.ModTime()
	}
	cfg, err := newConfig(o, created)
	if err != nil {
		return nil, definition.Problems{{File: f.Path, Line: f.SectionLine, Msg: err.Error()}}
	}
	cfg.Unit = units.TemplateInstance(f.Name)
	cfg.Source = f.Path
	for _, p := range f.Pass {
		if p.Section != "Install" {
			cfg.Extra = append(cfg.Extra, UnitSetting{Section: p.Section, Name: p.Name, Value: p.Value})
		}
	}
	return cfg, nil
}

// parseSeconds reads a stop timeout: whole seconds, or a Go duration.
func parseSeconds(s string) (uint, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want whole seconds or a duration such as 30s")
	}
	return uint(d / time.Second), nil
}

// parseBytes reads a size with an optional binary suffix (K, M, G, T).
func parseBytes(s string) (uint64, error) {
	mult := uint64(1)
	num := strings.TrimSuffix(strings.ToUpper(s), "B")
	if n := len(num); n > 0 {
		if i := strings.IndexByte("KMGT", num[n-1]); i >= 0 {
			mult = 1 << (10 * (i + 1))
			num = num[:n-1]
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 {
		return 0, errors.New("want a size such as 512M or 2G")
	}
	return n * mult, nil
}

// parseBool reads systemd's boolean spellings.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, nil
	case "0", "no", "n", "false", "f", "off":
		return false, nil
	}
	return false, errors.New("want yes or no")
}

// definitions lists the definition files by container name.
func (s *Supervisor) definitions() (map[string]string, error) {
	return definition.Find(s.defDirs)
}

// loadDefinition parses and checks one definition file.
func loadDefinition(path string, checkFS bool) (*definition.File, *Config, error) {
	f, err := definition.ParseFile(path)
	var parseProbs definition.Problems
	if err != nil && !errors.As(err, &parseProbs) {
		return f, nil, err
	}
	// The values of the good lines are checked even when others are
	// bad: every problem is reported at once.
	cfg, err := configFromFile(f, checkFS)
	var probs definition.Problems
	if err != nil && !errors.As(err, &probs) {
		return f, nil, err
	}
	if all := parseProbs.Merge(probs); len(all) > 0 {
		return f, nil, all
	}
	return f, cfg, nil
}

// syncDefinition brings the record of a container defined in a file up to
// date with the file, creating it if needed: the file owns the
// definition, the record keeps its state. A container made with ctr-unit
// create keeps its name; a file of the same name is ignored (validate and
// create say so).
func (s *Supervisor) syncDefinition(name string) error {
	defs, err := s.definitions()
	if err != nil {
		return err
	}
	path, ok := defs[name]
	if !ok {
		return nil
	}
	rec, recErr := s.store.Config(name)
	if recErr == nil && rec.Source == "" {
		return nil
	}
	_, cfg, err := loadDefinition(path, false)
	if err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if recErr == nil {
		cfg.CreatedAt = rec.CreatedAt
		a, _ := json.Marshal(rec)
		b, _ := json.Marshal(cfg)
		if bytes.Equal(a, b) {
			return nil
		}
	}
	return s.store.saveDefined(cfg)
}

// saveDefined writes the record of a container defined in a file, making
// its directory if needed: its name is the file's, nothing to claim.
func (s *Store) saveDefined(cfg *Config) error {
	if err := os.MkdirAll(s.path(cfg.Name), 0o700); err != nil {
		return fmt.Errorf("record container %s: %w", cfg.Name, err)
	}
	if err := writeJSON(s.path(cfg.Name, configFile), cfg); err != nil {
		return fmt.Errorf("record container %s: %w", cfg.Name, err)
	}
	return nil
}

// syncDefinitions syncs every definition; a bad file is reported, the
// others are synced all the same.
func (s *Supervisor) syncDefinitions() error {
	defs, err := s.definitions()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range definition.Names(defs) {
		if err := s.syncDefinition(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks a definition file: its syntax, every key, the rootfs,
// and its dependencies (they exist, no cycle). It returns every problem.
func (s *Supervisor) Validate(path string) error {
	f, cfg, err := loadDefinition(path, true)
	if err != nil {
		return err
	}
	graph, err := s.dependencyGraph()
	if err != nil {
		return err
	}
	graph[cfg.Name] = cfg.Requires
	var probs definition.Problems
	line := f.SectionLine
	if reqs := f.All("Requires"); len(reqs) > 0 {
		line = reqs[len(reqs)-1].Line
	}
	for _, dep := range cfg.Requires {
		if _, ok := graph[dep]; !ok {
			probs = append(probs, definition.Problem{File: path, Line: line, Msg: fmt.Sprintf("Requires=%s: no container %s exists or is defined", dep, dep)})
		}
	}
	if cycle := findCycle(graph, cfg.Name); cycle != nil {
		probs = append(probs, definition.Problem{File: path, Line: line, Msg: fmt.Sprintf("%v: %s", ErrDependencyCycle, strings.Join(cycle, " -> "))})
	}
	if rec, err := s.store.Config(cfg.Name); err == nil && rec.Source == "" {
		probs = append(probs, definition.Problem{File: path, Msg: fmt.Sprintf("container %s was made with ctr-unit create; this file is ignored until it is removed (ctr-unit rm %s)", cfg.Name, cfg.Name)})
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}
