package definition

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ctr-unit/ctr-unit/container"
)

// Options reads a definition's [Container] section into the options the
// same settings' flags give: through container.Settings, each key's value
// is read as quadlet reads that key (Setting.Read), its specifiers and $
// as systemd reads them in the ExecStart= quadlet writes (see
// ContainerSpecifiers and dollars), and becomes its flag's values, which
// the flag's own parser reads. A key given more than once keeps its last
// value, as systemd's settings do, and an empty last value means the
// default; the lines of list keys add up, and an empty one empties the
// list. Every problem is reported with its file and line.
func (f *File) Options() (container.Options, Problems) {
	o := container.Options{Name: f.Name, BaseDir: filepath.Dir(f.Path)}
	probs := f.unknownKeys()
	sp := f.ContainerSpecifiers()
	for _, s := range container.Settings {
		if s.Key == "" {
			continue
		}
		values, vprobs := f.keyValues(s, sp)
		probs = append(probs, vprobs...)
		for _, kv := range values {
			flagValues := []string{kv.Text}
			var err error
			if s.FromKey != nil {
				flagValues, err = s.FromKey(kv.Text)
			}
			for _, v := range flagValues {
				if err != nil {
					break
				}
				err = s.Set(&o, v)
			}
			if err != nil {
				probs = append(probs, kv.Entry.Problem("%s=%s: %v", kv.Entry.Key, kv.Entry.Value, err))
			}
		}
	}
	return o, probs
}

// Value is one value of a [Container] key, as its setting reads it, and
// the setting it came from.
type Value struct {
	Entry Entry
	Text  string
}

// KeyValues are the values of a [Container] key as Options reads them
// (none if no setting has the key).
func (f *File) KeyValues(key string) []Value {
	s, ok := container.KeySetting(key)
	if !ok {
		return nil
	}
	vals, _ := f.keyValues(s, f.ContainerSpecifiers())
	return vals
}

// keyEntries are the settings of s's key (or its older spelling) in
// [Container] that count: the last one, or a list's after its last empty
// assignment. A last empty assignment of a single value means the
// default, unless the setting keeps empty values.
func (f *File) keyEntries(s container.Setting) []Entry {
	var all []Entry
	for _, e := range f.Container {
		if e.Key == s.Key || (s.OldKey != "" && e.Key == s.OldKey) {
			all = append(all, e)
		}
	}
	if len(all) == 0 {
		return nil
	}
	if !s.List {
		last := all[len(all)-1]
		if last.Empty() && !s.KeepEmpty {
			return nil
		}
		return []Entry{last}
	}
	var out []Entry
	for _, e := range all {
		if e.Empty() {
			out = nil
		} else {
			out = append(out, e)
		}
	}
	return out
}

// keyValues reads the values of setting s's key.
func (f *File) keyValues(s container.Setting, sp *Specifiers) ([]Value, Problems) {
	var out []Value
	var probs Problems
	for _, e := range f.keyEntries(s) {
		vals := []string{""}
		if !e.Empty() {
			var err error
			if vals, err = containerValues(e, s.Read, sp); err != nil {
				var ps Problems
				errors.As(err, &ps)
				probs = append(probs, ps...)
				continue
			}
		}
		for _, v := range vals {
			out = append(out, Value{Entry: e, Text: v})
		}
	}
	if s.Read == container.ReadKeyVal {
		out = lastPerKey(out)
	}
	return out, probs
}

// containerValues reads one [Container] setting in reading r: its words
// (or its value) with specifiers expanded and $ read as systemd reads
// them.
func containerValues(e Entry, r container.Reading, sp *Specifiers) ([]string, error) {
	mode := Unquoted
	switch r {
	case container.ReadRaw:
		mode = Raw
	case container.ReadWords:
		mode = Words
	case container.ReadArgs, container.ReadKeyVal:
		mode = Args
	}
	// Quadlet splits, then systemd expands each word of its unit: a word
	// that only a specifier empties stays.
	vals, err := e.Values(mode, nil)
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		if mode == Args && v == "" {
			return nil, Problems{e.Problem(`%s=%s: an empty word ("") is dropped by quadlet; leave it out`, e.Key, e.Value)}
		}
		if sp != nil {
			if v, err = sp.Expand(v); err != nil {
				return nil, Problems{e.Problem("%s=%s: %v", e.Key, e.Value, err)}
			}
		}
		if vals[i], err = dollars(v); err != nil {
			return nil, Problems{e.Problem("%s=%s: %v", e.Key, e.Value, err)}
		}
		if r == container.ReadBool {
			b, err := quadletBool(vals[i])
			if err != nil {
				return nil, Problems{e.Problem("%s=%s: %v", e.Key, e.Value, err)}
			}
			vals[i] = b
		}
	}
	return vals, nil
}

