package imagestore

import "testing"

func TestSplitTransport(t *testing.T) {
	for _, tc := range []struct {
		ref, transport, details string
		ok                      bool
	}{
		{"busybox", "", "", false},
		{"busybox:1.36", "", "", false},
		{"localhost:5000/app:1", "", "", false},
		{"docker.io/library/busybox", "", "", false},
		{"docker:busybox", "", "", false},
		{"docker://busybox", "docker", "//busybox", true},
		{"oci-archive:/tmp/a.tar", "oci-archive", "/tmp/a.tar", true},
		{"docker-archive:/tmp/a.tar:app:1", "docker-archive", "/tmp/a.tar:app:1", true},
		{"oci:/srv/layout:app", "oci", "/srv/layout:app", true},
		{"dir:/srv/img", "dir", "/srv/img", true},
		{"containers-storage:app:1", "containers-storage", "app:1", true},
		{"sif:/x", "", "", false},
	} {
		tr, d, ok := SplitTransport(tc.ref)
		if tr != tc.transport || d != tc.details || ok != tc.ok {
			t.Errorf("SplitTransport(%q) = %q, %q, %v; want %q, %q, %v", tc.ref, tr, d, ok, tc.transport, tc.details, tc.ok)
		}
	}
}

func TestPullName(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for ref, want := range map[string]string{
		"busybox":                       "busybox",
		"docker://quay.io/app:1":        "quay.io/app:1",
		"app:1@" + d:                    "app@" + d,
		"localhost:5000/app:1@" + d:     "localhost:5000/app@" + d,
		"localhost:5000/app@" + d:       "localhost:5000/app@" + d,
		"docker://localhost:5000/app:1": "localhost:5000/app:1",
	} {
		if got := PullName(ref); got != want {
			t.Errorf("PullName(%q) = %q, want %q", ref, got, want)
		}
	}
}
