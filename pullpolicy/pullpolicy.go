package pullpolicy

import (
	"fmt"
	"strings"
)

// Policy says when a pull goes to the registry, as podman's --pull.
// A package of its own, so that ctr-unit's container settings
// read it without linking containers/image.
type Policy string

const (
	// Always pulls every time (layers the store has are not
	// fetched again).
	Always Policy = "always"
	// Missing pulls only when the store has no such image.
	Missing Policy = "missing"
	// Newer pulls when the registry's digest differs from the
	// stored image's.
	Newer Policy = "newer"
	// Never uses the stored image or fails.
	Never Policy = "never"
)

// Parse reads a --pull or --policy value (podman's true,
// false and ifnewer too).
func Parse(s string) (Policy, error) {
	switch strings.ToLower(s) {
	case "always", "true":
		return Always, nil
	case "missing":
		return Missing, nil
	case "newer", "ifnewer":
		return Newer, nil
	case "never", "false":
		return Never, nil
	}
	return "", fmt.Errorf("pull policy %q: use always, missing, newer or never", s)
}

// StoredSuffices says whether an image the store has by the name asked
// for settles a pull by p, with no registry asked.
func (p Policy) StoredSuffices() bool { return p == Missing || p == Never }
