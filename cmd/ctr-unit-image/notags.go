//go:build !containers_image_openpgp

// Command ctr-unit-image moves images with containers/image, which builds
// only with the tags in buildtags/tags (make uses them). Built without,
// it says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ctr-unit-image: built without the build tags of buildtags/tags; rebuild with make (or go build -tags \"$(cat buildtags/tags)\")")
	os.Exit(125)
}
