package imagestore

import (
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
)

// A name as the store keeps it is fully qualified, as podman and
// containers/image write it: REGISTRY/PATH:TAG or REGISTRY/PATH@DIGEST.
// A name without a registry is local ("localhost/app:1"); docker.io's
// one-component paths live under library/. This file parses names without
// containers/image (whose reference package compiles regular expressions
// at start-up, which every ctr-unit command would pay).

// name is a parsed image reference.
type name struct {
	domain string // "" when the input named none
	path   string
	tag    string
	digest digest.Digest
}

// parseName splits ref into its parts and checks them; it adds nothing.
func parseName(ref string) (name, error) {
	bad := func(why string) (name, error) {
		return name{}, fmt.Errorf("%w: %q: %s", ErrBadName, ref, why)
	}
	if ref == "" || len(ref) > 255 {
		return bad("use [REGISTRY/]NAME[:TAG] or NAME@DIGEST")
	}
	var n name
	rest := ref
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d, err := digest.Parse(rest[i+1:])
		if err != nil {
			return bad("the digest is not ALGORITHM:HEX")
		}
		n.digest, rest = d, rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		n.tag, rest = rest[i+1:], rest[:i]
		if !validTag(n.tag) {
			return bad("a tag is letters, digits and ._- (at most 128)")
		}
	}
	if i := strings.IndexByte(rest, '/'); i > 0 {
		if first := rest[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			if !validDomain(first) {
				return bad("bad registry " + first)
			}
			n.domain, rest = first, rest[i+1:]
		}
	}
	if !validPath(rest) {
		return bad("use lower-case NAME[:TAG] (letters, digits, ._- and / between components)")
	}
	if n.domain == "" && isHexID(rest) {
		return bad("a 64-hex name would be taken for an image ID")
	}
	n.path = rest
	return n, nil
}

// qualified is n as the store keeps it: a registry (localhost/ when none
// was named), docker.io's library/, and tag latest when neither tag nor
// digest was given. A name with both keeps the digest, as podman does.
func (n name) qualified() name {
	switch n.domain {
	case "":
		n.domain = "localhost"
	case "index.docker.io":
		n.domain = "docker.io"
	}
	if n.domain == "docker.io" && !strings.Contains(n.path, "/") {
		n.path = "library/" + n.path
	}
	return n.defaultTag()
}

func (n name) defaultTag() name {
	if n.digest != "" {
		n.tag = ""
	} else if n.tag == "" {
		n.tag = "latest"
	}
	return n
}

// repo is DOMAIN/PATH (PATH alone when there is no domain).
func (n name) repo() string {
	if n.domain == "" {
		return n.path
	}
	return n.domain + "/" + n.path
}

func (n name) String() string {
	s := n.repo()
	if n.tag != "" {
		s += ":" + n.tag
	}
	if n.digest != "" {
		s += "@" + n.digest.String()
	}
	return s
}

// NormalizeName turns a name into the form the store keeps, as podman
// names local images: localhost/ for a name without a registry,
// docker.io/library/ for docker.io's one-component names, tag latest when
// none (and no digest) is given.
func NormalizeName(ref string) (string, error) {
	n, err := parseName(ref)
	if err != nil {
		return "", err
	}
	return n.qualified().String(), nil
}

// splitStoredName splits a name the store keeps into its repository and
// its tag or digest ("" when neither), for listings.
func splitStoredName(s string) (repo, tag string, dig digest.Digest) {
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return s[:i], "", digest.Digest(s[i+1:])
	}
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		return s[:i], s[i+1:], ""
	}
	return s, "", ""
}

func validDomain(s string) bool {
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && (port == "" || strings.Trim(port, "0123456789") != "") {
		return false
	}
	if host == "" {
		return false
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// validPath checks the path's components as the reference grammar does:
// runs of lower-case letters and digits joined by '.', '_', '__' or
// dashes.
func validPath(s string) bool {
	for _, comp := range strings.Split(s, "/") {
		if !validComponent(comp) {
			return false
		}
	}
	return true
}

func validComponent(c string) bool {
	i := 0
	for {
		j := i
		for j < len(c) && isAlnum(c[j]) {
			j++
		}
		if j == i {
			return false
		}
		if j == len(c) {
			return true
		}
		switch c[j] {
		case '.':
			j++
		case '_':
			j++
			if j < len(c) && c[j] == '_' {
				j++
			}
		case '-':
			for j < len(c) && c[j] == '-' {
				j++
			}
		default:
			return false
		}
		i = j
	}
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func validTag(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
