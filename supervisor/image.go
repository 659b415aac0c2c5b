package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ctr-unit/ctr-unit/healthcheck"
	"github.com/ctr-unit/ctr-unit/imagestore"
	"github.com/ctr-unit/ctr-unit/ociruntime"
	"github.com/ctr-unit/ctr-unit/volume"
)

// Mount types of Mount.Type.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one of a container's own mounts (beyond /proc, /dev, ...).
type Mount struct {
	Type string `json:"Type"`
	// Name is the volume's, for named volumes.
	Name string `json:"Name,omitempty"`
	// Source is the host directory (bind, and a volume's data).
	Source      string   `json:"Source,omitempty"`
	Destination string   `json:"Destination"`
	ReadOnly    bool     `json:"ReadOnly,omitempty"`
	Options     []string `json:"Options,omitempty"`
}

// ErrVolumeInUse is returned when removing a volume containers use.
var ErrVolumeInUse = errors.New("volume is in use by a container")

// StorageOptions says where the image store of these paths lives: layers
// under the state directory, mount counts under the runtime directory
// (gone at reboot, as the mounts are).
func (p Paths) StorageOptions(driver string) imagestore.Options {
	return imagestore.Options{
		GraphRoot: filepath.Join(p.StateDir, "storage"),
		RunRoot:   filepath.Join(p.RuntimeDir, "storage"),
		Driver:    driver,
	}
}

func (p Paths) volumeDir() string { return filepath.Join(p.StateDir, "volumes") }

// images opens the image store with the given driver ("" detects, or
// finds the one the store was made with).
func (s *Supervisor) images(driver string) (*imagestore.Store, error) {
	return imagestore.Open(s.paths.StorageOptions(driver))
}

// ImageStore opens the image store for the image commands; the caller
// closes it.
func (s *Supervisor) ImageStore() (*imagestore.Store, error) {
	return s.images(s.storageDriver)
}

// Volumes opens the named volumes.
func (s *Supervisor) Volumes() (*volume.Store, error) {
	return volume.Open(s.paths.volumeDir())
}

// setImageAndMounts checks and records what a container takes from an
// image and its mounts; it runs inside newConfig and is pure. o has the
// image's defaults already (see imageDefaults).
func (cfg *Config) setImageAndMounts(o CreateOptions) error {
	if o.Image != "" && o.Rootfs != "" {
		return fmt.Errorf("%w: container %s: give an IMAGE or --rootfs DIR, not both", ErrInvalid, o.Name)
	}
	cfg.Image, cfg.ImageID = o.Image, o.ImageID
	if o.User != "" {
		cfg.User = o.User
		if uid, gid, ok := numericUser(o.User); ok {
			cfg.UID, cfg.GID = uid, gid
		} else if strings.ContainsAny(o.User, "/ \t\n") || strings.HasPrefix(o.User, ":") || strings.Count(o.User, ":") > 1 {
			return fmt.Errorf("%w: user %q: use NAME, UID, NAME:GROUP or UID:GID", ErrInvalid, o.User)
		}
	}
	for _, v := range o.Volumes {
		m, err := ParseVolume(v)
		if err != nil {
			return fmt.Errorf("%w: container %s: %w", ErrInvalid, o.Name, err)
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	for _, t := range o.Tmpfs {
		m, err := ParseTmpfs(t)
		if err != nil {
			return fmt.Errorf("%w: container %s: %w", ErrInvalid, o.Name, err)
		}
		cfg.Mounts = append(cfg.Mounts, m)
	}
	seen := map[string]bool{}
	for _, m := range cfg.Mounts {
		if seen[m.Destination] {
			return fmt.Errorf("%w: container %s: two mounts on %s", ErrInvalid, o.Name, m.Destination)
		}
		seen[m.Destination] = true
	}
	if o.ShmSize != "" {
		n, err := ParseSize(o.ShmSize)
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: --shm-size %q: use a size such as 64m or 1g", ErrInvalid, o.ShmSize)
		}
		cfg.ShmSize = n
	}
	return nil
}

// numericUser parses UID[:GID].
func numericUser(spec string) (uid, gid uint32, ok bool) {
	u, g, hasGroup := strings.Cut(spec, ":")
	un, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, false
	}
	gn := un
	if hasGroup {
		if gn, err = strconv.ParseUint(g, 10, 32); err != nil {
			return 0, 0, false
		}
	}
	return uint32(un), uint32(gn), true
}

