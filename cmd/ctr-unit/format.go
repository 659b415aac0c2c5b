package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
	"unicode"
)

// --format as podman reads it: "json" or {{json .}} prints JSON; "table
// TEMPLATE" prints a header row and aligned columns; any other template is
// run for each item, with podman's template functions.

// isJSON reports whether format asks for JSON: json, or {{json .}} with
// any spaces inside the braces and with or without the dot. (Not a regular
// expression: every command would compile it as it starts.)
func isJSON(format string) bool {
	f := strings.TrimSpace(format)
	if f == "json" {
		return true
	}
	inner, ok := strings.CutPrefix(f, "{{")
	if inner, ok = strings.CutSuffix(inner, "}}"); !ok {
		return false
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(inner), "json")
	rest = strings.TrimSpace(rest)
	return ok && (rest == "" || rest == ".")
}

// writeJSON writes v indented, as podman does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// templateFuncs are podman's template functions (containers/common's
// report package), and eq and ne that compare a value that prints as a
// string (ps's .State) with a string.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.TrimSpace(b.String())
	},
	"join":  strings.Join,
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"split": strings.Split,
	"title": func(s string) string {
		r := []rune(s)
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		return string(r)
	},
	"truncate": func(s string, n int) string {
		if len(s) < n {
			return s
		}
		return s[:n]
	},
	"pad": func(s string, prefix, suffix int) string {
		if s == "" {
			return s
		}
		return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
	},
	"eq": func(a any, bs ...any) bool {
		for _, b := range bs {
			if plain(a) == plain(b) {
				return true
			}
		}
		return false
	},
	"ne": func(a, b any) bool { return plain(a) != plain(b) },
}

// plain is how eq and ne compare values: as they print.
func plain(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v)
}

// tableReplacer and escapedReplacer are podman's: a table's spaces
// separate columns too.
var (
	tableReplacer   = strings.NewReplacer("table ", "", `\t`, "\t", " ", "\t", `\n`, "\n")
	escapedReplacer = strings.NewReplacer(`\t`, "\t", `\n`, "\n")
)

// renderTemplate runs format for each item; a table format gets a
// header row, made by running the same template on header (see headers),
// and aligned columns.
func renderTemplate(w io.Writer, format string, items []any, header any) error {
	table := strings.HasPrefix(format, "table ")
	var text string
	if table {
		text = tableReplacer.Replace(format)
	} else {
		text = escapedReplacer.Replace(format)
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	tmpl, err := template.New("format").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)
		out = tw
		// A template the header names do not fit (a function of a
		// field's value) goes without its header row.
		var row bytes.Buffer
		if tmpl.Execute(&row, header) == nil {
			_, _ = row.WriteTo(out)
		}
	}
	for _, it := range items {
		if err := tmpl.Execute(out, it); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// headerNode is a header of a field that has fields of its own: it prints
// as its name, and .Field gives theirs.
type headerNode map[string]any

func (h headerNode) String() string { s, _ := h[""].(string); return s }

var timeType = reflect.TypeFor[time.Time]()

// headers are the column names of t's fields and methods, as podman makes
// them (ImageID: IMAGE ID), overrides first, for a table's header row.
func headers(t reflect.Type, overrides map[string]string) headerNode {
	h := headerNode{}
	collectHeaders(t, overrides, h, 0)
	return h
}

func collectHeaders(t reflect.Type, overrides map[string]string, h headerNode, depth int) {
	add := func(name string, typ reflect.Type) {
		if _, done := h[name]; done {
			return
		}
		title := overrides[name]
		if title == "" {
			title = strings.ToUpper(strings.Join(splitCamel(name), " "))
		}
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() == reflect.Struct && typ != timeType && depth < 2 {
			sub := headerNode{"": title}
			collectHeaders(typ, nil, sub, depth+1)
			h[name] = sub
			return
		}
		h[name] = title
	}
	for i := range t.NumMethod() {
		m := t.Method(i)
		if m.Type.NumIn() == 1 && m.Type.NumOut() == 1 {
			add(m.Name, m.Type.Out(0))
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case f.Anonymous:
			collectHeaders(f.Type, overrides, h, depth)
		case f.IsExported():
			add(f.Name, f.Type)
		}
	}
}

// splitCamel splits a Go name into words: ImageID -> Image ID,
// CreatedAt -> Created At.
func splitCamel(s string) []string {
	r := []rune(s)
	var words []string
	start := 0
	for i := 1; i < len(r); i++ {
		lowerBefore := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
		acronymEnds := unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
		if unicode.IsUpper(r[i]) && (lowerBefore || acronymEnds) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	return append(words, string(r[start:]))
}
