package smallfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestReadAsOSReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4095, 4096, 4097, 100000} {
		path := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte{'x'}, size)
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
		got, mod, err := ReadWithModTime(path)
		info, serr := os.Stat(path)
		if err != nil || serr != nil || !bytes.Equal(got, want) || !mod.Equal(info.ModTime()) {
			t.Fatalf("size %d: got %d bytes, %v, %v; want %v", size, len(got), mod, err, info.ModTime())
		}
	}
}

func TestReadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none")
	_, err := Read(path)
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != path {
		t.Fatalf("Read: %v", err)
	}
	if _, _, err := ReadWithModTime(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadWithModTime: %v", err)
	}
}

func TestReadProc(t *testing.T) {
	want, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	got, err := Read("/proc/self/status")
	// The values change between the reads; the keys do not.
	if err != nil || bytes.Count(got, []byte("\n")) != bytes.Count(want, []byte("\n")) {
		t.Fatalf("got %q, %v", got, err)
	}
}