// ParseVolume parses -v HOSTDIR:CTRDIR[:ro|rw] (a bind mount) or
// -v NAME:CTRDIR[:ro|rw] (a named volume).
func ParseVolume(spec string) (Mount, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Mount{}, fmt.Errorf("volume %q: use HOSTDIR:CTRDIR[:ro] or NAME:CTRDIR[:ro]", spec)
	}
	m := Mount{Source: parts[0], Destination: parts[1]}
	if len(parts) == 3 {
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				m.ReadOnly = true
			case "rw":
				m.ReadOnly = false
			default:
				return Mount{}, fmt.Errorf("volume %q: unknown option %q (ro or rw)", spec, opt)
			}
		}
	}
	if err := checkDestination(m.Destination); err != nil {
		return Mount{}, fmt.Errorf("volume %q: %w", spec, err)
	}
	switch {
	case strings.HasPrefix(m.Source, "/"):
		if slices.Contains(strings.Split(m.Source, "/"), "..") {
			return Mount{}, fmt.Errorf("volume %q: host path must not contain ..", spec)
		}
		m.Type, m.Source = MountBind, filepath.Clean(m.Source)
	case strings.HasPrefix(m.Source, "."):
		return Mount{}, fmt.Errorf("volume %q: host path must be absolute", spec)
	default:
		if err := volume.ValidName(m.Source); err != nil {
			return Mount{}, fmt.Errorf("volume %q: %w", spec, err)
		}
		m.Type, m.Name, m.Source = MountVolume, m.Source, ""
	}
	return m, nil
}

// ParseTmpfs parses --tmpfs CTRDIR[:OPTIONS] (options as mount(8) takes
// them, e.g. size=64m,mode=1777).
func ParseTmpfs(spec string) (Mount, error) {
	dest, opts, _ := strings.Cut(spec, ":")
	if err := checkDestination(dest); err != nil {
		return Mount{}, fmt.Errorf("tmpfs %q: %w", spec, err)
	}
	m := Mount{Type: MountTmpfs, Source: "tmpfs", Destination: dest, Options: []string{"nosuid", "nodev"}}
	if opts != "" {
		for _, o := range strings.Split(opts, ",") {
			if o == "" || strings.ContainsAny(o, " \t") {
				return Mount{}, fmt.Errorf("tmpfs %q: bad option %q", spec, o)
			}
			if o == "ro" {
				m.ReadOnly = true
			}
			m.Options = append(m.Options, o)
		}
	}
	return m, nil
}

// checkDestination refuses a mount point that is not a plain absolute
// path: .. could name a place outside the container's root.
func checkDestination(dest string) error {
	if !strings.HasPrefix(dest, "/") {
		return fmt.Errorf("container path %q must be absolute", dest)
	}
	if slices.Contains(strings.Split(dest, "/"), "..") {
		return fmt.Errorf("container path %q must not contain .. (it would escape the container's root)", dest)
	}
	if filepath.Clean(dest) == "/" {
		return fmt.Errorf("container path %q: cannot mount over the root", dest)
	}
	return nil
}

// ParseSize parses a size such as 65536, 64k, 64m or 1g (powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1<<10, t[:n-1]
		case 'm':
			mult, t = 1<<20, t[:n-1]
		case 'g':
			mult, t = 1<<30, t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: use a number with an optional k, m or g", s)
	}
	return n * mult, nil
}

