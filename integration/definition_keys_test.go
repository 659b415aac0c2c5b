//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctr-unit/ctr-unit/units"
)

// A definition's Volume= (a host directory and a named volume), Tmpfs=,
// ShmSize= and User= are what the container runs with, started by
// systemctl through the generated unit.
func TestDefinitionVolumesTmpfsAndUser(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	name, vol := e.name("keys"), e.name("vol")
	unit := units.TemplateInstance(name)
	out := t.TempDir()
	// The container runs as 1000: it may write here.
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	path := e.defineFile(name, fmt.Sprintf(`[Container]
Rootfs=%s
Exec=sh -c 'id -u >/out/uid; id -g >/out/gid; cat /proc/mounts >/out/mounts; cat /data/marker >/out/marker; echo from the container >/data/written; touch /out/done; trap "exit 0" TERM; sleep 1000 & wait'
Volume=%s:/out
Volume=%s:/data
Tmpfs=/scratch:size=1m
ShmSize=16m
User=1000
Group=1001
`, rootfs, out, vol))
	if got := e.must("validate", path); !strings.Contains(got, "ok") {
		t.Fatalf("validate: %q", got)
	}

	// Any command syncs the file's record, which makes its named volume,
	// as create would; the unit has not run.
	var vols []struct{ Mountpoint string }
	if err := json.Unmarshal([]byte(e.must("volume", "inspect", vol)), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("volume inspect %s: %v %v", vol, err, vols)
	}
	data := vols[0].Mountpoint
	if err := os.WriteFile(filepath.Join(data, "marker"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o777); err != nil {
		t.Fatal(err)
	}

	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	e.waitFor("the container's files", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(out, "done"))
		return err == nil
	})
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%v", err)
		}
		return strings.TrimSpace(string(b))
	}
	if uid, gid := read(filepath.Join(out, "uid")), read(filepath.Join(out, "gid")); uid != "1000" || gid != "1001" {
		t.Errorf("id -u, id -g in the container: %q %q, want 1000 1001", uid, gid)
	}
	if info, err := os.Stat(filepath.Join(out, "uid")); err == nil {
		if st, ok := info.Sys().(interface{ Uid() uint32 }); ok && st.Uid() != 1000 {
			t.Errorf("the file on the host belongs to %d", st.Uid())
		}
	}
	mounts := read(filepath.Join(out, "mounts"))
	var scratch, shm string
	for _, l := range strings.Split(mounts, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		switch f[1] {
		case "/scratch":
			scratch = f[2] + " " + f[3]
		case "/dev/shm":
			shm = f[2] + " " + f[3]
		}
	}
	if !strings.HasPrefix(scratch, "tmpfs ") || !strings.Contains(scratch, "size=1024k") || !strings.Contains(scratch, "nosuid") {
		t.Errorf("/scratch in the container: %q, want a 1m tmpfs\n%s", scratch, mounts)
	}
	if !strings.HasPrefix(shm, "tmpfs ") || !strings.Contains(shm, "size=16384k") {
		t.Errorf("/dev/shm in the container: %q, want 16m", shm)
	}
	if got := read(filepath.Join(out, "marker")); got != "from the host" {
		t.Errorf("the container read %q from the named volume", got)
	}
	if got := read(filepath.Join(data, "written")); got != "from the container" {
		t.Errorf("the named volume holds %q", got)
	}
	var users []struct{ UsedBy []string }
	if err := json.Unmarshal([]byte(e.must("volume", "inspect", vol)), &users); err != nil || len(users) != 1 || !slices.Contains(users[0].UsedBy, name) {
		t.Errorf("volume inspect does not name %s as a user: %v %v", name, users, err)
	}
	e.must("stop", name)
}

