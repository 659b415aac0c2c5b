package unitstep

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// layerRootFile, in an image container's bundle, names the mount of its
// layer that the bundle's root is, and the command line of the start step
// that mounts it (ctr-unit's).
const layerRootFile = "layer-root"

// WriteLayerRoot records, in bundle, that its root is the mount of an
// image container's layer at dir, and mountingStart, the start step to
// hand over to when it is not mounted. Without such a mount (no layer, or
// vfs's plain directory) there is nothing to record, and nothing is.
func WriteLayerRoot(bundle, dir string, mounted bool, mountingStart []string) error {
	p := filepath.Join(bundle, layerRootFile)
	if dir == "" || !mounted {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	// NUL-separated: no path or argument holds one.
	return os.WriteFile(p, []byte(strings.Join(append([]string{dir}, mountingStart...), "\x00")), 0o600)
}

// LayerUnmounted returns, for ctr-unit-step's start, the start step to
// exec in its place when container name's layer is not mounted where its bundle's root is:
// the stop step unmounted it, and systemd restarted the unit (a restart
// policy, systemctl restart) without ctr-unit. nil when it is mounted, or
// the container has no layer.
func (s Steps) LayerUnmounted(name string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(s.Dirs.Bundle(name), layerRootFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	f := bytes.Split(data, []byte{0})
	if len(f) < 2 {
		return nil, fmt.Errorf("container %s: %s is not what ctr-unit writes", name, layerRootFile)
	}
	if IsMountpoint(string(f[0])) {
		return nil, nil
	}
	argv := make([]string, 0, len(f)-1)
	for _, a := range f[1:] {
		argv = append(argv, string(a))
	}
	return argv, nil
}
