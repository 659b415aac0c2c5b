// Package smallfile reads small files (records, pid files, cgroup files)
// with the fewest system calls. os.Open registers every file with the
// runtime's poller, which costs several calls more than the read itself:
// listing hundreds of containers reads thousands of such files.
package smallfile

import (
	"io/fs"
	"time"

	"golang.org/x/sys/unix"
)

// Read returns the contents of the file at path, as os.ReadFile does,
// with errors of the same kind (*fs.PathError, so errors.Is(err,
// fs.ErrNotExist) holds for a missing file).
func Read(path string) ([]byte, error) {
	fd, err := open(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readAll(fd, path)
}

// ReadWithModTime is Read that also returns the file's modification time.
func ReadWithModTime(path string) ([]byte, time.Time, error) {
	fd, err := open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer unix.Close(fd)
	data, err := readAll(fd, path)
	if err != nil {
		return nil, time.Time{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, time.Time{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return data, time.Unix(st.Mtim.Unix()), nil
}

func open(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// readAll reads to the end of the file. A short read is not the end:
// files of the kernel's may come a piece at a time.
func readAll(fd int, path string) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}
