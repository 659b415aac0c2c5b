package cgroupmgr

import "testing"

func TestModeString(t *testing.T) {
	for mode, want := range map[Mode]string{Unified: "v2", Hybrid: "hybrid", Legacy: "v1", Unavailable: "none", Mode(42): "none"} {
		if got := mode.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(mode), got, want)
		}
	}
}

func TestDetectIsStable(t *testing.T) {
	if a, b := Detect(), Detect(); a != b {
		t.Fatalf("Detect changed between calls: %v then %v", a, b)
	}
	t.Logf("host cgroup layout: %v", Detect())
}

func TestCleanPath(t *testing.T) {
	good := map[string]string{
		"/system.slice/ctr-web.service/ctr": "/system.slice/ctr-web.service/ctr",
		"/a//b/":                            "/a/b",
		"/a/./b":                            "/a/b",
	}
	for in, want := range good {
		got, err := cleanPath(in)
		if err != nil || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "/", "//", "/.", "relative/path", "/a/../..", "/a/../b"} {
		if got, err := cleanPath(bad); err == nil {
			t.Errorf("cleanPath(%q) = %q, want an error", bad, got)
		}
	}
}
