package main

import (
	"testing"

	"github.com/ctr-unit/ctr-unit/unitstep"
)

// ctr-unit runs every step of the table.
func TestEveryStepHasAHandler(t *testing.T) {
	for _, st := range unitstep.Table {
		if h, ok := handlerOf(st.Name); !ok || (h == nil) != (st.Command != nil) {
			t.Errorf("step %s: no handler", st.Name)
		}
	}
}
