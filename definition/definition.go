// Package definition reads container definitions from files: NAME.container
// in unit-file syntax, with a [Container] section and [Unit], [Service] and
// [Install] sections passed through to the container's unit, as podman's
// quadlet does, and drop-ins in NAME.container.d/. It reads them as
// systemd 252 and quadlet read them (syntax, quoting, escapes, specifiers,
// drop-ins) and reports every problem with its file and line; turning a
// definition into a container is the caller's business.
package definition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// Suffix of definition files.
const Suffix = ".container"

// DefaultDirs are searched in this order; a file in an earlier directory
// hides one of the same name in a later one.
func DefaultDirs() []string { return []string{"/etc/ctr-unit", "/run/ctr-unit", "/usr/share/ctr-unit"} }

// ErrInvalid marks a definition with problems.
var ErrInvalid = errors.New("invalid container definition")

// Problem is one thing wrong with a file, at a line (0: the whole file).
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is every problem found in one definition: its file and its
// drop-ins.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

// Is makes errors.Is(ps, ErrInvalid) hold.
func (ps Problems) Is(target error) bool { return target == ErrInvalid }

// Entry is one setting with the line it starts on.
type Entry struct {
	Key, Value string
	Line       int
	// File is the file the setting is in: the definition or one of its
	// drop-ins.
	File string
	// Section is the section the setting is in, such as Container.
	Section string
}

// Empty tells whether the setting is an empty assignment (KEY=), which
// resets a list (see File.List).
func (e Entry) Empty() bool { return e.Value == "" }

// Problem is a problem with this setting, at its file and line.
func (e Entry) Problem(format string, args ...any) Problem {
	return Problem{File: e.File, Line: e.Line, Msg: fmt.Sprintf(format, args...)}
}

// Values reads the setting's value in mode m and expands the specifiers
// of each resulting value with sp (none if sp is nil). Raw and Unquoted
// give one value. Problems name the setting's file and line.
func (e Entry) Values(m Mode, sp *Specifiers) ([]string, error) {
	var vals []string
	switch m {
	case Raw:
		vals = []string{e.Value}
	case Unquoted:
		vals = []string{Unquote(e.Value)}
	case Words, Args:
		var err error
		if vals, err = split(e.Value, m); err != nil {
			return nil, Problems{e.Problem("%s=%s: %v", e.Key, e.Value, err)}
		}
	default:
		return nil, fmt.Errorf("definition: unknown mode %v", m)
	}
	if sp == nil {
		return vals, nil
	}
	for i, v := range vals {
		x, err := sp.Expand(v)
		if err != nil {
			return nil, Problems{e.Problem("%s=%s: %v", e.Key, e.Value, err)}
		}
		vals[i] = x
	}
	return vals, nil
}

// File is a parsed definition.
type File struct {
	Path string
	// Name is the container's name: the file name without Suffix.
	Name string
	// Settings are the settings of the [Container], [Unit], [Service]
	// and [Install] sections in the order systemd reads them: the file,
	// then its drop-ins (see Load). X- sections are left out, as systemd
	// ignores them.
	Settings []Entry
	// Container holds the [Container] section's entries in that order;
	// the others are read with UnitSettings and InstallSettings.
	Container []Entry
	// SectionLine is where [Container] starts, in SectionFile, for
	// problems of the whole section.
	SectionLine int
	SectionFile string
}

// SectionProblem is a problem of the whole [Container] section.
func (f *File) SectionProblem(format string, args ...any) Problem {
	file := f.SectionFile
	if file == "" {
		file = f.Path
	}
	return Problem{File: file, Line: f.SectionLine, Msg: fmt.Sprintf(format, args...)}
}

// Get returns the last value of key in [Container] (later lines override
// earlier ones, as in systemd) and its line.
func (f *File) Get(key string) (Entry, bool) {
	for i := len(f.Container) - 1; i >= 0; i-- {
		if f.Container[i].Key == key {
			return f.Container[i], true
		}
	}
	return Entry{}, false
}