// imageDefaults resolves o.Image and fills what the user left unset from
// the image's config: the command (entrypoint plus the user's arguments or
// the image's Cmd), environment (the user's entries win), working
// directory, user and stop signal, as podman does.
func (s *Supervisor) imageDefaults(o CreateOptions) (CreateOptions, error) {
	if o.Image == "" {
		return o, nil
	}
	if o.Rootfs != "" {
		return o, fmt.Errorf("%w: container %s: give an IMAGE or --rootfs DIR, not both", ErrInvalid, o.Name)
	}
	store, err := s.ImageStore()
	if err != nil {
		return o, err
	}
	defer store.Close()
	img, err := store.Inspect(o.Image)
	if err != nil {
		return o, fmt.Errorf("container %s: %w", o.Name, err)
	}
	o = applyImageConfig(o, img.Config)
	o.ImageID = img.ID
	return o, nil
}

// applyImageConfig is imageDefaults' pure part.
func applyImageConfig(o CreateOptions, c imagestore.Config) CreateOptions {
	o.Command = commandLine(o.Entrypoint, o.Command, c.Entrypoint, c.Cmd)
	o.Env = mergeEnv(c.Env, o.Env)
	if o.WorkDir == "" {
		o.WorkDir = c.WorkingDir
	}
	if o.User == "" {
		o.User = c.User
	}
	if o.StopSignal == "" {
		o.StopSignal = c.StopSignal
	}
	o.Health = imageHealthDefaults(o.Health, c.Healthcheck)
	return o
}

// ParseEntrypoint reads an --entrypoint value (or a definition file's
// Entrypoint=) as podman does: a JSON array is the exec form, any other
// string one program path (not split on spaces), and "" clears the
// image's entrypoint (an empty, non-nil result; so does []). A value that
// starts as an array but is not one is refused, not run as a path.
func ParseEntrypoint(s string) ([]string, error) {
	if s == "" {
		return []string{}, nil
	}
	if !strings.HasPrefix(strings.TrimSpace(s), "[") {
		return []string{s}, nil
	}
	argv := []string{}
	if err := json.Unmarshal([]byte(s), &argv); err != nil {
		return nil, fmt.Errorf(`%w: entrypoint %s is not a JSON array of strings (%w): write it as '["PROGRAM","ARG"]', or give a plain program path`, ErrInvalid, s, err)
	}
	if len(argv) > 0 && argv[0] == "" {
		return nil, fmt.Errorf(`%w: entrypoint %s names no program: give '["PROGRAM","ARG"]', or "" to clear the image's entrypoint`, ErrInvalid, s)
	}
	return argv, nil
}

// commandLine is the argv a container runs, as podman composes it: the
// entrypoint, the user's (nil: none given) or else the image's, followed
// by the user's arguments or, when there are none, the image's Cmd. A
// user's entrypoint drops the image's Cmd, which was written for the
// image's own entrypoint; an empty one only clears the image's entrypoint,
// so the Cmd stays. A container without an image passes nil for both.
func commandLine(entrypoint, args, imageEntrypoint, imageCmd []string) []string {
	if entrypoint == nil {
		entrypoint = imageEntrypoint
	} else if len(entrypoint) > 0 {
		imageCmd = nil
	}
	if len(args) == 0 {
		args = imageCmd
	}
	return append(slices.Clone(entrypoint), args...)
}

// imageHealthDefaults fills the healthcheck options the user left unset
// from the image's HEALTHCHECK, as podman does. --no-healthcheck, and an
// image's "NONE", mean no check.
func imageHealthDefaults(o healthcheck.Options, h *imagestore.HealthConfig) healthcheck.Options {
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" || o.NoHealthcheck {
		return o
	}
	if o.Cmd == "" {
		// --health-cmd takes docker's JSON forms as they are.
		data, err := json.Marshal(h.Test)
		if err != nil {
			return o
		}
		o.Cmd = string(data)
	}
	setDuration := func(flag *string, d time.Duration) {
		if *flag == "" && d > 0 {
			*flag = d.String()
		}
	}
	setDuration(&o.Interval, h.Interval)
	setDuration(&o.Timeout, h.Timeout)
	setDuration(&o.StartPeriod, h.StartPeriod)
	if o.Retries == 0 && h.Retries > 0 {
		o.Retries = h.Retries
	}
	return o
}

