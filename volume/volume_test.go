package volume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.podman.io/storage/pkg/archive"
)

// copyTree is the copy rootfs gives CopyUp.
func copyTree(src, dst string) error { return archive.NewDefaultArchiver().CopyWithTar(src, dst) }

func TestCopyUpOnceAndNeverIntoNonEmpty(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "data/sub"), 0o755)
	os.WriteFile(filepath.Join(rootfs, "data/sub/f"), []byte("image"), 0o644)

	v, err := s.Create("v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("v1"); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v", err)
	}
	if copied, err := s.CopyUp("v1", rootfs, "/data", copyTree); err != nil || !copied {
		t.Fatalf("first copy-up: %v %v", copied, err)
	}
	if data, _ := os.ReadFile(filepath.Join(v.Mountpoint, "sub/f")); string(data) != "image" {
		t.Fatalf("copied content %q", data)
	}
	// Emptied by a user: still never filled again.
	os.RemoveAll(filepath.Join(v.Mountpoint, "sub"))
	if copied, err := s.CopyUp("v1", rootfs, "/data", copyTree); err != nil || copied {
		t.Errorf("second copy-up: %v %v", copied, err)
	}

	// A volume that already has content is never written into.
	v2, _ := s.Create("v2")
	os.WriteFile(filepath.Join(v2.Mountpoint, "mine"), []byte("user"), 0o644)
	if copied, err := s.CopyUp("v2", rootfs, "/data", copyTree); err != nil || copied {
		t.Errorf("copy-up into non-empty: %v %v", copied, err)
	}
	if _, err := os.Stat(filepath.Join(v2.Mountpoint, "sub")); !os.IsNotExist(err) {
		t.Errorf("image content copied into a non-empty volume")
	}
}

func TestCopyUpStaysInsideTheRoot(t *testing.T) {
	s, _ := Open(t.TempDir())
	rootfs := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600)
	// An image whose /data points out of its root.
	os.Symlink("../../../../../../../../"+outside, filepath.Join(rootfs, "data"))
	os.Symlink(outside, filepath.Join(rootfs, "abs"))
	for _, p := range []string{"/data", "/abs", "/../../../../" + outside} {
		v, err := s.Ensure("esc")
		if err != nil {
			t.Fatal(err)
		}
		s.CopyUp("esc", rootfs, p, copyTree)
		if _, err := os.Stat(filepath.Join(v.Mountpoint, "secret")); err == nil {
			t.Errorf("copy-up of %s copied a file from outside the container root", p)
		}
		s.Remove("esc")
	}
}

func TestNamesAndRemove(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, bad := range []string{"", "../x", "a/b", ".hidden", "-x"} {
		if _, err := s.Create(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Create(%q): %v", bad, err)
		}
	}
	s.Ensure("a")
	s.Ensure("b")
	if vs, _ := s.List(); len(vs) != 2 || vs[0].Name != "a" {
		t.Errorf("list %+v", vs)
	}
	if err := s.Remove("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNoSuchVolume) {
		t.Errorf("get removed: %v", err)
	}
	if err := s.Remove("a"); !errors.Is(err, ErrNoSuchVolume) {
		t.Errorf("remove removed: %v", err)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"data", "a", "db-1.v_2", strings.Repeat("a", 128)} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "a/b", "../x", "a b", strings.Repeat("a", 129)} {
		if err := ValidName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q) = %v, want ErrBadName", bad, err)
		}
	}
}

// The volume's top takes the owner and mode of the image's directory, as
// podman's copy-up does: the image's user (here 999) can write there.
func TestCopyUpTakesTheImageDirectorysOwnerAndMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	s, _ := Open(t.TempDir())
	rootfs := t.TempDir()
	data := filepath.Join(rootfs, "var/lib/db")
	os.MkdirAll(data, 0o755)
	os.WriteFile(filepath.Join(data, "seed"), []byte("x"), 0o644)
	os.Chown(data, 999, 998)
	os.Chmod(data, 0o770|os.ModeSetgid)
	v, _ := s.Create("db")
	if _, err := s.CopyUp("db", rootfs, "/var/lib/db", copyTree); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(v.Mountpoint)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != 999 || st.Gid != 998 || info.Mode()&(os.ModePerm|os.ModeSetgid) != 0o770|os.ModeSetgid {
		t.Errorf("volume top %d:%d %v, want 999:998 and the image directory's mode 2770", st.Uid, st.Gid, info.Mode())
	}
}