// lastPerKey keeps, of KEY=VALUE words, the last of each KEY, sorted by
// KEY, as quadlet's LookupAllKeyVal (a word without = counts as a KEY).
func lastPerKey(kvs []Value) []Value {
	last := map[string]Value{}
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv.Text, "=")
		last[k] = kv
	}
	out := make([]Value, 0, len(last))
	for _, kv := range last {
		out = append(out, kv)
	}
	sort.Slice(out, func(i, j int) bool {
		ki, _, _ := strings.Cut(out[i].Text, "=")
		kj, _, _ := strings.Cut(out[j].Text, "=")
		return ki < kj
	})
	return out
}

// quadletBool reads a boolean as quadlet does, refusing what quadlet and
// systemd read differently (quadlet reads y, t and anything unknown as
// false, systemd y and t as true). It gives "true" or "false".
func quadletBool(v string) (string, error) {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return "true", nil
	case "0", "no", "false", "off":
		return "false", nil
	}
	// The words of the flags' parser (container.ParseBool), which reads
	// more spellings.
	return "", errors.New("want yes or no")
}

// dollars reads $ in a value as systemd reads it in the ExecStart= quadlet
// writes (measured: TestDollarsAsSystemdRunsThem): $$ is a $. ${NAME}
// anywhere, and a word that starts with a single $ ($NAME, even $ or $1),
// would be replaced by the unit's environment (not the container's; an
// unset one removes the word), which ctr-unit does not do: they are
// refused. Any other $ stays.
func dollars(v string) (string, error) {
	if !strings.Contains(v, "$") {
		return v, nil
	}
	refuse := errors.New("quadlet's unit would replace $NAME and ${NAME} with a variable of the unit's environment, which ctr-unit does not do: write $$ for a $")
	if strings.HasPrefix(v, "$") && !strings.HasPrefix(v, "$$") {
		return "", refuse
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '$' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		switch v[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			return "", refuse
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

// ContainerSpecifiers resolves the specifiers of [Container] values as
// systemd resolves them in the unit quadlet would make of the file,
// NAME.service: %n is NAME.service, %N, %p and %j NAME, %i empty (not an
// instance), %y that unit's file in the generator's directory. So a file
// written for quadlet gives the same values (ContainerName=%N,
// Volume=/srv/%N:/data). %d is the credentials directory of the unit that
// runs the container, where [Service] LoadCredential= puts them. The
// host's values are read only if a value has a %.
func (f *File) ContainerSpecifiers() *Specifiers {
	sp := &Specifiers{
		Unit:        f.Name + ".service",
		Fragment:    "/run/systemd/generator/" + f.Name + ".service",
		Credentials: "ctr@" + f.Name + ".service",
	}
	if slices.ContainsFunc(f.Container, func(e Entry) bool { return strings.Contains(e.Value, "%") }) {
		sp.Host = ReadHost()
	}
	return sp
}

// unknownKeys reports the [Container] keys that are no setting: a key of
// quadlet's that ctr-unit does not have, with why, or a key nobody has.
func (f *File) unknownKeys() Problems {
	var probs Problems
	for _, e := range f.Container {
		if _, ok := container.KeySetting(e.Key); ok {
			continue
		}
		if why, ok := refusedKeys[e.Key]; ok {
			probs = append(probs, e.Problem("%s= is not supported: %s", e.Key, why))
			continue
		}
		msg := fmt.Sprintf("unknown key %s in [Container]", e.Key)
		for _, s := range container.Settings {
			if s.Key != "" && strings.EqualFold(s.Key, e.Key) {
				msg += fmt.Sprintf(" (keys are case-sensitive: %s=)", s.Key)
			}
		}
		probs = append(probs, e.Problem("%s", msg))
	}
	return probs
}

// Explain puts the problems container.Build found into the file's terms,
// each at the line of the key it is about (the [Container] header for a
// setting the file does not give). Other errors are returned as they are.
func (f *File) Explain(err error) error {
	var cprobs container.Problems
	if !errors.As(err, &cprobs) {
		return err
	}
	probs := make(Problems, 0, len(cprobs))
	for _, p := range cprobs {
		at := f.SectionProblem("")
		if s, ok := container.Lookup(p.Setting); ok && s.Key != "" {
			if es := f.keyEntries(s); len(es) > 0 {
				at = es[len(es)-1].Problem("")
			}
		}
		at.Msg = p.Text(keyNames)
		probs = append(probs, at)
	}
	return probs
}

// keyNames writes settings as a definition file does: Memory=1g.
func keyNames(setting, value string) string {
	s, ok := container.Lookup(setting)
	switch {
	case ok && s.Key != "":
		return s.Key + "=" + value
	case setting == "name":
		return strings.TrimSpace("the file's name " + value)
	case ok && s.Flag != "":
		return strings.TrimSpace("--" + s.Flag + " " + value)
	}
	return setting
}
