package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctr-unit/ctr-unit/definition"
)

// mountKeys are the [Container] keys of podman quadlet read here, as the
// create flags -v, --tmpfs, --shm-size and --user are.
var mountKeys = []string{"Volume", "Tmpfs", "ShmSize", "User", "Group"}

// mountsFromFile reads Volume=, Tmpfs=, ShmSize=, User= and Group= into o,
// checking each value with the code that checks the flags, so a file
// accepts exactly what create does, and naming the line of each problem.
// It touches no file unless checkFS (validate): named volumes and user
// names are resolved when the record is synced (syncDefinition), as
// create resolves them, never by the generator. o.Rootfs is read.
func mountsFromFile(f *definition.File, o *CreateOptions, checkFS bool) definition.Problems {
	var probs definition.Problems
	bad := func(line int, format string, args ...any) {
		probs = append(probs, definition.Problem{File: f.Path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	mounted := map[string]int{} // destination: line
	onePerPath := func(e definition.Entry, dest string) {
		if at, ok := mounted[dest]; ok {
			bad(e.Line, "%s=%s: %s is mounted already (line %d)", e.Key, e.Value, dest, at)
		}
		mounted[dest] = e.Line
	}
	for _, e := range f.All("Volume") {
		spec := e.Value
		src, rest, hasDest := strings.Cut(spec, ":")
		switch {
		case strings.HasPrefix(src, "."):
			// As quadlet: relative to the file's directory. A volume
			// name never starts with a dot.
			if hasDest {
				spec = filepath.Join(filepath.Dir(f.Path), src) + ":" + rest
			}
		case strings.HasSuffix(src, ".volume") && !strings.HasPrefix(src, "/"):
			bad(e.Line, "Volume=%s: ctr-unit has no .volume units; name the volume instead (NAME:%s), which is made on first use or with ctr-unit volume create", e.Value, rest)
			continue
		}
		m, err := ParseVolume(spec)
		if err != nil {
			bad(e.Line, "Volume=%s: %s", e.Value, strings.TrimPrefix(err.Error(), fmt.Sprintf("volume %q: ", spec)))
			continue
		}
		if checkFS && m.Type == MountBind {
			if _, err := os.Stat(m.Source); err != nil {
				bad(e.Line, "Volume=%s: host path %s does not exist", e.Value, m.Source)
			}
		}
		onePerPath(e, m.Destination)
		o.Volumes = append(o.Volumes, spec)
	}
	for _, e := range f.All("Tmpfs") {
		m, err := ParseTmpfs(e.Value)
		if err != nil {
			bad(e.Line, "Tmpfs=%s: %s", e.Value, strings.TrimPrefix(err.Error(), fmt.Sprintf("tmpfs %q: ", e.Value)))
			continue
		}
		onePerPath(e, m.Destination)
		o.Tmpfs = append(o.Tmpfs, e.Value)
	}
	if e, ok := f.Get("ShmSize"); ok {
		if n, err := ParseSize(e.Value); err != nil || n <= 0 {
			bad(e.Line, "ShmSize=%s: want a size above 0, such as 64m or 1g", e.Value)
		}
		o.ShmSize = e.Value
	}
	user, hasUser := f.Get("User")
	group, hasGroup := f.Get("Group")
	switch {
	case hasGroup && !hasUser:
		bad(group.Line, "Group=%s needs User=: give the user too (User=UID or NAME)", group.Value)
	case hasUser && user.Value == "":
		bad(user.Line, "User= is empty")
	case hasUser && checkUser(user.Value) != nil:
		bad(user.Line, "User=%s: use NAME, UID, NAME:GROUP or UID:GID", user.Value)
	case hasGroup && strings.Contains(user.Value, ":"):
		bad(group.Line, "Group=%s: User=%s names a group already; give one of them", group.Value, user.Value)
	case hasGroup && (group.Value == "" || checkUser(user.Value+":"+group.Value) != nil):
		bad(group.Line, "Group=%s: use a group NAME or GID", group.Value)
	case hasUser:
		o.User = user.Value
		if hasGroup {
			o.User += ":" + group.Value
		}
		if checkFS && o.Image == "" && !isNumericUser(o.User) {
			// A rootfs's users can be read now; an image's only once
			// its layer exists.
			if info, err := os.Stat(o.Rootfs); err == nil && info.IsDir() {
				if _, _, err := lookupUser(o.Rootfs, o.User); err != nil {
					bad(user.Line, "User=%s: %s (in the rootfs %s)", o.User, strings.TrimPrefix(err.Error(), fmt.Sprintf("user %q: ", o.User)), o.Rootfs)
				}
			}
		}
	}
	return probs
}

// checkUser checks a user spec as --user is checked (setImageAndMounts,
// which is pure), so that a file and the flag accept the same forms.
func checkUser(spec string) error {
	return (&Config{}).setImageAndMounts(CreateOptions{User: spec})
}

// keepResolved gives cfg, a definition's fresh config, what syncing it
// resolved before and cfg still asks for: the IDs of the same user, the
// directories of the same named volumes. Then a file that did not change
// leaves its record as it is.
func keepResolved(cfg, old *Config) {
	if cfg.User == old.User {
		cfg.UID, cfg.GID = old.UID, old.GID
	}
	for i, m := range cfg.Mounts {
		if m.Type != MountVolume {
			continue
		}
		for _, was := range old.Mounts {
			if was.Type == MountVolume && was.Name == m.Name && was.Source != "" {
				cfg.Mounts[i].Source = was.Source
				break
			}
		}
	}
}
