package definition

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ctr-unit/ctr-unit/container"
)

// quadletKeys are the [Container] keys of podman 5.8.2's quadlet
// (pkg/systemd/quadlet/quadlet.go, supportedContainerKeys).
var quadletKeys = strings.Fields(`AddCapability AddDevice AddHost Annotation AppArmor AutoUpdate
CgroupsMode ContainerName ContainersConfModule DNS DNSOption DNSSearch DropCapability Entrypoint
Environment EnvironmentFile EnvironmentHost Exec ExposeHostPort GIDMap GlobalArgs Group GroupAdd
HealthCmd HealthInterval HealthLogDestination HealthMaxLogCount HealthMaxLogSize HealthOnFailure
HealthRetries HealthStartPeriod HealthStartupCmd HealthStartupInterval HealthStartupRetries
HealthStartupSuccess HealthStartupTimeout HealthTimeout HostName HttpProxy IP IP6 Image Label
LogDriver LogOpt Mask Memory Mount Network NetworkAlias NoNewPrivileges Notify PidsLimit Pod
PodmanArgs PublishPort Pull ReadOnly ReadOnlyTmpfs ReloadCmd ReloadSignal RemapGid RemapUid
RemapUidSize RemapUsers Retry RetryDelay Rootfs RunInit SeccompProfile Secret SecurityLabelDisable
SecurityLabelFileType SecurityLabelLevel SecurityLabelNested SecurityLabelType ServiceName ShmSize
StartWithPod StopSignal StopTimeout SubGIDMap SubUIDMap Sysctl Timezone Tmpfs UIDMap Ulimit Unmask
User UserNS Volume VolatileTmp WorkingDir`)

// Every key of quadlet's is read (a setting has it) or refused by name;
// none is both, so a key that gets a setting must leave refusedKeys.
func TestEveryQuadletKeyIsReadOrRefused(t *testing.T) {
	for _, k := range quadletKeys {
		_, read := container.KeySetting(k)
		_, refused := refusedKeys[k]
		if read == refused {
			t.Errorf("%s=: read %v, refused %v; want exactly one", k, read, refused)
		}
	}
	for k := range refusedKeys {
		if _, ok := container.KeySetting(k); ok {
			t.Errorf("%s= has a setting and is refused", k)
		}
	}
}

func options(t *testing.T, text string) (container.Options, Problems) {
	t.Helper()
	f, err := Parse("/etc/ctr-unit/web.container", strings.NewReader(text))
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return f.Options()
}

