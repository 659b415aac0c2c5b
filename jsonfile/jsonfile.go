// Package jsonfile reads and writes the small JSON records ctr-unit keeps,
// each replaced whole by a rename, so a process killed at any moment
// leaves either the old record or the new one.
package jsonfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"

	"github.com/ctr-unit/ctr-unit/smallfile"
)

// ErrEmpty means a record file is there but empty.
var ErrEmpty = errors.New("empty record")

// WriteDurable replaces a record durably: a rename of a temporary file that
// was flushed to disk first.
func WriteDurable(path string, v any) error {
	data, err := marshal(v)
	if err != nil {
		return err
	}
	// The temporary file goes beside the record: renameio would otherwise
	// probe $TMPDIR first, which costs time on every write.
	return renameio.WriteFile(path, data, 0o600, renameio.WithTempDir(filepath.Dir(path)))
}

// WriteVolatile replaces a record atomically but without waiting for the
// disk: a power cut may bring back the old record, or leave an empty file
// (see ReadVolatile).
func WriteVolatile(path string, v any) error {
	data, err := marshal(v)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path))
	if err != nil {
		return err
	}
	// CreateTemp makes it 0600, as renameio's.
	_, err = f.Write(data)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Sync flushes a record written without waiting for the disk (by
// WriteVolatile, or another library's writer), or a directory's entries
// of records, to the disk.
func Sync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func marshal(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Read reads a record into v. An empty file is ErrEmpty.
func Read(path string, v any) error {
	data, err := smallfile.Read(path)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("%s: %w", path, ErrEmpty)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadVolatile reads a record WriteVolatile wrote. After a power cut such
// a file can be there but empty (its data never reached the disk): that
// is as if it were missing, fs.ErrNotExist.
func ReadVolatile(path string, v any) error {
	err := Read(path, v)
	if errors.Is(err, ErrEmpty) {
		return fs.ErrNotExist
	}
	return err
}
