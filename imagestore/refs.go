package imagestore

import (
	"slices"
	"strings"
)

// transports are the TRANSPORT:DETAILS prefixes a reference may name: the
// containers/image transports ctr-unit moves images with.
func transports() []string {
	return []string{"docker", "docker-archive", "oci-archive", "oci", "dir", "containers-storage"}
}

// SplitTransport splits TRANSPORT:DETAILS for those transports. ok is
// false for a plain image name (NAME:TAG, REGISTRY:PORT/NAME), and for
// docker:NAME without docker://'s slashes.
func SplitTransport(ref string) (transport, details string, ok bool) {
	transport, details, found := strings.Cut(ref, ":")
	if !found || !slices.Contains(transports(), transport) || (transport == "docker" && !strings.HasPrefix(details, "//")) {
		return "", "", false
	}
	return transport, details, true
}

// PullName is the name a pull of ref, a registry's image (docker:// or
// none), looks for in the store: NAME:TAG@DIGEST is NAME@DIGEST, the
// digest deciding, as podman does.
func PullName(ref string) string {
	name := strings.TrimPrefix(ref, "docker://")
	if i := strings.IndexByte(name, '@'); i > 0 {
		if j := strings.LastIndexByte(name[:i], ':'); j > strings.LastIndexByte(name[:i], '/') {
			name = name[:j] + name[i:]
		}
	}
	return name
}
