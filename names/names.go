// Package names holds podman's rule for the names of containers and
// volumes: letters, digits, '_', '.' and '-', starting with a letter or a
// digit. It is a loop rather than a regular expression, which every
// binary, unit step included, would compile as it starts.
package names

// Valid reports whether s follows the rule (its length is the caller's
// to bound).
func Valid(s string) bool {
	if s == "" || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
