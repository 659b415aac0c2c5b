package definition

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ctr-unit/ctr-unit/container"
)

// reservedService are [Service] settings ctr-unit itself must own for the
// container to run as designed (see container.BuildService).
var reservedService = map[string]bool{
	"Type": true, "ExecStart": true, "ExecStartPre": true, "ExecStartPost": true, "ExecStopPost": true,
	"Delegate": true, "KillMode": true, "NotifyAccess": true, "GuessMainPID": true, "Slice": true, "PIDFile": true,
}

// Options reads a definition's [Container] section into the options the
// same settings' flags give: through container.Settings, each key's value
// becomes its flag's values, which the flag's own parser reads. A key
// given more than once keeps its last value, as systemd's settings do,
// except list keys, whose lines add up. Every problem is reported with
// its line.
func (f *File) Options() (container.Options, Problems) {
	o := container.Options{Name: f.Name, BaseDir: filepath.Dir(f.Path)}
	var probs Problems
	bad := func(line int, msg string) {
		probs = append(probs, Problem{File: f.Path, Line: line, Msg: msg})
	}
	for _, e := range f.Container {
		if _, ok := container.KeySetting(e.Key); !ok {
			bad(e.Line, fmt.Sprintf("unknown key %s in [Container]", e.Key))
		}
	}
	for i, p := range f.Pass {
		if p.Section == "Service" && reservedService[p.Name] {
			bad(f.PassLines[i], fmt.Sprintf("[Service] %s= is set by ctr-unit and cannot be changed", p.Name))
		}
	}
	for _, s := range container.Settings {
		if s.Key == "" {
			continue
		}
		entries := f.All(s.Key)
		if !s.List && len(entries) > 1 {
			entries = entries[len(entries)-1:]
		}
		for _, e := range entries {
			values, err := s.KeyValues(e.Value, SplitWords)
			if err != nil {
				bad(e.Line, fmt.Sprintf("%s=%s: %v", e.Key, e.Value, err))
				continue
			}
			for _, v := range values {
				if err := s.Set(&o, v); err != nil {
					bad(e.Line, fmt.Sprintf("%s=%s: %v", e.Key, e.Value, err))
					break
				}
			}
		}
	}
	return o, probs
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
		line := f.SectionLine
		if s, ok := container.Lookup(p.Setting); ok && s.Key != "" {
			if e, ok := f.Get(s.Key); ok {
				line = e.Line
			}
		}
		probs = append(probs, Problem{File: f.Path, Line: line, Msg: p.Text(keyNames)})
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