// All returns every setting of key in [Container], in order, empty
// assignments included (see List).
func (f *File) All(key string) []Entry {
	var out []Entry
	for _, e := range f.Container {
		if e.Key == key {
			out = append(out, e)
		}
	}
	return out
}

// List returns the values of a list key in [Container]. An empty
// assignment (KEY=) empties the list, as in systemd and quadlet: only the
// values after the last one count.
func (f *File) List(key string) []Entry {
	return lastList(f.Container, "Container", key)
}

// lastList is the values of key in section, after its last empty
// assignment.
func lastList(entries []Entry, section, key string) []Entry {
	var out []Entry
	for _, e := range entries {
		switch {
		case e.Section != section || e.Key != key:
		case e.Empty():
			out = nil
		default:
			out = append(out, e)
		}
	}
	return out
}

// knownSection tells the sections a definition may have: [Container] is
// ctr-unit's, the others are handed to the unit.
func knownSection(name string) bool {
	switch name {
	case "Container", "Unit", "Service", "Install":
		return true
	}
	return false
}

// Parse reads one definition file, without drop-ins (see Load). Syntax
// problems are reported with their lines; the values of [Container] are
// the caller's to check.
func Parse(path string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f := &File{Path: path, Name: strings.TrimSuffix(filepath.Base(path), Suffix)}
	var probs Problems
	if !strings.HasSuffix(path, Suffix) || f.Name == "" {
		probs = append(probs, Problem{File: path, Msg: "a definition's file name must be NAME" + Suffix})
	}
	probs = append(probs, f.add(path, data)...)
	return f, f.finish(probs)
}

// add reads one file (the definition or a drop-in) into f.
func (f *File) add(path string, data []byte) Problems {
	entries, headers, probs := readUnit(path, data)
	for _, h := range headers {
		switch {
		case h.name == "Container" && f.SectionLine == 0:
			f.SectionLine, f.SectionFile = h.line, path
		case knownSection(h.name) || strings.HasPrefix(h.name, "X-"):
		default:
			probs = append(probs, Problem{File: path, Line: h.line, Msg: fmt.Sprintf("unknown section [%s]: use [Container], [Unit], [Service] or [Install]", h.name)})
		}
	}
	for _, e := range entries {
		if !knownSection(e.Section) {
			continue
		}
		f.Settings = append(f.Settings, e)
		if e.Section == "Container" {
			f.Container = append(f.Container, e)
		}
	}
	return probs
}

// noContainer is the problem of a definition without [Container].
const noContainer = "no [Container] section"

// finish checks the whole definition and returns probs as an error.
func (f *File) finish(probs Problems) error {
	if len(probs) == 0 && f.SectionLine == 0 {
		probs = append(probs, Problem{File: f.Path, Msg: noContainer})
	}
	if len(probs) > 0 {
		return probs
	}
	return nil
}

