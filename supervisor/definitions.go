package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/rootfs"
	"github.com/ctr-unit/ctr-unit/units"
)

// Containers defined in NAME.container files: the file owns the
// definition, the record keeps the state.

func defaultDefinitionDirs() []string { return definition.DefaultDirs() }

// definitions lists the definition files by container name.
func (s *Supervisor) definitions() (map[string]string, error) {
	return definition.Find(s.defDirs)
}

// imageResolver resolves a definition's Image= as create resolves an
// IMAGE (Filesystem.ResolveImage); nil where images cannot be read.
type imageResolver func(container.Options) (container.Options, error)

// loadDefinition reads and checks one definition file with its drop-ins:
// its keys read through the settings table (File.Options), its unit's
// sections as quadlet hands them to its unit (File.UnitSettings), then
// the one gate (container.Build), every problem reported with its file
// and line. defs are the definition files (definition.Find), which
// dependencies on X.container may name. With checkFS it also checks what
// must exist on the host (the rootfs, bind sources, a rootfs's user
// names, the time zone), which a generator at early boot cannot. resolve
// reads Image=; without it (the generator, which must not open the image
// store) an image definition's config has what its unit needs but not
// the image's command, environment and layer, which its record gets from
// syncDefinition.
func (s *Supervisor) loadDefinition(path string, defs map[string]string, checkFS bool, resolve imageResolver) (*definition.File, *container.Config, error) {
	f, err := definition.Load(path, definition.DropInDirs(path, s.defDirs))
	var probs definition.Problems
	if err != nil && !errors.As(err, &probs) {
		return f, nil, err
	}
	cfg, err := configFromFile(f, probs, defs, checkFS, resolve)
	return f, cfg, err
}

