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

	"golang.org/x/sys/unix"

	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/jsonfile"
	"github.com/ctr-unit/ctr-unit/units"
)

// containerKeys are the keys of a definition's [Container] section, with
// the Health* keys of filehealth.go.
var containerKeys = func() map[string]bool {
	keys := map[string]bool{
		"Rootfs": true, "Image": true, "Exec": true, "Entrypoint": true, "Environment": true, "WorkingDir": true,
		"Hostname": true, "Network": true, "Restart": true, "StopSignal": true, "StopTimeout": true,
		"Memory": true, "CPUs": true, "PidsLimit": true, "Requires": true, "WaitNetwork": true,
	}
	for _, k := range healthKeys {
		keys[k.key] = true
	}
	for _, k := range mountKeys {
		keys[k] = true
	}
	return keys
}()

// imageLookup fills a definition's options from its image, as create does
// (Supervisor.imageDefaults); nil where images cannot be read.
type imageLookup func(CreateOptions) (CreateOptions, error)

// reservedService are [Service] settings ctr-unit itself must own for the
// container to run as designed (see units.Service).
var reservedService = map[string]bool{
	"Type": true, "ExecStart": true, "ExecStartPre": true, "ExecStartPost": true, "ExecStopPost": true,
	"Delegate": true, "KillMode": true, "NotifyAccess": true, "GuessMainPID": true, "Slice": true, "PIDFile": true,
}