// Each key is read as quadlet reads it, then its specifiers and $ as
// systemd reads them in quadlet's ExecStart=.
func TestKeysReadAsQuadlet(t *testing.T) {
	for _, tc := range []struct {
		lines string
		check func(container.Options) any
		want  any
	}{
		// One pair of quotes goes from single values (Lookup).
		{`Image="localhost/x"`, func(o container.Options) any { return o.Image }, "localhost/x"},
		{`WorkingDir="/srv"`, func(o container.Options) any { return o.WorkDir }, "/srv"},
		{`HostName='box'`, func(o container.Options) any { return o.Hostname }, "'box'"},
		// Escapes stay in single values, as quadlet keeps them.
		{`HostName=a\x2db`, func(o container.Options) any { return o.Hostname }, `a\x2db`},
		// Command lines split as systemd's, escapes decoded.
		{`Exec=/bin/x --a \` + "\n" + `  arg "two words" \x41`, func(o container.Options) any { return o.Command }, []string{"/bin/x", "--a", "arg", "two words", "A"}},
		// Only the last Exec= counts.
		{"Exec=a b\nExec=c", func(o container.Options) any { return o.Command }, []string{"c"}},
		// Environment=: a later KEY wins, sorted by KEY, as quadlet.
		{"Environment=B=1 A=2\nEnvironment=B=3", func(o container.Options) any { return o.Env }, []string{"A=2", "B=3"}},
		// An empty assignment empties a list...
		{"Environment=A=1\nEnvironment=\nEnvironment=B=2", func(o container.Options) any { return o.Env }, []string{"B=2"}},
		{"Volume=/a:/a\nVolume=\nTmpfs=/t\nTmpfs=", func(o container.Options) any { return len(o.Volumes) + len(o.Tmpfs) }, 0},
		// ... and means the default for a single value.
		{"Memory=1g\nMemory=", func(o container.Options) any { return o.MemoryMax }, uint64(0)},
		{"User=1000\nUser=", func(o container.Options) any { return o.User }, ""},
		// Entrypoint= passes an empty value: it clears the image's.
		{"Entrypoint=", func(o container.Options) any { return o.Entrypoint }, []string{}},
		// Raw keys keep quotes (quadlet's LookupAll).
		{`Tmpfs=/t:size=1m`, func(o container.Options) any { return o.Tmpfs[0].Options }, []string{"nosuid", "nodev", "size=1m"}},
		// Specifiers as in quadlet's unit web.service.
		{`Volume=/srv/%N/%p:/data`, func(o container.Options) any { return o.Volumes[0].Source }, "/srv/web/web"},
		{`Environment=UNIT=%n I=%i H=%h D=%d P=%%`, func(o container.Options) any { return o.Env },
			[]string{"D=/run/credentials/ctr@web.service", "H=/root", "I=", "P=%", "UNIT=web.service"}},
		{"ContainerName=%N", func(o container.Options) any { return o.Name }, "web"},
		{`Exec=echo \x25N`, func(o container.Options) any { return o.Command }, []string{"echo", "web"}},
		// $$ is a $; a $ systemd leaves alone stays.
		{`Exec=sh -c 'echo $HOME $$HOME' $$PATH a$b`, func(o container.Options) any { return o.Command }, []string{"sh", "-c", "echo $HOME $HOME", "$PATH", "a$b"}},
		// Booleans.
		{"WaitNetwork=off", func(o container.Options) any { return o.NoNetworkWait }, true},
		{"EnvironmentHost=YES", func(o container.Options) any { return o.EnvHost }, true},
		{"VolatileTmp=true", func(o container.Options) any {
			return o.Tmpfs[0].Destination + " " + strings.Join(o.Tmpfs[0].Options, ",")
		}, "/tmp nosuid,nodev,rw,size=512M,mode=1777"},
		{"VolatileTmp=no", func(o container.Options) any { return len(o.Tmpfs) }, 0},
		// ctr-unit's older spelling, and quadlet's.
		{"Hostname=a\nHostName=b", func(o container.Options) any { return o.Hostname }, "b"},
		{"LogDriver=journald\nTimezone=Europe/Paris", func(o container.Options) any { return o.Timezone }, "Europe/Paris"},
		{"Mount=type=bind,src=./data,dst=/data", func(o container.Options) any { return o.Volumes[0].Source }, "/etc/ctr-unit/data"},
	} {
		o, probs := options(t, "[Container]\n"+tc.lines+"\n")
		if len(probs) > 0 {
			t.Errorf("%q: %v", tc.lines, probs)
			continue
		}
		if got := tc.check(o); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %#v, want %#v", tc.lines, got, tc.want)
		}
	}
}

// What quadlet reads differently from systemd, or what ctr-unit would
// read differently from quadlet, is refused at its line.
func TestKeysRefusedWhereReadingsDiffer(t *testing.T) {
	for _, tc := range []struct {
		lines, want string
	}{
		{"WaitNetwork=y", "WaitNetwork=y: want yes or no"},
		{"VolatileTmp=t", "VolatileTmp=t: want yes or no"},
		{"Exec=echo $HOME", "write $$ for a $"},
		{"Exec=echo ${HOME}/x", "write $$ for a $"},
		{"Environment=A=${B}", "write $$ for a $"},
		{`Exec=sh -c ""`, `an empty word ("") is dropped by quadlet`},
		{`Exec=echo \.`, `unknown escape \.`},
		{`Exec=echo "open`, "unbalanced"},
		{"Exec=echo %z", "%z"},
		{"ContainerName=systemd-%N", "name the file systemd-web.container"},
		{"Pod=db.pod", "Pod= is not supported: ctr-unit has no pods"},
		{"PodmanArgs=--privileged", "PodmanArgs= is not supported"},
		{"RemapUsers=auto", "RemapUsers= is not supported: ctr-unit runs containers without user namespaces"},
		{"hostname=x", "unknown key hostname in [Container] (keys are case-sensitive: HostName=)"},
		{"LogDriver=k8s-file", "LogDriver=k8s-file"},
		{"Mount=type=volume,source=data.volume,destination=/d", "no .volume units"},
		{"Mount=type=bind,source=/srv,destination=/d,relabel=private", "relabel=private"},
	} {
		_, probs := options(t, "[Container]\nRootfs=/r\n"+tc.lines+"\n")
		if len(probs) != 1 || probs[0].Line != 3 || !strings.Contains(probs[0].Msg, tc.want) {
			t.Errorf("%q: %v\nwant one problem at line 3 with %q", tc.lines, probs, tc.want)
		}
	}
}

// A drop-in's settings come after the file's; a problem in a drop-in
// names the drop-in and its line.
func TestDropInsOverrideAndReportTheirOwnLines(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "my-web.container")
	write := func(p, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(def, "[Container]\nRootfs=/r\nExec=sleep 1\nEnvironment=A=1\nMemory=1g\n")
	write(filepath.Join(dir, "my-web.container.d", "10-exec.conf"), "[Container]\nExec=sleep 2\nEnvironment=\nEnvironment=B=2\nMemory=\n")
	write(filepath.Join(dir, "my-.container.d", "20-bad.conf"), "[Container]\n\nStopSignal=NOPE\n")
	f, err := Load(def, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	o, probs := f.Options()
	if len(probs) != 1 || probs[0].File != filepath.Join(dir, "my-.container.d", "20-bad.conf") || probs[0].Line != 3 {
		t.Fatalf("problems %v, want one in 20-bad.conf at line 3", probs)
	}
	if !reflect.DeepEqual(o.Command, []string{"sleep", "2"}) || !reflect.DeepEqual(o.Env, []string{"B=2"}) || o.MemoryMax != 0 {
		t.Errorf("command %q, env %q, memory %d: want the drop-in's", o.Command, o.Env, o.MemoryMax)
	}
}

func unitSettings(t *testing.T, text string, defined ...string) ([]container.UnitSetting, Problems) {
	t.Helper()
	f, err := Parse("/etc/ctr-unit/web.container", strings.NewReader("[Container]\nRootfs=/r\n"+text))
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	return f.UnitSettings(func(name string) bool {
		for _, d := range defined {
			if d == name {
				return true
			}
		}
		return false
	})
}

// [Unit] and [Service] settings mean in ctr@web.service what they mean in
// quadlet's web.service.
func TestUnitSettingsMeanWhatTheyMeanInQuadletsUnit(t *testing.T) {
	got, probs := unitSettings(t, `[Unit]
Description=%N (%n, %i) 100%% \x41
Requires=db.container "cache.container" other.service
After=db.container
[Service]
Environment=A=%p
Restart=always
`, "db", "cache")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := []container.UnitSetting{
		{Section: "Unit", Name: "Description", Value: `web (web.service, ) 100%% \x41`},
		{Section: "Unit", Name: "Requires", Value: "ctr@db.service ctr@cache.service other.service"},
		{Section: "Unit", Name: "After", Value: "ctr@db.service"},
		{Section: "Service", Name: "Environment", Value: "A=web"},
		{Section: "Service", Name: "Restart", Value: "always"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestUnitSettingsRefusedAtTheirLines(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{"[Unit]\nRequires=db.container\n", "no container db is defined (no db.container file)"},
		{"[Unit]\nWants=net.network\n", "ctr-unit has no .network units"},
		{"[Unit]\nAfter=\n", "[Unit] After= (empty) would also empty what ctr-unit sets there"},
		{"[Unit]\nDescription=\\x25N\n", `\x25 is a % in systemd's escapes`},
		{"[Service]\nUser=nobody\n", "[Service] User= would run ctr-unit's steps and runc as that user"},
		{"[Service]\nDynamicUser=yes\n", "[Service] DynamicUser="},
		{"[Service]\nType=notify\n", "[Service] Type= is set by ctr-unit"},
		{"[Service]\nExecStart=/bin/x\n", "[Service] ExecStart= is set by ctr-unit"},
		{"[Service]\nExecStartPre=\n", "[Service] ExecStartPre= is set by ctr-unit"},
		{"[Service]\nUnsetEnvironment=\n", "[Service] UnsetEnvironment= (empty)"},
	} {
		_, probs := unitSettings(t, tc.text)
		if len(probs) != 1 || probs[0].Line != 4 || !strings.Contains(probs[0].Msg, tc.want) {
			t.Errorf("%q: %v\nwant one problem at line 4 with %q", tc.text, probs, tc.want)
		}
	}
}

func TestInstallAsQuadletAppliesIt(t *testing.T) {
	f, err := Parse("/etc/ctr-unit/web.container", strings.NewReader(`[Container]
Rootfs=/r
[Install]
WantedBy=a.target
WantedBy=
WantedBy="multi-user.target" b.target
RequiredBy=c.target
Alias=web2@web.service
Also=db.container
`))
	if err != nil {
		t.Fatal(err)
	}
	in, probs := f.InstallSettings(func(n string) bool { return n == "db" })
	want := Install{WantedBy: []string{"multi-user.target", "b.target"}, RequiredBy: []string{"c.target"}, Alias: []string{"web2@web.service"}}
	if len(probs) > 0 || !reflect.DeepEqual(in, want) {
		t.Errorf("got %+v, %v; want %+v", in, probs, want)
	}
	for _, tc := range []struct{ line, want string }{
		{"UpheldBy=multi-user.target", "UpheldBy= does nothing on systemd 252"},
		{"Alias=web2.service", "OTHER@web.service"},
		{"Alias=ctr@web.service", "OTHER@web.service"},
		{"Alias=x@other.service", "OTHER@web.service"},
		{"Also=db.container", "Also=db.container: ctr-unit applies"},
		{"Also=x.service", "Also=x.service"},
		{"WantedBy=%N.target", "quadlet does not expand specifiers in [Install]"},
		{"DefaultInstance=x", "unknown key DefaultInstance in [Install]"},
	} {
		f, err := Parse("/etc/ctr-unit/web.container", strings.NewReader("[Container]\nRootfs=/r\n[Install]\n"+tc.line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, probs := f.InstallSettings(func(string) bool { return false })
		if len(probs) != 1 || probs[0].Line != 4 || !strings.Contains(probs[0].Msg, tc.want) {
			t.Errorf("%q: %v\nwant one problem at line 4 with %q", tc.line, probs, tc.want)
		}
	}
}