// A bad Volume= is reported with its line by validate, and the container
// does not start: a malformed one is skipped by the generator, a host
// directory that is missing fails the unit's first step.
func TestDefinitionBadVolumeIsReportedAndNotStarted(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	malformed, missing := e.name("badvol"), e.name("nohost")
	gone := filepath.Join(t.TempDir(), "gone")
	paths := map[string]string{
		malformed: e.defineFile(malformed, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sleep 1000\nVolume=%s:relative\n", rootfs, t.TempDir())),
		missing:   e.defineFile(missing, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sleep 1000\nVolume=%s:/data\n", rootfs, gone)),
	}
	for _, n := range []string{malformed, missing} {
		u := units.TemplateInstance(n)
		t.Cleanup(func() { exec.Command("systemctl", "reset-failed", u).Run() })
	}
	want := map[string]string{
		malformed: paths[malformed] + `:4: Volume=`,
		missing:   paths[missing] + ":4: Volume=" + gone + ":/data: host path " + gone + " does not exist",
	}
	for n, msg := range want {
		r := e.ctr("validate", paths[n])
		if r.code != 125 || !strings.Contains(r.stderr, msg) {
			t.Errorf("validate %s: %s; want exit 125 and %q", n, r, msg)
		}
	}
	if r := e.ctr("validate", paths[malformed]); !strings.Contains(r.stderr, `container path "relative" must be absolute`) {
		t.Errorf("validate does not say what is wrong: %s", r)
	}

	systemctl(t, "daemon-reload")
	if _, err := os.Stat(filepath.Join(generatedDir, units.TemplateInstance(malformed)+".d")); !os.IsNotExist(err) {
		t.Errorf("generator wrote a unit for the malformed file: %v", err)
	}
	for _, n := range []string{malformed, missing} {
		u := units.TemplateInstance(n)
		if err := exec.Command("systemctl", "start", u).Run(); err == nil {
			t.Errorf("systemctl start %s succeeded", u)
		}
		if got := isActive(u); got == "active" || got == "activating" {
			t.Errorf("%s is %s", u, got)
		}
		if msg := e.fails("start", n); !strings.Contains(msg, "Volume=") && !strings.Contains(msg, gone) {
			t.Errorf("ctr-unit start %s: %q, want the volume named", n, msg)
		}
		if r := e.ctr("inspect", n); r.code == 0 {
			t.Errorf("%s has a record: %s", n, r.stdout)
		}
	}
}

// With Image=, a user name is looked up and a named volume filled from the
// container's layer, as create IMAGE does; a changed file is resolved
// again as the unit next starts, in the layer it keeps.
func TestDefinitionWithImageResolvesVolumesAndUserInItsLayer(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	e.must("image", "load", "-i", testImage(t, "oci", "app:1", appConfig, appLayer))
	name, data, app := e.name("imgkeys"), e.name("data"), e.name("app")
	unit := units.TemplateInstance(name)
	exe := `Exec=sh -c 'echo "user $(id -u):$(id -g)"; ls /data'`
	path := e.defineFile(name, "[Container]\nImage=app:1\n"+exe+"\nVolume="+data+":/data\nUser=nobody\n")
	if out := e.must("validate", path); !strings.Contains(out, "ok") {
		t.Fatalf("validate: %q", out)
	}
	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	e.waitStatus(name, "exited", 10*time.Second)
	layer, _ := e.record(name)
	if logs := e.must("logs", name); !strings.Contains(logs, "user 65534:65534") || !strings.Contains(logs, "seed.txt") {
		t.Errorf("logs %q: want nobody's IDs from the image's /etc/passwd and the image's /data copied into the volume", logs)
	}

	e.defineFile(name, "[Container]\nImage=app:1\n"+exe+"\nVolume="+data+":/data\nVolume="+app+":/app:ro\nUser=0\nGroup=5\n")
	systemctl(t, "daemon-reload")
	systemctl(t, "start", unit)
	e.waitFor("the second run", 10*time.Second, func() bool { return strings.Contains(e.must("logs", name), "user 0:5") })
	if again, _ := e.record(name); again != layer {
		t.Errorf("the same image got a new layer")
	}
	var vols []struct{ Mountpoint string }
	if err := json.Unmarshal([]byte(e.must("volume", "inspect", app)), &vols); err != nil || len(vols) != 1 {
		t.Fatalf("volume inspect %s: %v", app, err)
	}
	if _, err := os.Stat(filepath.Join(vols[0].Mountpoint, "hello.txt")); err != nil {
		t.Errorf("the new volume was not filled from the layer's /app: %v", err)
	}
}

// A file written for quadlet runs as quadlet would run it: its drop-ins
// apply, specifiers are those of quadlet's NAME.service, $$ is a $, [Unit]
// dependencies on X.container start X's unit, Alias= names the unit too,
// and the newer keys (Timezone=, VolatileTmp=, Mount=, EnvironmentHost=)
// act. generate unit prints the drop-in the generator writes.
func TestDefinitionFileReadAsQuadletReadsIt(t *testing.T) {
	e := newEnv(t)
	e.installTemplate()
	db, web := e.name("q-db"), e.name("q-web")
	alias := "quadlet-alias@" + web + ".service"
	e.defineFile(db, fmt.Sprintf("[Container]\nRootfs=%s\nExec=sh -c '%s'\n", rootfs, termable))
	path := e.defineFile(web, fmt.Sprintf(`[Unit]
Description=%%N, as quadlet names it
Requires=%s.container
After=%s.container

[Container]
ContainerName=%%N
Rootfs=%s
Exec=sh -c 'echo "tz=$$(head -c 4 /etc/localtime) name=$$NAME unit=$$UNIT host=$$FROM_UNIT \
  tmp=$$(grep -c " /tmp tmpfs " /proc/mounts) data=$$(grep -c " /data tmpfs " /proc/mounts)"; %s'
Environment=NAME=%%N UNIT=%%n
EnvironmentHost=yes
Timezone=UTC
VolatileTmp=yes
Mount=type=tmpfs,destination=/data,tmpfs-size=1m

[Service]
Environment=FROM_UNIT=service-section

[Install]
WantedBy=multi-user.target
Alias=%s
`, db, db, rootfs, termable, alias))
	dropIns := path + ".d"
	if err := os.MkdirAll(dropIns, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dropIns) })
	if err := os.WriteFile(filepath.Join(dropIns, "10-name.conf"), []byte("[Container]\nEnvironment=NAME=from-a-drop-in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.must("validate", path); !strings.Contains(got, "ok") {
		t.Fatalf("validate: %q", got)
	}
	systemctl(t, "daemon-reload")
	unit := "ctr@" + web + ".service"
	generated, err := os.ReadFile(filepath.Join(generatedDir, unit+".d", "50-ctr-unit.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// The steps' command lines name the binary that wrote them: here the
	// generator's copy, and the test's binary.
	settings := func(text string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if !strings.HasPrefix(l, "Exec") {
				out = append(out, l)
			}
		}
		return out
	}
	printed := e.must("generate", "unit", web)
	_, printedDropIn, _ := strings.Cut(printed, "# "+filepath.Join(generatedDir, unit+".d", "50-ctr-unit.conf")+"\n")
	if got, want := settings(printedDropIn), settings(string(generated)); !slices.Equal(got[:min(len(got), len(want))], want) {
		t.Errorf("generate unit %s:\n%s\nthe generator wrote:\n%s", web, printed, generated)
	}
	if !strings.Contains(printed, "# "+filepath.Join(generatedDir, alias)+" -> ") {
		t.Errorf("generate unit %s shows no alias:\n%s", web, printed)
	}

	systemctl(t, "start", "ctr@"+web)
	if got := isActive("ctr@" + db); got != "active" {
		t.Errorf("Requires=%s.container did not start ctr@%s: %s", db, db, got)
	}
	// VolatileTmp= and Mount= mount tmpfs on /tmp and /data.
	e.waitJournal(unit, "tz=TZif name=from-a-drop-in unit="+web+".service host=service-section    tmp=1 data=1") // the continuation keeps the blanks
	if got := unitProperty(t, unit, "Description"); got != web+", as quadlet names it" {
		t.Errorf("Description: %q", got)
	}
	if got := unitProperty(t, alias, "Id"); got != unit {
		t.Errorf("Alias=%s names %q", alias, got)
	}
	e.must("stop", web, db)

	// What quadlet would refuse, or would run otherwise, is refused at
	// its line, and the generator skips the file.
	bad := e.name("q-bad")
	badPath := e.defineFile(bad, fmt.Sprintf("[Container]\nRootfs=%s\nExec=echo $HOME\nPodmanArgs=--privileged\n[Service]\nUser=nobody\n[Install]\nUpheldBy=multi-user.target\n", rootfs))
	r := e.ctr("validate", badPath)
	for _, line := range []int{3, 4, 6, 8} {
		if !strings.Contains(r.stderr, fmt.Sprintf("%s:%d: ", badPath, line)) {
			t.Errorf("validate: no problem at line %d: %s", line, r)
		}
	}
	systemctl(t, "daemon-reload")
	if _, err := os.Stat(filepath.Join(generatedDir, "ctr@"+bad+".service.d")); !os.IsNotExist(err) {
		t.Errorf("the generator wrote a drop-in for %s: %v", bad, err)
	}
}