// mergeEnv is base with over's entries replacing those of the same key.
func mergeEnv(base, over []string) []string {
	out := slices.Clone(base)
	for _, e := range over {
		k, _, _ := strings.Cut(e, "=")
		i := slices.IndexFunc(out, func(b string) bool { b, _, _ = strings.Cut(b, "="); return b == k })
		if i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}

// createRootfs makes what a new container's root needs before its record
// is stored: the read-write layer of an image container, named volumes
// (created, and filled from the image on first use), a user name looked
// up in the container's /etc/passwd. undo takes the layer back if the
// create fails after this.
func (s *Supervisor) createRootfs(cfg *Config) (undo func(), err error) {
	undo = func() {}
	var store *imagestore.Store
	if cfg.ImageID != "" {
		if store, err = s.ImageStore(); err != nil {
			return nil, err
		}
		defer store.Close()
		cfg.StorageDriver = store.Driver()
		if cfg.LayerID, err = store.CreateContainer(cfg.ImageID, fmt.Sprintf(`{"ctr-unit":%q}`, cfg.Name)); err != nil {
			return nil, fmt.Errorf("container %s: %w", cfg.Name, err)
		}
		undo = func() {
			if st, err := s.images(cfg.StorageDriver); err == nil {
				_ = st.DeleteContainer(cfg.LayerID)
				st.Close()
			}
		}
	}
	if err := s.setupRootfs(cfg, store); err != nil {
		undo()
		return nil, err
	}
	return undo, nil
}

func (s *Supervisor) setupRootfs(cfg *Config, store *imagestore.Store) error {
	for i, m := range cfg.Mounts {
		if m.Type == MountBind {
			if _, err := os.Stat(m.Source); err != nil {
				return fmt.Errorf("%w: container %s: volume source %s: %w", ErrInvalid, cfg.Name, m.Source, err)
			}
		}
		if m.Type == MountVolume {
			vols, err := s.Volumes()
			if err != nil {
				return err
			}
			v, err := vols.Ensure(m.Name)
			if err != nil {
				return fmt.Errorf("container %s: %w", cfg.Name, err)
			}
			cfg.Mounts[i].Source = v.Mountpoint
		}
	}
	needsUser := cfg.User != "" && !isNumericUser(cfg.User)
	needsCopy := slices.ContainsFunc(cfg.Mounts, func(m Mount) bool { return m.Type == MountVolume })
	if !needsUser && !needsCopy {
		return nil
	}
	root := cfg.Rootfs
	if store != nil {
		dir, err := store.Mount(cfg.LayerID)
		if err != nil {
			return fmt.Errorf("container %s: %w", cfg.Name, err)
		}
		defer store.Unmount(cfg.LayerID, false)
		root = dir
	}
	if needsUser {
		uid, gid, err := lookupUser(root, cfg.User)
		if err != nil {
			return fmt.Errorf("%w: container %s: %w", ErrInvalid, cfg.Name, err)
		}
		cfg.UID, cfg.GID = uid, gid
	}
	if needsCopy {
		vols, err := s.Volumes()
		if err != nil {
			return err
		}
		for _, m := range cfg.Mounts {
			if m.Type == MountVolume {
				if _, err := vols.CopyUp(m.Name, root, m.Destination); err != nil {
					return fmt.Errorf("container %s: %w", cfg.Name, err)
				}
			}
		}
	}
	return nil
}

func isNumericUser(spec string) bool { _, _, ok := numericUser(spec); return ok }

// lookupUser finds a user (and group) name in the container's
// /etc/passwd and /etc/group, resolved inside its root.
func lookupUser(root, spec string) (uid, gid uint32, err error) {
	passwd, err := securejoin.SecureJoin(root, "/etc/passwd")
	if err != nil {
		return 0, 0, err
	}
	group, err := securejoin.SecureJoin(root, "/etc/group")
	if err != nil {
		return 0, 0, err
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{}, passwd, group)
	if err != nil {
		return 0, 0, fmt.Errorf("user %q: %w", spec, err)
	}
	return uint32(u.Uid), uint32(u.Gid), nil
}

// specMounts maps a container's mounts to the OCI spec's.
func specMounts(cfg *Config) []specs.Mount {
	out := make([]specs.Mount, 0, len(cfg.Mounts))
	for _, m := range cfg.Mounts {
		sm := specs.Mount{Destination: m.Destination, Source: m.Source}
		switch m.Type {
		case MountTmpfs:
			sm.Type, sm.Options = "tmpfs", m.Options
		default:
			mode := "rw"
			if m.ReadOnly {
				mode = "ro"
			}
			sm.Type, sm.Options = "bind", []string{"rbind", mode, "rprivate"}
		}
		out = append(out, sm)
	}
	return out
}

// mountRootfsStep is the unit's step that mounts an image container's
// layer before runc runs; containers with a rootfs directory have none
// (their start stays as short as it was). A definition file's unit is
// generated before its layer exists: Image= is what tells.
func mountRootfsStep(cfg *Config, st steps) [][]string {
	if cfg.LayerID == "" && cfg.Image == "" {
		return nil
	}
	return [][]string{st.argv("mount-rootfs", cfg.Name)}
}

// MountRootfs is an image container's ExecStartPre step: it mounts the
// container's layer and points the bundle's root at it. The stop-post step
// unmounts it, however the container stopped.
func (s *Supervisor) MountRootfs(name string) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	if cfg.LayerID == "" {
		return nil
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return fmt.Errorf("container %s: %w", name, err)
	}
	defer store.Close()
	// A start after a failed one may find the layer still mounted: one
	// mount per run, so the stop step's unmount leaves none.
	if n, err := store.Mounted(cfg.LayerID); err == nil && n > 0 {
		if err := store.Unmount(cfg.LayerID, true); err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
	}
	dir, err := store.Mount(cfg.LayerID)
	if err != nil {
		return fmt.Errorf("container %s: %w (ctr-unit rm and create it again if its layer is gone)", name, err)
	}
	if err := ociruntime.SetRoot(s.paths.bundle(name), dir); err != nil {
		_ = store.Unmount(cfg.LayerID, true)
		return fmt.Errorf("container %s: %w", name, err)
	}
	return nil
}

