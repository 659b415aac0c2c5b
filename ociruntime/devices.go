package ociruntime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNotDevice means a path given as a device is not a device node.
var ErrNotDevice = errors.New("not a device node")

// DeviceAt describes the host's device node at path (symlinks followed),
// to appear at ctrPath in the container with access (r, w, m).
func DeviceAt(path, ctrPath, access string) (Device, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Device{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return Device{}, fmt.Errorf("%s: %w", path, ErrNotDevice)
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return Device{
		LinuxDevice: specs.LinuxDevice{
			Path: ctrPath, Type: typ,
			Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
			FileMode: &mode, UID: &uid, GID: &gid,
		},
		Access: access,
	}, nil
}

// HostDevices are the device nodes of the host's /dev, what a privileged
// container gets, as in podman: not the pseudo-terminals, /dev/shm and
// /dev/mqueue (the container has its own), the console or the virtual
// consoles.
func HostDevices() ([]Device, error) {
	var out []Device
	err := filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			// A node that vanished meanwhile is no device to give.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 || path == "/dev/console" || path == "/dev/ptmx" || isVirtualConsole(path) {
			return nil
		}
		dev, err := DeviceAt(path, path, "rwm")
		if err != nil {
			return nil // gone or replaced meanwhile
		}
		out = append(out, dev)
		return nil
	})
	return out, err
}

// isVirtualConsole: /dev/tty0, /dev/tty1, ... (not /dev/tty).
func isVirtualConsole(path string) bool {
	n, ok := strings.CutPrefix(path, "/dev/tty")
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}
