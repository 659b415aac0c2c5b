// Package units is the systemd side of ctr-unit: unit names, the properties
// of a container's service, unit files, and a D-Bus client for systemd.
package units

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
)

// MaxNameLen bounds container names so that the escaped unit name stays well
// below systemd's 255-byte limit even when every character needs escaping.
const MaxNameLen = 60

// ErrInvalidName is returned for container names ctr-unit refuses.
var ErrInvalidName = errors.New("invalid container name")

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidateName checks a container name against the podman/docker rule.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w %q: longer than %d characters", ErrInvalidName, name, MaxNameLen)
	case !namePattern.MatchString(name):
		return fmt.Errorf("%w %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

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
