package definition

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Mode says how a setting's value is read, following the ways podman's
// quadlet reads its [Container] keys (pkg/systemd/parser in podman 5.x),
// which in turn follow systemd's own parsers.
type Mode int

const (
	// Raw is the value as written: continuation lines joined, blanks
	// around it removed, nothing else (quadlet's LookupAll, used for
	// Volume=, PublishPort=, Tmpfs=, Network=, ...).
	Raw Mode = iota
	// Unquoted is Raw with one pair of double quotes around the whole
	// value removed (quadlet's Lookup, used for the single-valued keys
	// such as Image=, HostName= and HealthCmd=). Escapes stay as
	// written.
	Unquoted
	// Words splits at blanks; double and single quotes group and are
	// removed; backslashes are ordinary characters (quadlet's
	// LookupAllStrv, systemd's EXTRACT_UNQUOTE|EXTRACT_RETAIN_ESCAPE, used
	// for AddCapability=, Sysctl= and [Install]'s WantedBy=).
	Words
	// Args splits as systemd splits a command line: blanks separate,
	// quotes group and are removed, C escapes are decoded (quadlet's
	// LookupAllArgs and LookupLastArgs, systemd's ExecStart= and
	// Environment=, used for Exec=, Environment=, Label=, Mount=, ...).
	// Unlike quadlet, which drops such a value with a warning, an unknown
	// escape, an unbalanced quote or a trailing backslash is an error, as
	// in systemd's Environment=.
	Args
)

func (m Mode) String() string {
	switch m {
	case Raw:
		return "raw"
	case Unquoted:
		return "unquoted"
	case Words:
		return "words"
	case Args:
		return "args"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// blanks separate words, as systemd's WHITESPACE.
const blanks = " \t\n\r"

// SplitWords splits a command line as systemd splits ExecStart= and quadlet
// splits Exec=: the Args mode, without specifiers.
func SplitWords(s string) ([]string, error) { return split(s, Args) }

// Unquote removes one pair of double quotes around the whole of s, as
// quadlet's Lookup does for single-valued keys.
func Unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// split cuts s into words in mode Words or Args, as systemd's
// extract_first_word does with EXTRACT_UNQUOTE and either
// EXTRACT_RETAIN_ESCAPE (Words) or EXTRACT_CUNESCAPE (Args): a quote may
// start anywhere in a word and the word goes on after it ends (a"b c"d is
// one word, ab cd); "" is an empty word.
func split(s string, m Mode) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && m == Args:
			if i+1 == len(s) {
				return nil, errors.New(`trailing backslash: write \\ for a backslash`)
			}
			n, decoded, err := unescapeOne(s[i+1:])
			if err != nil {
				return nil, err
			}
			cur.WriteString(decoded)
			inWord = true
			i += n
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case strings.IndexByte(blanks, c) >= 0:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unbalanced %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	for _, w := range words {
		if !utf8.ValidString(w) {
			return nil, fmt.Errorf("%q is not valid UTF-8 once its escapes are decoded", w)
		}
	}
	return words, nil
}

// unescapeOne decodes the escape after a backslash at the start of s, as
// systemd's cunescape_one: it returns how many bytes of s it used and
// what they stand for. \x and octal escapes are single bytes; \u and \U
// are code points in UTF-8. NUL is refused in every form.
func unescapeOne(s string) (int, string, error) {
	if i := strings.IndexByte(`abfnrtv\"'s`, s[0]); i >= 0 {
		return 1, "\a\b\f\n\r\t\v\\\"' "[i : i+1], nil
	}
	bad := func(n int) (int, string, error) {
		if n > len(s) {
			n = len(s)
		}
		return 0, "", fmt.Errorf(`unknown escape \%s: use \\ for a backslash (systemd.syntax(7) lists the escapes)`, s[:n])
	}
	switch c := s[0]; {
	case c == 'x':
		v, ok := hexValue(s[1:], 2)
		if !ok || v == 0 {
			return bad(3)
		}
		return 3, string([]byte{byte(v)}), nil
	case c == 'u' || c == 'U':
		digits := 4
		if c == 'U' {
			digits = 8
		}
		v, ok := hexValue(s[1:], digits)
		if !ok || v == 0 || v > 0x10ffff {
			return bad(1 + digits)
		}
		// As systemd, which also encodes surrogates (then refused as
		// not UTF-8 by split).
		return 1 + digits, encodeRune(v), nil
	case c >= '0' && c <= '7':
		if len(s) < 3 {
			return bad(3)
		}
		v := uint32(0)
		for i := 0; i < 3; i++ {
			if s[i] < '0' || s[i] > '7' {
				return bad(3)
			}
			v = v<<3 | uint32(s[i]-'0')
		}
		if v == 0 || v > 255 {
			return bad(3)
		}
		return 3, string([]byte{byte(v)}), nil
	}
	return bad(1)
}

// hexValue reads exactly n hex digits at the start of s.
func hexValue(s string, n int) (uint32, bool) {
	if len(s) < n {
		return 0, false
	}
	v := uint32(0)
	for i := 0; i < n; i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// encodeRune writes v in UTF-8 even where it is a surrogate, which
// utf8.EncodeRune would replace.
func encodeRune(v uint32) string {
	if v < 0xd800 || v > 0xdfff {
		return string(rune(v))
	}
	return string([]byte{0xe0 | byte(v>>12), 0x80 | byte(v>>6)&0x3f, 0x80 | byte(v)&0x3f})
}
