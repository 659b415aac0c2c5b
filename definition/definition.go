// Package definition reads container definitions from files: NAME.container
// in unit-file syntax, with a [Container] section and [Unit], [Service] and
// [Install] sections passed through to the container's unit, as podman's
// quadlet does. It parses and reports; turning a definition into a
// container is the supervisor's business.
package definition

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
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

// Problems is every problem found in one file.
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
}

// File is a parsed definition.
type File struct {
	Path string
	// Name is the container's name: the file name without Suffix.
	Name string
	// Container holds the [Container] section's entries in file order.
	Container []Entry
	// Pass are the [Unit], [Service] and [Install] settings, as written.
	Pass []*unit.UnitOption
	// PassLines are the lines of Pass's settings.
	PassLines []int
	// SectionLine is where [Container] starts, for problems of the whole
	// section.
	SectionLine int
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

// All returns every value of a list key, in order.
func (f *File) All(key string) []Entry {
	var out []Entry
	for _, e := range f.Container {
		if e.Key == key {
			out = append(out, e)
		}
	}
	return out
}

// Install returns the values of an [Install] setting, split into words.
func (f *File) Install(key string) []string {
	var out []string
	for _, o := range f.Pass {
		if o.Section == "Install" && o.Name == key {
			out = append(out, strings.Fields(o.Value)...)
		}
	}
	return out
}

// passSections are handed to the unit unchanged.
var passSections = map[string]bool{"Unit": true, "Service": true, "Install": true}

// Parse reads one definition. Syntax problems are reported with their
// lines; the values of [Container] are the caller's to check.
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
	lines, scanProbs, clean := scan(path, data)
	probs = append(probs, scanProbs...)
	if len(lines) > 0 {
		// The values themselves come from go-systemd's parser, so
		// continuations and quoting are read as systemd reads them; the
		// scan supplies the lines, and blanks out bad ones so that the
		// values of the good ones are still checked.
		opts, err := unit.DeserializeOptions(bytes.NewReader(clean))
		if err != nil {
			probs = append(probs, Problem{File: path, Msg: err.Error()})
		} else if len(opts) != len(lines) {
			probs = append(probs, Problem{File: path, Msg: "could not match settings to lines"})
		} else {
			for i, o := range opts {
				switch {
				case o.Section == "Container":
					f.Container = append(f.Container, Entry{Key: o.Name, Value: strings.TrimSuffix(o.Value, "\n"), Line: lines[i].line})
				case passSections[o.Section]:
					f.Pass = append(f.Pass, o)
					f.PassLines = append(f.PassLines, lines[i].line)
				default:
					probs = append(probs, Problem{File: path, Line: lines[i].line, Msg: fmt.Sprintf("unknown section [%s]: use [Container], [Unit], [Service] or [Install]", o.Section)})
				}
			}
		}
	}
	for _, l := range lines {
		if l.section == "Container" && f.SectionLine == 0 {
			f.SectionLine = l.sectionLine
		}
	}
	if len(probs) == 0 && f.SectionLine == 0 {
		probs = append(probs, Problem{File: path, Msg: "no [Container] section"})
	}
	if len(probs) > 0 {
		return f, probs
	}
	return f, nil
}

// Merge adds more problems of the same file, in line order.
func (ps Problems) Merge(more Problems) Problems {
	out := append(append(Problems{}, ps...), more...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

type settingLine struct {
	section     string
	sectionLine int
	line        int
}

// scan finds the line of each setting and the syntax errors go-systemd's
// parser reports without a line (or not at all). clean is data with the
// bad lines made comments.
func scan(path string, data []byte) ([]settingLine, Problems, []byte) {
	var out []settingLine
	var probs Problems
	var clean bytes.Buffer
	section, sectionLine := "", 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), unit.SYSTEMD_LINE_MAX*8)
	continued := false
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		problem := func(format string, args ...any) {
			probs = append(probs, Problem{File: path, Line: n, Msg: fmt.Sprintf(format, args...)})
			raw = "#" + raw
		}
		switch {
		case continued:
			continued = strings.HasSuffix(strings.TrimRight(raw, " "), `\`)
		case line == "":
		case line[0] == '#' || line[0] == ';':
			continued = strings.HasSuffix(strings.TrimRight(raw, " "), `\`)
		case line[0] == '[':
			end := strings.IndexByte(line, ']')
			if end < 0 {
				problem("section header %q has no closing ]", line)
				break
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" {
				problem("unexpected %q after section header", rest)
				break
			}
			section, sectionLine = line[1:end], n
		case section == "":
			problem("setting before any section header")
		case !strings.Contains(line, "="):
			problem("%q is not KEY=VALUE", line)
		default:
			if k, _, _ := strings.Cut(line, "="); strings.TrimSpace(k) == "" {
				problem("setting without a name")
				break
			}
			out = append(out, settingLine{section: section, sectionLine: sectionLine, line: n})
			// A value ending in a backslash continues on the next line.
			continued = strings.HasSuffix(strings.TrimRight(raw, " "), `\`)
		}
		clean.WriteString(raw + "\n")
	}
	if err := sc.Err(); err != nil {
		probs = append(probs, Problem{File: path, Msg: err.Error()})
	}
	return out, probs, clean.Bytes()
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
// earlier directory hides the same name in later ones. Missing directories
// are skipped.
func Find(dirs []string) (map[string]string, error) {
	found := map[string]string{}
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
			if !ok || name == "" || e.IsDir() {
				continue
			}
			if _, seen := found[name]; !seen {
				found[name] = filepath.Join(dir, e.Name())
			}
		}
	}
	return found, nil
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

// SplitWords splits a command line as systemd splits Exec= values: words
// separated by blanks, double or single quotes group, a backslash escapes
// the next character.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			switch r {
			case 'n':
				r = '\n'
			case 't':
				r = '\t'
			}
			cur.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, errors.New("trailing backslash")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
