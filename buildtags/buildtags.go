// Package buildtags holds the build tags every build of ctr-unit uses, in
// the file tags, which the Makefile and hack/mkdeb read as well:
//
//   - containers_image_openpgp: containers/image verifies signatures with
//     Go's OpenPGP instead of gpgme, which needs cgo and libgpgme;
//   - exclude_graphdriver_btrfs: containers/storage without its btrfs
//     driver, whose C headers a cgo build would need.
//
// Builds are also CGO_ENABLED=0 (static binaries).
package buildtags

import (
	_ "embed"
	"strings"
)

//go:embed tags
var tags string

// Tags is the comma-separated list, for go build -tags.
func Tags() string { return strings.TrimSpace(tags) }