// Merge adds more problems, in line order within each file, the files in
// the order they first appear.
func (ps Problems) Merge(more Problems) Problems {
	out := append(append(Problems{}, ps...), more...)
	rank := map[string]int{}
	for _, p := range out {
		if _, ok := rank[p.File]; !ok {
			rank[p.File] = len(rank)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank[out[i].File], rank[out[j].File]; ri != rj {
			return ri < rj
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// ParseFile reads and parses path.
func ParseFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open definition: %w", err)
	}
	defer fh.Close()
	return Parse(path, fh)
}

// Find lists the definition files in dirs by container name; a name in an
// earlier directory hides the same name in later ones. A file that is
// /dev/null (a symlink to it, as systemctl mask makes) hides the name and
// defines nothing. Missing directories are skipped.
func Find(dirs []string) (map[string]string, error) {
	found := map[string]string{}
	masked := map[string]bool{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list definitions: %w", err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), Suffix)
			if !ok || name == "" || e.IsDir() || masked[name] {
				continue
			}
			if _, seen := found[name]; seen {
				continue
			}
			p := filepath.Join(dir, e.Name())
			// Only a link or a device can be /dev/null: no stat of
			// every plain file, which each unit's start step lists.
			if e.Type()&(fs.ModeSymlink|fs.ModeCharDevice) != 0 && isDevNull(p) {
				masked[name] = true
				continue
			}
			found[name] = p
		}
	}
	return found, nil
}

// isDevNull tells whether p is, or links to, /dev/null.
func isDevNull(p string) bool {
	info, err := os.Stat(p)
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(info, null)
}

// Load reads the definition at path and its drop-ins in dirs (see
// DropIns), as systemd reads a unit and its drop-ins: the drop-ins'
// settings come after the file's, in the drop-ins' order.
func Load(path string, dirs []string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read definition: %w", err)
	}
	f, err := Parse(path, bytes.NewReader(data))
	var probs Problems
	if err != nil && !errors.As(err, &probs) {
		return f, err
	}
	// Parse's verdict on a missing [Container] waits for the drop-ins.
	probs = slices.DeleteFunc(probs, func(p Problem) bool { return p.Msg == noContainer })
	drops, err := DropIns(f.Name, dirs)
	if err != nil {
		return f, err
	}
	for _, d := range drops {
		data, err := os.ReadFile(d)
		if err != nil {
			return f, fmt.Errorf("read drop-in: %w", err)
		}
		probs = append(probs, f.add(d, data)...)
	}
	return f, f.finish(probs)
}

// DropIns lists the drop-in files of the definition of name in dirs, in
// the order they apply, as systemd 252 finds a unit's drop-ins: *.conf in
// NAME.container.d/, then in the directories of the name cut after each
// dash (web-.container.d/ for web-1), in each of dirs in turn; then in
// container.d/ of each of dirs, as quadlet. Of files with the same name
// the first found counts (/dev/null hides the name); they apply in the
// order of their names, wherever they are.
func DropIns(name string, dirs []string) ([]string, error) {
	return DropInsIn(name, dirs, nil)
}

// DropInsIn is DropIns that reads only the drop-in directories present
// has (DropInDirsIn of dirs; nil: it tries each).
func DropInsIn(name string, dirs []string, present map[string]bool) ([]string, error) {
	var search []string
	for _, dir := range dirs {
		search = append(search, filepath.Join(dir, name+Suffix+".d"))
		for i := len(name) - 2; i > 0; i-- {
			if name[i] == '-' {
				search = append(search, filepath.Join(dir, name[:i+1]+Suffix+".d"))
			}
		}
	}
	for _, dir := range dirs {
		search = append(search, filepath.Join(dir, strings.TrimPrefix(Suffix, ".")+".d"))
	}
	found := map[string]string{} // file name: path, "" where hidden
	for _, dir := range search {
		if present != nil && !present[dir] {
			continue
		}
		entries, err := readDropInDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			n := e.Name()
			if _, seen := found[n]; seen || !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			p := filepath.Join(dir, n)
			info, err := os.Stat(p)
			switch {
			case isDevNull(p):
				found[n] = ""
			case err != nil || !info.Mode().IsRegular():
				// Not a file (or a dangling link): not a drop-in.
			default:
				found[n] = p
			}
		}
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(found)) {
		if found[n] != "" {
			out = append(out, found[n])
		}
	}
	return out, nil
}

// DropInDirsIn lists what in dirs may be a drop-in directory (named
// NAME.container.d or container.d), for DropInsIn: a command about every
// definition reads each definition directory once, rather than trying
// each absent drop-in directory of each definition.
func DropInDirsIn(dirs []string) (map[string]bool, error) {
	present := map[string]bool{}
	common := strings.TrimPrefix(Suffix, ".") + ".d"
	for _, dir := range dirs {
		entries, err := readDropInDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if n := e.Name(); n == common || strings.HasSuffix(n, Suffix+".d") {
				present[filepath.Join(dir, n)] = true
			}
		}
	}
	return present, nil
}

// readDropInDir lists dir, nothing if it is missing or not a directory.
func readDropInDir(dir string) ([]os.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list drop-ins: %w", err)
	}
	return entries, nil
}

// Names returns the keys of a Find result, sorted.
func Names(found map[string]string) []string {
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