// configFromFile is loadDefinition's part after the syntax, whose
// problems are probs.
func configFromFile(f *definition.File, probs definition.Problems, defs map[string]string, checkFS bool, resolve imageResolver) (*container.Config, error) {
	defined := func(name string) bool { _, ok := defs[name]; return ok }
	// The values of the good lines are checked even when others are
	// bad: every problem is reported at once.
	o, keyProbs := f.Options()
	probs = probs.Merge(keyProbs)
	extra, unitProbs := f.UnitSettings(defined)
	probs = probs.Merge(unitProbs)
	_, installProbs := f.InstallSettings(defined)
	probs = probs.Merge(installProbs)
	img, hasImage := f.Get(container.KeyImage)
	if hasImage && o.Image != "" {
		// The unit is generated before images can be read, so its stop
		// signal is the file's (or SIGTERM), never the image's: the
		// record and the unit must agree.
		if o.StopSignal == 0 {
			o.StopSignal = container.DefaultStopSignal
		}
		if resolve != nil {
			resolved, err := resolve(o)
			if err != nil {
				probs = append(probs, img.Problem("Image=%s: %s", img.Value, imageProblem(err)))
			} else {
				o = resolved
			}
		}
	}
	if checkFS && len(probs) == 0 {
		probs = append(probs, hostProblems(f, o)...)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	created := time.Now()
	if info, err := os.Stat(f.Path); err == nil {
		created = info.ModTime()
	}
	cfg, err := container.Build(o, created)
	if err != nil {
		return nil, f.Explain(err)
	}
	cfg.Unit = units.TemplateInstance(f.Name)
	cfg.Source = f.Path
	cfg.Extra = extra
	return cfg, nil
}

// hostProblems are what validate finds missing on the host: the rootfs,
// bind sources, a rootfs's user names (an image's are read only once its
// layer exists) and the time zone.
func hostProblems(f *definition.File, o container.Options) definition.Problems {
	var probs definition.Problems
	rootfsOK := false
	for _, v := range f.KeyValues(container.KeyRootfs) {
		info, err := os.Stat(o.Rootfs)
		rootfsOK = err == nil && info.IsDir()
		if !rootfsOK {
			probs = append(probs, v.Entry.Problem("Rootfs=%s is not a directory", v.Entry.Value))
		}
	}
	binds := func(key string, parse func(string) (container.Mount, error)) {
		for _, v := range f.KeyValues(key) {
			m, err := parse(v.Text)
			if err != nil || m.Type != container.MountBind {
				continue
			}
			if _, err := os.Stat(m.Source); err != nil {
				probs = append(probs, v.Entry.Problem("%s=%s: host path %s does not exist", v.Entry.Key, v.Entry.Value, m.Source))
			}
		}
	}
	binds(container.KeyVolume, func(s string) (container.Mount, error) { return container.ParseVolume(s, o.BaseDir) })
	binds(container.KeyMount, func(s string) (container.Mount, error) { return container.ParseMount(s, o.BaseDir) })
	if users := f.KeyValues(container.KeyUser); len(users) > 0 {
		user := users[len(users)-1].Entry
		if _, _, numeric := container.NumericUser(o.User); rootfsOK && !numeric {
			spec := o.User
			if o.Group != "" {
				spec += ":" + o.Group
			}
			if _, _, err := rootfs.LookupUser(o.Rootfs, spec); err != nil {
				probs = append(probs, user.Problem("User=%s: %s (in the rootfs %s)", spec, strings.TrimPrefix(err.Error(), fmt.Sprintf("user %q: ", spec)), o.Rootfs))
			}
		}
	}
	if tz := f.KeyValues(container.KeyTimezone); len(tz) > 0 && o.Timezone != "" {
		if err := checkTimezone(o.Timezone); err != nil {
			probs = append(probs, tz[0].Entry.Problem("Timezone=%s: %v", tz[0].Entry.Value, err))
		}
	}
	return probs
}

// Definition reads the definition of container name from its file, as
// the generator does (without the image store): what its pull unit pulls.
func (s *Supervisor) Definition(name string) (*container.Config, error) {
	defs, err := s.definitions()
	if err != nil {
		return nil, err
	}
	path, ok := defs[name]
	if !ok {
		return nil, fmt.Errorf("%w: no %s%s in %s", container.ErrNoSuchContainer, name, definition.Suffix, strings.Join(s.defDirs, ", "))
	}
	_, cfg, err := s.loadDefinition(path, defs, false, nil)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	return cfg, nil
}

// imageProblem says what is wrong with a definition's image, in a file's
// terms.
func imageProblem(err error) string {
	if errors.Is(err, imagestore.ErrNoSuchImage) {
		return "no such image in the image store; its unit's pull unit pulls it as it starts (systemctl start), or pull it (ctr-unit pull IMAGE) or load it (ctr-unit load -i ARCHIVE)"
	}
	return err.Error()
}

// syncDefinition brings the record of a container defined in a file up to
// date with the file, creating it if needed. A container made with
// ctr-unit create keeps its name; a file of the same name is ignored
// (validate and create say so). An image container's existing record is
// brought up to date only as it starts (starting: its unit's prepare
// step), when nothing of it runs: its layer may change with the image.
func (s *Supervisor) syncDefinition(name string, starting bool) error {
	defs, err := s.definitions()
	if err != nil {
		return err
	}
	path, ok := defs[name]
	if !ok {
		return nil
	}
	return s.syncDefinitionFile(name, path, defs, starting)
}

// sourceStamp is definition.Stamp of the file at path and its drop-ins,
// read by this ctr-unit. present is definition.DropInDirsIn, nil to read
// each drop-in directory: a stamp a record gets is read afresh.
func (s *Supervisor) sourceStamp(path string, present map[string]bool) string {
	return definition.Stamp(path, s.defDirs, present, s.binaryStamp())
}

// binaryStamp is definition.BinaryStamp of this ctr-unit, found once.
func (s *Supervisor) binaryStamp() string {
	if s.binStamp == "" {
		s.binStamp = definition.BinaryStamp(s.steps.Full)
	}
	return s.binStamp
}

// recordFresh returns container name's record if syncDefinitionFile (not
// starting) would leave it as it is without reading the file at path.
// present: see sourceStamp.
func (s *Supervisor) recordFresh(name, path string, present map[string]bool) (*container.Config, bool) {
	stamp := s.sourceStamp(path, present)
	rec, err := s.store.Config(name)
	return rec, err == nil && definition.Fresh(rec, path, stamp)
}

// syncDefinitionFile is syncDefinition of the file at path.
func (s *Supervisor) syncDefinitionFile(name, path string, defs map[string]string, starting bool) error {
	// Before the file is read: a write meanwhile leaves a stamp that is
	// already out of date, never a new file under an old stamp.
	stamp := s.sourceStamp(path, nil)
	rec, recErr := s.store.Config(name)
	if recErr == nil && rec.Source == "" {
		return nil
	}
	if recErr == nil && definition.Fresh(rec, path, stamp) && !(starting && rec.Image != "") {
		return nil // the file has not changed since it was read
	}
	// First without the image store, which most commands need not open.
	_, cfg, err := s.loadDefinition(path, defs, false, nil)
	if err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	if recErr == nil && (rec.LayerID != "" || cfg.Image != "") && !starting {
		return nil
	}
	if cfg.Image != "" {
		if _, cfg, err = s.loadDefinition(path, defs, false, s.fs.ResolveImage); err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
	}
	cfg.SourceStamp = stamp
	if recErr != nil {
		rec = nil
		cfg.ID = container.NewID()
	} else {
		cfg.CreatedAt, cfg.ID = rec.CreatedAt, rec.ID
		if units.IsLegacy(rec.Unit) {
			cfg.Unit = rec.Unit // until migrateUnits renames it
		}
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
	if err := s.fs.Prepare(cfg); err != nil {
		return err
	}
	if err := s.store.SaveDefined(cfg); err != nil {
		return err
	}
	if rec != nil {
		return s.fs.Delete(rec) // the file named an image before
	}
	return nil
}

func sameConfig(a, b *container.Config) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// syncImageDefinition gives a container defined with Image= its record and
// read-write layer, as create IMAGE does. The layer is kept while the image
// stays the same, so what the container wrote survives restarts as with
// create; another image gets a new layer and the old one is deleted.
func (s *Supervisor) syncImageDefinition(cfg, old *container.Config) error {
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
		if err := s.fs.Prepare(cfg); err != nil {
			return err
		}
		return s.store.SaveDefined(cfg)
	}
	undo, err := s.fs.Create(cfg)
	if err != nil {
		return err
	}
	// The record is written without a sync (the file makes it again);
	// the layer under it must not be lost.
	if err := s.fs.Sync(cfg); err != nil {
		undo()
		return err
	}
	if old == nil {
		// Create claims the name: of two commands syncing at once, one
		// makes the record and the other takes its layer back.
		if err := s.store.Create(cfg); err != nil {
			undo()
			if errors.Is(err, container.ErrNameInUse) {
				return nil
			}
			return err
		}
		return nil
	}
	if err := s.store.SaveDefined(cfg); err != nil {
		undo()
		return err
	}
	return s.fs.Delete(old)
}

// keepResolved gives cfg, a definition's fresh config, what syncing it
// resolved before and cfg still asks for: the IDs of the same user, the
// directories of the same named volumes. Then a file that did not change
// leaves its record as it is.
func keepResolved(cfg, old *container.Config) {
	if cfg.User == old.User {
		cfg.UID, cfg.GID = old.UID, old.GID
	}
	for i, m := range cfg.Mounts {
		if m.Type != container.MountVolume {
			continue
		}
		for _, was := range old.Mounts {
			if was.Type == container.MountVolume && was.Name == m.Name && was.Source != "" {
				cfg.Mounts[i].Source = was.Source
				break
			}
		}
	}
}

// syncDefinitions syncs the definitions of names, or every definition for
// nil; a bad file is reported, the others are synced all the same.
func (s *Supervisor) syncDefinitions(names []string) error {
	defs, err := s.definitions()
	if err != nil {
		return err
	}
	// A refresh of every file lists the drop-in directories that exist
	// once, for all of them.
	var present map[string]bool
	if names == nil {
		names = definition.Names(defs)
		if present, err = definition.DropInDirsIn(s.defDirs); err != nil {
			return err
		}
	}
	// Most records match their files: those are found on a few workers,
	// and only the others synced, one at a time, as they may write.
	s.binaryStamp() // found before the workers read it
	fresh := make([]*container.Config, len(names))
	eachParallel(len(names), func(i int) error {
		if path, ok := defs[names[i]]; ok {
			if rec, ok := s.recordFresh(names[i], path, present); ok {
				fresh[i] = rec
			}
		}
		return nil
	})
	s.keepRead(fresh)
	var errs []error
	for i, name := range names {
		if path, ok := defs[name]; ok && fresh[i] == nil {
			if err := s.syncDefinitionFile(name, path, defs, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Validate checks a definition file: its syntax, every key, the rootfs,
// and its dependencies (they exist, no cycle). It returns every problem.
func (s *Supervisor) Validate(path string) error {
	defs, err := s.definitions()
	if err != nil {
		return err
	}
	f, cfg, err := s.loadDefinition(path, defs, true, s.fs.ResolveImage)
	if err != nil {
		return err
	}
	graph, err := s.dependencyGraph()
	if err != nil {
		return err
	}
	graph[cfg.Name] = cfg.Requires
	var probs definition.Problems
	at := f.SectionProblem("")
	if reqs := f.KeyValues(container.KeyRequires); len(reqs) > 0 {
		at = reqs[len(reqs)-1].Entry.Problem("")
	}
	problem := func(format string, args ...any) {
		p := at
		p.Msg = fmt.Sprintf(format, args...)
		probs = append(probs, p)
	}
	for _, dep := range cfg.Requires {
		if _, ok := graph[dep]; !ok {
			problem("Requires=%s: no container %s exists or is defined", dep, dep)
		}
	}
	if cycle := findCycle(graph, cfg.Name); cycle != nil {
		problem("%v: %s", ErrDependencyCycle, strings.Join(cycle, " -> "))
	}
	if rec, err := s.store.Config(cfg.Name); err == nil && rec.Source == "" {
		probs = append(probs, definition.Problem{File: path, Msg: fmt.Sprintf("container %s was made with ctr-unit create; this file is ignored until it is removed (ctr-unit rm %s)", cfg.Name, cfg.Name)})
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}
