package supervisor

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/definition"
)

// Entrypoint= is --entrypoint in a definition file.
func TestEntrypointKey(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // the command; nil: refused
		problem    string
	}{
		{"before Exec", "[Container]\nRootfs=/srv/web\nEntrypoint=/bin/tini\nExec=httpd -f\n", []string{"/bin/tini", "httpd", "-f"}, ""},
		{"alone", "[Container]\nRootfs=/srv/web\nEntrypoint=[\"httpd\",\"-f\"]\n", []string{"httpd", "-f"}, ""},
		{"a path with a space", "[Container]\nRootfs=/srv/web\nEntrypoint=/opt/my app\n", []string{"/opt/my app"}, ""},
		{"bad array", "[Container]\nRootfs=/srv/web\nEntrypoint=[\"httpd\",\nExec=x\n", nil, "web.container:3: Entrypoint=: "},
		{"neither", "[Container]\nRootfs=/srv/web\nEntrypoint=\n", nil, "needs Exec=COMMAND"},
	} {
		cfg, err := configFromFile(parse(t, tc.text), false, nil)
		if tc.want == nil {
			var probs definition.Problems
			if !errors.As(err, &probs) || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("%s: %v, want a problem saying %q", tc.name, err, tc.problem)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(cfg.Command, tc.want) {
			t.Errorf("%s: command %q, want %q", tc.name, cfg.Command, tc.want)
		}
	}
}

// The generator cannot read images; an image's unit is made all the same,
// and its record gets the command when the image is read (applyImageConfig).
func TestEntrypointKeyWithAnImageNeedsNoImageInTheGenerator(t *testing.T) {
	if _, err := configFromFile(parse(t, "[Container]\nImage=app:1\nEntrypoint=/bin/sh\n"), false, nil); err != nil {
		t.Error(err)
	}
}