// releaseRootfs unmounts an image container's layer after it stopped
// (stop-post step). Nothing is left mounted, whoever mounted it.
func (s *Supervisor) releaseRootfs(cfg *Config) error {
	if cfg.LayerID == "" {
		return nil
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return err
	}
	defer store.Close()
	return store.Unmount(cfg.LayerID, true)
}

// deleteRootfs deletes a removed container's layer.
func (s *Supervisor) deleteRootfs(cfg *Config) error {
	if cfg.LayerID == "" {
		return nil
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.DeleteContainer(cfg.LayerID); err != nil {
		return fmt.Errorf("remove container %s: %w", cfg.Name, err)
	}
	return nil
}

// Sizes are a container's file system sizes, as podman's inspect --size.
type Sizes struct {
	// RootFs is the image's size plus what the container wrote.
	RootFs int64
	// Rw is what the container wrote into its layer.
	Rw int64
}

// Sizes measures an image container's file system; a container with a
// rootfs directory has none (nil).
func (s *Supervisor) Sizes(name string) (*Sizes, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return nil, err
	}
	if cfg.LayerID == "" {
		return nil, nil
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	rw, err := store.DiffSize(cfg.LayerID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	img, err := store.ImageSize(cfg.ImageID)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", name, err)
	}
	return &Sizes{RootFs: img + rw, Rw: rw}, nil
}

// Export writes a container's file system as a tar.
func (s *Supervisor) Export(ctx context.Context, name string, w io.Writer) error {
	cfg, err := s.store.Config(name)
	if err != nil {
		return err
	}
	if cfg.LayerID == "" {
		return fmt.Errorf("%w: container %s runs from the directory %s; archive that (tar -C %s -c .)", ErrInvalid, name, cfg.Rootfs, cfg.Rootfs)
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return err
	}
	defer store.Close()
	return store.Export(cfg.LayerID, w)
}

// MountContainer mounts a container's layer for inspection and returns
// where; UnmountContainer takes that mount back.
func (s *Supervisor) MountContainer(name string) (string, error) {
	cfg, err := s.store.Config(name)
	if err != nil {
		return "", err
	}
	if cfg.LayerID == "" {
		return cfg.Rootfs, nil
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return "", err
	}
	defer store.Close()
	return store.Mount(cfg.LayerID)
}

// UnmountContainer undoes one MountContainer.
func (s *Supervisor) UnmountContainer(name string) error {
	cfg, err := s.store.Config(name)
	if err != nil || cfg.LayerID == "" {
		return err
	}
	store, err := s.images(cfg.StorageDriver)
	if err != nil {
		return err
	}
	defer store.Close()
	return store.Unmount(cfg.LayerID, false)
}

// containersUsing lists the containers cfg matches, by name.
func (s *Supervisor) containersUsing(match func(*Config) bool) ([]string, error) {
	names, err := s.store.Names()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		cfg, err := s.store.Config(n)
		if errors.Is(err, ErrNoSuchContainer) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if match(cfg) {
			out = append(out, n)
		}
	}
	return out, nil
}

