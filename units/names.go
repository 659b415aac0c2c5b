// Package units is ctr-unit's model of systemd units: their names, a
// container's service as transient-unit properties and as unit files, and
// the state read back. It talks to nobody: package sdbus sends what it
// describes.
package units

import (
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
)

// TransientService is the name of the transient service that runs container
// name. It cannot be an instance of the ctr@.service template: systemd refuses
// to create a transient unit where a template on disk already defines it.
func TransientService(name string) string {
	return "ctr-" + unit.UnitNameEscape(name) + ".service"
}

// TemplateInstance is the ctr@.service instance for container name.
func TemplateInstance(name string) string {
	return "ctr@" + unit.UnitNameEscape(name) + ".service"
}

// ControlGroup is the cgroup systemd gives unitName inside slice.
// Nested slices ("a-b.slice") live below their parents ("a.slice").
func ControlGroup(slice, unitName string) string {
	var b strings.Builder
	if slice != "" && slice != "-.slice" {
		base := strings.TrimSuffix(slice, ".slice")
		parts := strings.Split(base, "-")
		for i := range parts {
			b.WriteString("/" + strings.Join(parts[:i+1], "-") + ".slice")
		}
	}
	b.WriteString("/" + unitName)
	return b.String()
}
