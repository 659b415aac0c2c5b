// Package units is ctr-unit's model of systemd units: their names, a
// container's service as transient-unit properties and as unit files, and
// the state read back. It talks to nobody: package sdbus sends what it
// describes.
package units

import (
	"strings"
)

// Container names are [a-zA-Z0-9][a-zA-Z0-9_.-]* (container.ValidateName),
// and none of those characters needs escaping in a unit name: units carry
// the name verbatim, so systemctl start ctr@my-web and journalctl -u
// ctr-my-web name what the user named. (%i gives the name back; %I would
// turn its dashes into slashes.)

// TransientService is the name of the transient service that runs container
// name. It cannot be an instance of the ctr@.service template: systemd refuses
// to create a transient unit where a template on disk already defines it.
func TransientService(name string) string {
	return "ctr-" + name + ".service"
}

// TemplateInstance is the ctr@.service instance for container name.
func TemplateInstance(name string) string {
	return "ctr@" + name + ".service"
}

// ContainerOf is the container name a container's service unit carries,
// as TransientService or TemplateInstance wrote it (or an older ctr-unit,
// see IsLegacy); "" for any other unit. The name is not validated: a
// check's unit (ctr-health@NAME.service) gives "health@NAME", which no
// container can be named.
func ContainerOf(unitName string) string {
	base, ok := strings.CutSuffix(Current(unitName), ".service")
	if !ok {
		return ""
	}
	if name, ok := strings.CutPrefix(base, "ctr@"); ok {
		return name
	}
	if name, ok := strings.CutPrefix(base, "ctr-"); ok {
		return name
	}
	return ""
}

// legacyDash is how ctr-unit before verbatim names wrote a dash of a
// container's name in its unit's name (systemd-escape).
const legacyDash = `\x2d`

// IsLegacy tells whether unitName is a container's unit named as ctr-unit
// named them before names were verbatim: ctr@my\x2dweb.service,
// ctr-my\x2dweb.service.
func IsLegacy(unitName string) bool {
	return (strings.HasPrefix(unitName, "ctr@") || strings.HasPrefix(unitName, "ctr-")) &&
		strings.HasSuffix(unitName, ".service") && strings.Contains(unitName, legacyDash)
}

// Current is the name this ctr-unit gives the unit that a legacy name
// (IsLegacy) names; other names are returned as they are.
func Current(unitName string) string {
	if !IsLegacy(unitName) {
		return unitName
	}
	return strings.ReplaceAll(unitName, legacyDash, "-")
}

// Legacy is the name an older ctr-unit gave unitName, a container's unit
// as this one names it.
func Legacy(unitName string) string {
	prefix, name := unitName[:4], strings.TrimSuffix(unitName[4:], ".service")
	return prefix + strings.ReplaceAll(name, "-", legacyDash) + ".service"
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
