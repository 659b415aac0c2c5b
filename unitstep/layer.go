package unitstep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
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

// HoldLayerRoot is for ctr-unit's run -d, which makes an image
// container's layer while systemd starts its unit: until release, the
// unit's steps that use the layer wait (AwaitLayerRoot). The bundle's
// layer root is written already. Released (or ended with the process that
// holds it), the layer is mounted, or is not to be.
func HoldLayerRoot(bundle string) (release func(), err error) {
	f, err := os.Open(filepath.Join(bundle, layerRootFile))
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// AwaitLayerRoot waits while run -d makes the layer of the container whose
// bundle this is (HoldLayerRoot); at once when nothing does. systemd's
// start and stop timeouts bound the wait.
func AwaitLayerRoot(bundle string) error {
	f, err := openLayerRoot(bundle)
	if f != nil {
		f.Close()
	}
	return err
}

// openLayerRoot opens a bundle's layer root once nobody holds it
// (AwaitLayerRoot); nil, and no error, when the bundle has none.
func openLayerRoot(bundle string) (*os.File, error) {
	f, err := os.Open(filepath.Join(bundle, layerRootFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return f, nil
}

// LayerUnmounted returns, for ctr-unit-step's start, the start step to
// exec in its place when container name's layer is not mounted where its
// bundle's root is: the stop step unmounted it, and systemd restarted the
// unit (a restart policy, systemctl restart) without ctr-unit, or the run -d
// that was making it failed. nil when it is mounted, or the container has
// no layer.
func (s Steps) LayerUnmounted(name string) ([]string, error) {
	lf, err := openLayerRoot(s.Dirs.Bundle(name))
	if lf == nil || err != nil {
		if err != nil {
			err = fmt.Errorf("container %s: %w", name, err)
		}
		return nil, err
	}
	defer lf.Close()
	data, err := io.ReadAll(lf)
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
