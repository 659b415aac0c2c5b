package definition

import (
	"fmt"
	"strings"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/units"
)

// The [Unit], [Service] and [Install] sections go to the container's unit,
// ctr@NAME.service, as quadlet copies them into NAME.service: systemd reads
// them there (quotes, escapes, $, specifiers) as it would in quadlet's unit,
// except for what this file changes so that they mean the same:
//
//   - [Unit] dependencies on X.container become dependencies on X's unit,
//     ctr@X.service, as quadlet makes them X.service;
//   - the specifiers that name the unit (%n %N %p %P %i %I %j %J %f) are
//     written out as they are in NAME.service, since in ctr@NAME.service
//     systemd would read them differently (%N would be ctr@NAME);
//   - what would undo ctr-unit's own settings is refused: [Service] keys
//     its steps depend on, and empty assignments that would empty a list
//     ctr-unit fills (After=, Requires=, Wants=, UnsetEnvironment=).

// depKeys are the [Unit] keys in which quadlet turns X.container into
// X's unit.
var depKeys = map[string]bool{
	"After": true, "Before": true, "BindsTo": true, "Conflicts": true, "OnFailure": true, "OnSuccess": true,
	"PartOf": true, "PropagatesReloadTo": true, "PropagatesStopTo": true, "ReloadPropagatedFrom": true,
	"Requires": true, "Requisite": true, "StopPropagatedFrom": true, "Upholds": true, "Wants": true,
}

// otherQuadletUnits are quadlet's other kinds of unit, which ctr-unit has
// not.
var otherQuadletUnits = []string{".volume", ".network", ".pod", ".image", ".build", ".kube", ".artifact"}

// serviceOwned are [Service] settings ctr-unit's steps depend on (see
// container.BuildService), and why.
var serviceOwned = map[string]string{
	"User":          "would run ctr-unit's steps and runc as that user: give the container's user as User= in [Container]",
	"Group":         "would run ctr-unit's steps and runc as that group: give the container's group as Group= in [Container]",
	"DynamicUser":   "would run ctr-unit's steps and runc as a dynamic user",
	"Type":          "is set by ctr-unit and cannot be changed",
	"ExecStart":     "is set by ctr-unit and cannot be changed: the command is Exec= in [Container]",
	"ExecStartPre":  "is set by ctr-unit and cannot be changed",
	"ExecStartPost": "is set by ctr-unit and cannot be changed",
	"ExecStopPost":  "is set by ctr-unit and cannot be changed",
	"Delegate":      "is set by ctr-unit and cannot be changed",
	"KillMode":      "is set by ctr-unit and cannot be changed",
	"NotifyAccess":  "is set by ctr-unit and cannot be changed",
	"GuessMainPID":  "is set by ctr-unit and cannot be changed",
	"Slice":         "is set by ctr-unit and cannot be changed",
	"PIDFile":       "is set by ctr-unit and cannot be changed",
}

// filledLists are list settings ctr-unit fills in the unit, which an
// empty assignment in the file would empty.
var filledLists = map[string]bool{"Unit.After": true, "Unit.Requires": true, "Unit.Wants": true, "Service.UnsetEnvironment": true}

// unitNameSpecifiers are the specifiers that name the unit or its file.
const unitNameSpecifiers = "nNpPiIjJf"

// UnitSettings are the definition's [Unit] and [Service] settings for the
// container's unit, in the order systemd reads them (the file, then its
// drop-ins), made to mean what they mean in quadlet's unit. defined tells
// whether a container is defined in a file (X.container).
func (f *File) UnitSettings(defined func(name string) bool) ([]container.UnitSetting, Problems) {
	var out []container.UnitSetting
	var probs Problems
	sp := &Specifiers{Unit: f.Name + ".service"}
	for _, e := range f.Settings {
		if e.Section != "Unit" && e.Section != "Service" {
			continue
		}
		if why, ok := serviceOwned[e.Key]; ok && e.Section == "Service" {
			probs = append(probs, e.Problem("[Service] %s= %s", e.Key, why))
			continue
		}
		if e.Empty() && filledLists[e.Section+"."+e.Key] {
			probs = append(probs, e.Problem("[%s] %s= (empty) would also empty what ctr-unit sets there; leave it out", e.Section, e.Key))
			continue
		}
		v := e.Value
		if e.Section == "Unit" && depKeys[e.Key] {
			var ok bool
			if v, ok = f.dependencies(e, defined, &probs); !ok {
				continue
			}
		}
		v, err := quadletUnitNames(v, sp)
		if err != nil {
			probs = append(probs, e.Problem("%s=%s: %v", e.Key, e.Value, err))
			continue
		}
		out = append(out, container.UnitSetting{Section: e.Section, Name: e.Key, Value: v})
	}
	return out, probs
}

