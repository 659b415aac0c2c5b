package definition

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLine is systemd's LONG_LINE_MAX: the longest line, continuations
// joined, that it reads.
const maxLine = 1 << 20

// header is a section header and its line.
type header struct {
	name string
	line int
}

// readUnit reads a file in unit-file syntax as systemd 252's config
// parser does (systemd.syntax(7)), and returns its settings in file order.
//
// As systemd: blanks around a line, a key and a value do not count; lines
// starting with # or ; are comments, also in the middle of a continuation
// and also when they end in a backslash; a line ending in an odd number of
// backslashes goes on on the next line, the backslash becoming a space and
// the next line's leading blanks kept; an empty line ends a continuation;
// a continuation at the end of the file ends there.
//
// Where systemd warns and skips a line, or loads the unit without it, the
// line is a problem here instead, as it is in podman's quadlet: a setting
// before any section, a line without =, an empty key, a bad section
// header. So are a byte-order mark (systemd skips it, quadlet refuses it),
// a carriage return not ending a line or a NUL (systemd starts a new line
// there, quadlet keeps them in the value), and bytes that are not UTF-8
// (systemd refuses the unit). Every setting carries the line it starts on,
// where systemd names the line it ends on.
func readUnit(path string, data []byte) ([]Entry, []header, Problems) {
	var entries []Entry
	var headers []header
	var probs Problems
	problem := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	if rest, ok := bytes.CutPrefix(data, []byte("\xef\xbb\xbf")); ok {
		problem(1, "the file starts with a byte-order mark (U+FEFF): save it without one")
		data = rest
	}

	section, badSection := "", false
	logical := func(p string, line int) {
		l := strings.Trim(p, blanks)
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			name, ok := strings.CutSuffix(l[1:], "]")
			switch {
			case !ok:
				problem(line, "section header %q does not end with ]", l)
			case name == "" || strings.ContainsAny(name, "[]") || strings.IndexFunc(name, unicode.IsControl) >= 0:
				problem(line, "%q is not a valid section name", name)
			default:
				section, badSection = name, false
				headers = append(headers, header{name: name, line: line})
				return
			}
			// The settings up to the next good header belong to no
			// section we know; saying so for each adds nothing.
			section, badSection = "", true
		default:
			k, v, ok := strings.Cut(l, "=")
			k = strings.Trim(k, blanks)
			switch {
			case !ok:
				problem(line, "%q is not KEY=VALUE", l)
			case k == "":
				problem(line, "%q has no key before =", l)
			case section == "":
				if !badSection {
					problem(line, "%q is before any section header: put it under [Container], [Unit], [Service] or [Install]", l)
				}
			default:
				entries = append(entries, Entry{Section: section, Key: k, Value: strings.Trim(v, blanks), Line: line, File: path})
			}
		}
	}

	var cont strings.Builder
	contLine := 0 // where the line being continued starts, 0 if none
	n := 0
	for len(data) > 0 {
		n++
		var raw []byte
		raw, data, _ = bytes.Cut(data, []byte("\n"))
		raw = bytes.TrimSuffix(raw, []byte("\r"))
		switch {
		case bytes.IndexByte(raw, '\r') >= 0:
			problem(n, "a carriage return inside the line: save the file with Unix (or CRLF) line ends")
			continue
		case bytes.IndexByte(raw, 0) >= 0:
			problem(n, "a NUL byte inside the line")
			continue
		case !utf8.Valid(raw):
			problem(n, "the line is not valid UTF-8")
			continue
		}
		line := string(raw)
		if t := strings.TrimLeft(line, blanks); t != "" && (t[0] == '#' || t[0] == ';') {
			continue // a comment, also inside a continuation
		}
		start := n
		if contLine > 0 {
			start = contLine
			cont.WriteString(line)
			line = cont.String()
			cont.Reset()
			contLine = 0
		}
		if len(line) > maxLine {
			problem(start, "the line is longer than systemd reads (%d bytes)", maxLine)
			continue
		}
		if oddBackslashes(line) {
			cont.WriteString(line[:len(line)-1])
			cont.WriteByte(' ')
			contLine = start
			continue
		}
		logical(line, start)
	}
	if contLine > 0 {
		logical(cont.String(), contLine)
	}
	return entries, headers, probs
}

// oddBackslashes tells whether s ends in a backslash that escapes the line
// end: one not itself escaped by the one before it.
func oddBackslashes(s string) bool {
	n := len(s) - len(strings.TrimRight(s, `\`))
	return n%2 == 1
}
