package main

import (
	"fmt"
	"testing"
)

// The pull step records the helper's last line on failure: the error,
// after any progress lines, however the writes are split.
func TestLastLine(t *testing.T) {
	for _, tc := range []struct {
		writes []string
		want   string
	}{
		{[]string{"Copying blob a\nCopying blob b\n", "Error: no such image in the registry\n"}, "Error: no such image in the registry"},
		{[]string{"Copying blob a\nErr", "or: refused", "\n\n  \n"}, "Error: refused"},
		{[]string{"one\nunfinished"}, "unfinished"},
		{nil, ""},
	} {
		var l lastLine
		for _, w := range tc.writes {
			fmt.Fprint(&l, w)
		}
		if got := l.String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.writes, got, tc.want)
		}
	}
}