// dependencies translates the units of a [Unit] dependency as quadlet
// does: its words (quotes removed), X.container as ctr@X.service.
func (f *File) dependencies(e Entry, defined func(string) bool, probs *Problems) (string, bool) {
	words, err := split(e.Value, Words)
	if err != nil {
		*probs = append(*probs, e.Problem("%s=%s: %v", e.Key, e.Value, err))
		return "", false
	}
	ok := true
	for i, w := range words {
		if name, isContainer := strings.CutSuffix(w, Suffix); isContainer {
			if container.ValidateName(name) != nil || !defined(name) {
				*probs = append(*probs, e.Problem("%s=%s: no container %s is defined (no %s file)", e.Key, e.Value, name, w))
				ok = false
				continue
			}
			words[i] = units.TemplateInstance(name)
			continue
		}
		for _, suffix := range otherQuadletUnits {
			if strings.HasSuffix(w, suffix) {
				*probs = append(*probs, e.Problem("%s=%s: ctr-unit has no %s units", e.Key, e.Value, suffix))
				ok = false
			}
		}
	}
	return strings.Join(words, " "), ok
}

// quadletUnitNames writes out the specifiers of v that name the unit
// (unitNameSpecifiers) with their values in sp's unit, leaving the others
// (and %%) to systemd. An escape that systemd would decode into a % is
// refused: it could hide a specifier.
func quadletUnitNames(v string, sp *Specifiers) (string, error) {
	if !strings.ContainsAny(v, `%\`) {
		return v, nil
	}
	lower := strings.ToLower(v)
	for _, esc := range []string{`\x25`, `\045`, `\u0025`, `\U00000025`} {
		if strings.Contains(lower, strings.ToLower(esc)) {
			return "", fmt.Errorf(`%s is a %% in systemd's escapes: write %%%% or the specifier itself`, esc)
		}
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		c := v[i+1]
		i++
		if !strings.ContainsRune(unitNameSpecifiers, rune(c)) {
			b.WriteByte('%')
			b.WriteByte(c)
			continue
		}
		val, err := sp.resolve(c)
		if err != nil {
			return "", err
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

// Install is what a definition's [Install] section asks for, as quadlet
// applies it: the units that want or require the container's unit, and
// its other names.
type Install struct {
	WantedBy, RequiredBy, Alias []string
}

// InstallSettings reads the [Install] section as quadlet applies it (words,
// quotes removed, an empty assignment resetting; no specifiers: systemctl
// enable would expand them, quadlet does not, so a % is refused). Alias=
// must be OTHER@NAME.service, the only other name systemd gives an
// instance; UpheldBy= is refused (systemd 252 does not read it), and so
// is Also=, but for X.container files that are defined (whose [Install]
// sections apply anyway).
func (f *File) InstallSettings(defined func(name string) bool) (Install, Problems) {
	var in Install
	var probs Problems
	for _, e := range f.Settings {
		if e.Section != "Install" {
			continue
		}
		switch e.Key {
		case "WantedBy", "RequiredBy", "Alias", "Also":
		case "UpheldBy":
			probs = append(probs, e.Problem("[Install] UpheldBy= does nothing on systemd 252 (it needs 254): use WantedBy= or RequiredBy="))
			continue
		default:
			probs = append(probs, e.Problem("unknown key %s in [Install]: use WantedBy=, RequiredBy= or Alias=", e.Key))
			continue
		}
		if strings.Contains(e.Value, "%") {
			probs = append(probs, e.Problem("%s=%s: quadlet does not expand specifiers in [Install] (systemctl enable would): write the names out", e.Key, e.Value))
			continue
		}
		words, err := split(e.Value, Words)
		if err != nil {
			probs = append(probs, e.Problem("%s=%s: %v", e.Key, e.Value, err))
			continue
		}
		switch e.Key {
		case "WantedBy":
			in.WantedBy = resetOrAdd(in.WantedBy, e, words)
		case "RequiredBy":
			in.RequiredBy = resetOrAdd(in.RequiredBy, e, words)
		case "Alias":
			for _, w := range words {
				prefix, inst, ok := strings.Cut(strings.TrimSuffix(w, ".service"), "@")
				if !ok || prefix == "" || prefix == "ctr" || inst != f.Name || !strings.HasSuffix(w, ".service") || !validUnitPrefix(prefix) {
					probs = append(probs, e.Problem("Alias=%s: the only other name systemd gives ctr@%s.service is OTHER@%s.service", w, f.Name, f.Name))
				}
			}
			in.Alias = resetOrAdd(in.Alias, e, words)
		case "Also":
			for _, w := range words {
				name, ok := strings.CutSuffix(w, Suffix)
				if !ok || container.ValidateName(name) != nil || !defined(name) {
					probs = append(probs, e.Problem("Also=%s: ctr-unit applies the [Install] of every NAME.container itself; Also= can only name one that is defined", w))
				}
			}
		}
	}
	return in, probs
}

// resetOrAdd adds words to a list, or empties it for an empty assignment.
func resetOrAdd(list []string, e Entry, words []string) []string {
	if e.Empty() {
		return nil
	}
	return append(list, words...)
}

// validUnitPrefix tells whether p may start a unit name.
func validUnitPrefix(p string) bool {
	for _, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(":-_.\\", c):
		default:
			return false
		}
	}
	return true
}
