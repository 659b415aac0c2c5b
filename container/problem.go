package container

import (
	"errors"
	"strings"
)

// ErrInvalid marks settings that Build refuses.
var ErrInvalid = errors.New("invalid container settings")

// Problem is one thing wrong with a container's settings. It names the
// setting it is about by its table name (Setting.Name), and its message
// names others as {name}: each reader gets them in its own terms, "--memory"
// on the command line, "Memory=" (with the line) in a definition file.
type Problem struct {
	// Setting is what the problem is about; "" for the container as a
	// whole.
	Setting string
	// Value is the value given, if the problem is about one.
	Value string
	Msg   string
}

// Problems is every problem found in one container's settings.
type Problems []Problem

// Naming writes a setting, given by its table name, with a value ("" for
// none) in the reader's terms.
type Naming func(setting, value string) string

// FlagNames writes settings as the command line does: --memory 1g.
func FlagNames(setting, value string) string {
	name := setting
	if s, ok := Lookup(setting); ok && s.Flag != "" {
		name = "--" + s.Flag
	} else if ok && s.Arg != "" {
		name = s.Arg
	}
	if value == "" {
		return name
	}
	return name + " " + value
}

// Text is the problem in the words naming gives.
func (p Problem) Text(naming Naming) string {
	msg := p.Msg
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(msg[:i])
		b.WriteString(naming(msg[i+1:i+j], ""))
		msg = msg[i+j+1:]
	}
	b.WriteString(msg)
	text := b.String()
	if p.Setting == "" || strings.HasPrefix(p.Msg, "{"+p.Setting+"}") {
		return text
	}
	return naming(p.Setting, p.Value) + ": " + text
}

func (p Problem) Error() string { return p.Text(FlagNames) }

// Error lists the problems in flag terms.
func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Is makes errors.Is(ps, ErrInvalid) hold.
func (ps Problems) Is(target error) bool { return target == ErrInvalid }
