// Command dumpdefault prints the default seccomp profile (podman's and
// docker's, as ctr-unit applies it) as a profile file, for
// --security-opt seccomp=FILE.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	moby "github.com/moby/profiles/seccomp"
)

func main() {
	out, err := json.MarshalIndent(moby.DefaultProfile(), "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