// configFromFile turns a definition into a container's config. It checks
// every key and returns every problem (definition.Problems). With checkFS
// it also checks that the rootfs exists, which a generator at early boot
// cannot. lookup resolves Image=; without it (the generator, which must
// not open the image store) an image definition's config has what its unit
// needs but not the image's command, environment and layer, which its
// record gets from syncDefinition.
func configFromFile(f *definition.File, checkFS bool, lookup imageLookup) (*Config, error) {
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
	img, hasImage := f.Get("Image")
	if hasImage {
		o.Image = img.Value
		if img.Value == "" {
			bad(img.Line, "Image= is empty")
		}
	}
	if e, ok := f.Get("Rootfs"); ok {
		o.Rootfs = e.Value
		switch {
		case hasImage:
			bad(e.Line, "give Rootfs= or Image=, not both")
		case !filepath.IsAbs(e.Value):
			bad(e.Line, "Rootfs=%s must be an absolute path", e.Value)
		case checkFS:
			if info, err := os.Stat(e.Value); err != nil || !info.IsDir() {
				bad(e.Line, "Rootfs=%s is not a directory", e.Value)
			}
		}
	} else if !hasImage {
		bad(f.SectionLine, "[Container] needs Rootfs=DIR or Image=IMAGE")
	}
	ep, hasEntrypoint := f.Get("Entrypoint")
	if hasEntrypoint {
		argv, err := ParseEntrypoint(ep.Value)
		if err != nil {
			bad(ep.Line, "Entrypoint=: %v", err)
		}
		o.Entrypoint = argv
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
	} else if !hasImage && len(o.Entrypoint) == 0 {
		// With Image=, the image's command, as create IMAGE without one.
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
	probs = append(probs, mountsFromFile(f, &o, checkFS)...)
	health, healthProbs := healthFromFile(f)
	probs = append(probs, healthProbs...)
	o.Health = health
	imageCommand := false
	if hasImage && img.Value != "" {
		// The unit is generated before images can be read, so its stop
		// signal is the file's (or SIGTERM), never the image's: the
		// record and the unit must agree.
		if o.StopSignal == "" {
			o.StopSignal = unix.SignalName(DefaultStopSignal)
		}
		if lookup != nil {
			resolved, err := lookup(o)
			switch {
			case err != nil:
				bad(img.Line, "Image=%s: %s", img.Value, imageProblem(err))
			case len(resolved.Command) == 0:
				bad(img.Line, "image %s has no command: give Exec=COMMAND", img.Value)
			default:
				o = resolved
			}
		} else if len(o.Command) == 0 {
			imageCommand = true
			o.Command = []string{"(the image's command)"}
		}
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
	if imageCommand {
		cfg.Command = nil // unknown until the image is read
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

// imageProblem says what is wrong with a definition's image, in a file's
// terms.
func imageProblem(err error) string {
	if errors.Is(err, imagestore.ErrNoSuchImage) {
		return "no such image in the image store; load it first (ctr-unit image load -i ARCHIVE)"
	}
	return err.Error()
}

// definitions lists the definition files by container name.
func (s *Supervisor) definitions() (map[string]string, error) {
	return definition.Find(s.defDirs)
}

// loadDefinition parses and checks one definition file (see
// configFromFile for checkFS and lookup).
func loadDefinition(path string, checkFS bool, lookup imageLookup) (*definition.File, *Config, error) {
	f, err := definition.ParseFile(path)
	var parseProbs definition.Problems
	if err != nil && !errors.As(err, &parseProbs) {
		return f, nil, err
	}
	// The values of the good lines are checked even when others are
	// bad: every problem is reported at once.
	cfg, err := configFromFile(f, checkFS, lookup)
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
// create say so). An image container's existing record is brought up to
// date only as it starts (starting: its unit's prepare step), when nothing
// of it runs: its layer may change with the image.
func (s *Supervisor) syncDefinition(name string, starting bool) error {
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
	// First without the image store, which most commands need not open.
	_, cfg, err := loadDefinition(path, false, nil)
	if err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if recErr == nil && (rec.LayerID != "" || cfg.Image != "") && !starting {
		return nil
	}
	if cfg.Image != "" {
		if _, cfg, err = loadDefinition(path, false, s.imageDefaults); err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
	}
	if recErr != nil {
		rec = nil
	} else {
		cfg.CreatedAt = rec.CreatedAt
	}
	if cfg.Image != "" {
		return s.syncImageDefinition(cfg, rec)
	}
	if rec != nil {
		keepResolved(cfg, rec)
		if sameConfig(rec, cfg) {
			return nil
		}
	}
	// Named volumes (made if need be) and a user name, as create
	// resolves them.
	if err := s.setupRootfs(cfg, nil); err != nil {
		return err
	}
	if err := s.store.saveDefined(cfg); err != nil {
		return err
	}
	if rec != nil {
		return s.deleteRootfs(rec) // the file named an image before
	}
	return nil
}

func sameConfig(a, b *Config) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// syncImageDefinition gives a container defined with Image= its record and
// read-write layer, as create IMAGE does. The layer is kept while the image
// stays the same, so what the container wrote survives restarts as with
// create; another image gets a new layer and the old one is deleted.
func (s *Supervisor) syncImageDefinition(cfg, old *Config) error {
	if old != nil && old.LayerID != "" && old.ImageID == cfg.ImageID {
		// Same image: the layer is kept, and so is what was resolved
		// in it that the file still asks for (keepResolved).
		cfg.LayerID, cfg.StorageDriver = old.LayerID, old.StorageDriver
		keepResolved(cfg, old)
		if sameConfig(old, cfg) {
			return nil
		}
		// The file changed: new volumes, another user are resolved in
		// the layer, as create does.
		store, err := s.images(cfg.StorageDriver)
		if err != nil {
			return err
		}
		defer store.Close()
		if err := s.setupRootfs(cfg, store); err != nil {
			return err
		}
		return s.store.saveDefined(cfg)
	}
	undo, err := s.createRootfs(cfg)
	if err != nil {
		return err
	}
	if old == nil {
		// Create claims the name: of two commands syncing at once, one
		// makes the record and the other takes its layer back.
		if err := s.store.Create(cfg); err != nil {
			undo()
			if errors.Is(err, ErrNameInUse) {
				return nil
			}
			return err
		}
		return nil
	}
	if err := s.store.saveDefined(cfg); err != nil {
		undo()
		return err
	}
	return s.deleteRootfs(old)
}

// saveDefined writes the record of a container defined in a file, making
// its directory if needed: its name is the file's, nothing to claim.
func (s *Store) saveDefined(cfg *Config) error {
	if err := os.MkdirAll(s.path(cfg.Name), 0o700); err != nil {
		return fmt.Errorf("record container %s: %w", cfg.Name, err)
	}
	if err := jsonfile.WriteDurable(s.path(cfg.Name, configFile), cfg); err != nil {
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
		if err := s.syncDefinition(name, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks a definition file: its syntax, every key, the rootfs,
// and its dependencies (they exist, no cycle). It returns every problem.
func (s *Supervisor) Validate(path string) error {
	f, cfg, err := loadDefinition(path, true, s.imageDefaults)
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