// RemoveImage removes an image (or one of its names). One that containers
// use is refused unless force, which removes those containers first, as
// podman rmi -f does.
func (s *Supervisor) RemoveImage(ctx context.Context, ref string, force bool) (untagged bool, err error) {
	store, err := s.ImageStore()
	if err != nil {
		return false, err
	}
	defer store.Close()
	img, err := store.Inspect(ref)
	if err != nil {
		return false, err
	}
	if name, err := imagestore.NormalizeName(ref); err != nil || len(img.Names) < 2 || !slices.Contains(img.Names, name) {
		users, err := s.containersUsing(func(c *Config) bool { return c.ImageID == img.ID })
		if err != nil {
			return false, err
		}
		if len(users) > 0 && !force {
			return false, fmt.Errorf("%w: %s is used by container(s) %s; remove them first or use rmi -f", imagestore.ErrImageInUse, ref, strings.Join(users, ", "))
		}
		for _, n := range users {
			if err := s.Remove(ctx, n, true); err != nil {
				return false, err
			}
		}
	}
	return store.Remove(ref, force)
}

// RemoveVolume removes a named volume. One that containers use is refused
// unless force, which removes those containers first.
func (s *Supervisor) RemoveVolume(ctx context.Context, name string, force bool) error {
	vols, err := s.Volumes()
	if err != nil {
		return err
	}
	if _, err := vols.Get(name); err != nil {
		return err
	}
	users, err := s.containersUsing(func(c *Config) bool {
		return slices.ContainsFunc(c.Mounts, func(m Mount) bool { return m.Type == MountVolume && m.Name == name })
	})
	if err != nil {
		return err
	}
	if len(users) > 0 && !force {
		return fmt.Errorf("%w: volume %s is used by container(s) %s; remove them first or use volume rm -f", ErrVolumeInUse, name, strings.Join(users, ", "))
	}
	for _, n := range users {
		if err := s.Remove(ctx, n, true); err != nil {
			return err
		}
	}
	return vols.Remove(name)
}

// VolumeUsers lists the containers that use a volume.
func (s *Supervisor) VolumeUsers(name string) ([]string, error) {
	return s.containersUsing(func(c *Config) bool {
		return slices.ContainsFunc(c.Mounts, func(m Mount) bool { return m.Type == MountVolume && m.Name == name })
	})
}
