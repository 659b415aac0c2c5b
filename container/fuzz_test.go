package container

import (
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets for every parser of a container setting. Each reads any
// input without a panic, and what it accepts keeps the promise its
// callers rely on. Seeds are the table tests' values. make fuzz runs each
// for FUZZTIME; found cases are kept in testdata/fuzz.

func addAll(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func FuzzValidateName(f *testing.F) {
	addAll(f, "web", "a", "Web-1.prod_2", "0x", strings.Repeat("a", MaxNameLen), "", "-web", ".web", "we b", "we/b", "wé", "a\\b", "a%b", "a\nb")
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateName(s) != nil {
			return
		}
		// An accepted name goes into unit names, paths and unit files
		// as it is: nothing there may need escaping.
		if len(s) > MaxNameLen || strings.ContainsAny(s, "/\\%$;'\"\n\x00 ") || s == "." || s == ".." {
			t.Fatalf("ValidateName accepted %q", s)
		}
	})
}

func FuzzParseSignal(f *testing.F) {
	addAll(f, "TERM", "SIGTERM", "sigkill", "9", "HUP", "USR1", "RTMIN+3", "", "NOPE", "0", "99", "-1")
	f.Fuzz(func(t *testing.T, s string) {
		if sig, err := ParseSignal(s); err == nil && (sig < 1 || sig > 64) {
			t.Fatalf("ParseSignal(%q) = %d", s, sig)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	addAll(f, "65536", "64k", "1.5g", "2T", "512M", "1gb", "", "0", "-1m", "lots", "1x", "1e300", "9223372036854775807k")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n <= 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func FuzzParseCPUs(f *testing.F) {
	addAll(f, "1", "0.5", "1.5", "0", "-1", "inf", "+Inf", "NaN", "x", "1e300", "0.0000001", "1048576")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseCPUs(s); err == nil && (n == 0 || n > maxCPUs*1_000_000) {
			t.Fatalf("ParseCPUs(%q) = %d", s, n)
		}
	})
}

func FuzzParseCounts(f *testing.F) {
	addAll(f, "50", "-1", "0", "-2", "x", "1.5", "5", "30s", "1m30s", "-1s", "-3", "99999999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		ParsePidsLimit(s)
		ParseCount(s)
		if n, err := ParseSeconds(s); err == nil && n < 0 {
			t.Fatalf("ParseSeconds(%q) = %d", s, n)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1m30s", "disable", "10", "-1s", "0s", "10ns", "2562047h", "1.5h"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, zeroOK bool) {
		d, err := ParseDuration(s, zeroOK)
		if err == nil && (d < 0 || d == 0 && !zeroOK) {
			t.Fatalf("ParseDuration(%q, %v) = %v", s, zeroOK, d)
		}
	})
}

func FuzzParseRestartPolicy(f *testing.F) {
	addAll(f, "", "no", "always", "unless-stopped", "on-failure", "on-failure:0", "on-failure:5",
		"sometimes", "always:3", "on-failure:-1", "on-failure:x", "no:1", "On-Failure", "on-failure:99999999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseRestartPolicy(s)
		if err != nil {
			return
		}
		// What is stored reads back as the same policy.
		if q, err := ParseRestartPolicy(p.String()); err != nil || q != p {
			t.Fatalf("ParseRestartPolicy(%q) = %+v, which reads back as %+v, %v", s, p, q, err)
		}
	})
}

func FuzzParseHealthCommand(f *testing.F) {
	addAll(f, "curl -f http://x/", `["/bin/check", "-q"]`, `["CMD", "true"]`, `["CMD-SHELL", "exit 0"]`, "", "none", `["NONE"]`,
		`[1, 2]`, `["CMD"]`, `[]`, `["CMD-SHELL"]`, `[""]`, `["a"`, `null`, `["NONE", "x"]`)
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := ParseHealthCommand(s)
		if err != nil || argv == nil {
			return
		}
		if len(argv) < 2 || argv[0] != "CMD" && argv[0] != "CMD-SHELL" {
			t.Fatalf("ParseHealthCommand(%q) = %q", s, argv)
		}
	})
}

// checkMount holds what every accepted mount promises the spec and the
// unit: a clean absolute destination other than /, and for binds a clean
// absolute source.
func checkMount(t *testing.T, spec string, m Mount) {
	t.Helper()
	if !filepath.IsAbs(m.Destination) || filepath.Clean(m.Destination) != m.Destination || m.Destination == "/" {
		t.Fatalf("%q: destination %q", spec, m.Destination)
	}
	if m.Type == MountBind && (!filepath.IsAbs(m.Source) || filepath.Clean(m.Source) != m.Source) {
		t.Fatalf("%q: bind source %q", spec, m.Source)
	}
	for _, o := range m.Options {
		if o == "" || strings.Contains(o, ",") {
			t.Fatalf("%q: option %q", spec, o)
		}
	}
}

func FuzzParseVolume(f *testing.F) {
	addAll(f, "/srv/data:/data:ro", "cache:/cache", "./data:/data", "/a", "/a:b", "/a:/b:rx", "/a/../b:/c", "./x:/y",
		"/a:/", "/a:/b/../../c", "no way:/x", "/a:/b:ro,z,U", "vol:/x:rw,nocopy")
	f.Fuzz(func(t *testing.T, spec string) {
		if m, err := ParseVolume(spec, "/etc/ctr-unit"); err == nil {
			checkMount(t, spec, m)
		}
	})
}

func FuzzParseTmpfs(f *testing.F) {
	addAll(f, "/tmp:size=1m,mode=1777", "/t", "/t:ro", "tmp", "/tmp:size=1m,,x", "/tmp:a b", "/:size=1")
	f.Fuzz(func(t *testing.T, spec string) {
		if m, err := ParseTmpfs(spec); err == nil {
			checkMount(t, spec, m)
		}
	})
}

func FuzzParseMount(f *testing.F) {
	addAll(f, "type=bind,source=/srv,destination=/data", "type=bind,src=./srv,dst=/data,ro", `type=bind,"source=/a b",target=/data,readonly=false`,
		"type=volume,source=cache,destination=/cache,rw=false", "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=700", "type=tmpfs,dst=/t,ro",
		"source=/a,destination=/b", "type=bind,source=vol,destination=/b", "type=tmpfs,destination=/t,tmpfs-mode=rwx", `type=bind,"source=/a,destination=/b`)
	f.Fuzz(func(t *testing.T, spec string) {
		if m, err := ParseMount(spec, "/etc/ctr-unit"); err == nil {
			checkMount(t, spec, m)
		}
	})
}

// FuzzSettings gives any value to every setting of the table, as a flag
// would: the parsers the targets above do not name (labels, env,
// annotations, users, entrypoints, networks...) included.
func FuzzSettings(f *testing.F) {
	addAll(f, "a=b", "A", `["/bin/sh", "-c"]`, "1000:1000", "root", "host", "none", "bridge", "key=", "=v", "Europe/Paris", "local",
		"/srv:/x", "on-failure:3", "10s", "1g", "1.5", "SIGINT", "true", "false", "healthy", "kill", "conmon", "\x00", "a\nb", "$HOME", "%n")
	f.Fuzz(func(t *testing.T, value string) {
		for _, s := range Settings {
			if s.FromKey != nil {
				s.FromKey(value)
			}
			if s.Set != nil {
				var o Options
				s.Set(&o, value)
			}
		}
	})
}
