package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctr-unit/ctr-unit/container"
	"github.com/ctr-unit/ctr-unit/definition"
	"github.com/ctr-unit/ctr-unit/supervisor"
)

// verdict is what one reader made of a setting: the stored config, or
// the problem's words without the flag's or key's name.
type verdict struct {
	stored  string
	problem string
}

// fromFlags parses run's own flags and builds the container, as run does.
func fromFlags(t *testing.T, args []string) verdict {
	t.Helper()
	var r supervisor.CreateRequest
	cmd := &cobra.Command{Use: "run"}
	newRootCommand(&app{}).AddCommand(cmd)
	createFlags(cmd, &r)
	if err := cmd.ParseFlags(append([]string{"--name", "web", "--rootfs", "/r"}, args...)); err != nil {
		// pflag: invalid argument "x" for "-m, --memory" flag: PROBLEM
		_, problem, _ := strings.Cut(err.Error(), " flag: ")
		return verdict{problem: problem}
	}
	r.Command = []string{"sh"}
	return build(t, r.Options)
}

// fromKeys reads a definition file's [Container] lines and builds the
// container, as a definition's record is made.
func fromKeys(t *testing.T, lines string) verdict {
	t.Helper()
	f, err := definition.Parse("/etc/ctr-unit/web.container", strings.NewReader("[Container]\nRootfs=/r\nExec=sh\n"+lines+"\n"))
	if err != nil {
		t.Fatalf("%q: %v", lines, err)
	}
	o, probs := f.Options()
	if len(probs) > 0 {
		// FILE:LINE: Key=value: PROBLEM
		msg := probs[0].Msg
		if _, rest, ok := strings.Cut(msg, "="); ok {
			if i := strings.Index(rest, ": "); i >= 0 {
				msg = rest[i+2:]
			}
		}
		return verdict{problem: msg}
	}
	return build(t, o)
}

func build(t *testing.T, o container.Options) verdict {
	t.Helper()
	cfg, err := container.Build(o, time.Time{})
	var probs container.Problems
	if errors.As(err, &probs) {
		// Compare the problem, not the words each reader names it with.
		return verdict{problem: probs[0].Setting + ": " + probs[0].Msg}
	}
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(cfg)
	return verdict{stored: string(data)}
}

// Every setting that is both a flag and a key means the same as either:
// the same value is accepted or refused alike, with the same words, and
// stored alike. Rows that once disagreed are marked.
func TestFlagsAndKeysAgree(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "web.env")
	os.WriteFile(envFile, []byte("# the web's\nA=1\n\nB=two words\n"), 0o644)
	badEnvFile := filepath.Join(t.TempDir(), "bad.env")
	os.WriteFile(badEnvFile, []byte("A=1\nnot a pair\n"), 0o644)
	rows := []struct {
		flags []string
		keys  string
		ok    bool
	}{
		{[]string{"--rootfs", "/srv/web"}, "Rootfs=/srv/web", true},
		{[]string{"--restart", "on-failure:3"}, "Restart=on-failure:3", true},
		{[]string{"--restart", "sometimes"}, "Restart=sometimes", false},
		{[]string{"-e", "A=1", "-e", "B=two words"}, `Environment=A=1 "B=two words"`, true},
		{[]string{"-e", "=x"}, "Environment==x", false},
		{[]string{"--label", "a=1", "--label", "b=two words", "-l", "c"}, `Label=a=1 "b=two words" c`, true},
		{[]string{"--label", "=x"}, "Label==x", false},
		{[]string{"-w", "/srv"}, "WorkingDir=/srv", true},
		{[]string{"-w", "srv"}, "WorkingDir=srv", false},
		{[]string{"--entrypoint", `["/bin/sh","-c"]`}, `Entrypoint=["/bin/sh","-c"]`, true},
		{[]string{"--entrypoint", `["sh",`}, `Entrypoint=["sh",`, false},
		{[]string{"--hostname", "box"}, "HostName=box", true},
		{[]string{"--hostname", "box"}, "Hostname=box", true}, // ctr-unit's older spelling
		{[]string{"--network", "none"}, "Network=none", true},
		{[]string{"--network", "bridge"}, "Network=bridge", true},
		{[]string{"--network", "web,db:alias=x"}, "Network=web,db:alias=x", true},
		{[]string{"--network", "web", "--network", "db"}, "Network=web\nNetwork=db", true},
		{[]string{"--network", "private"}, "Network=private", false},
		{[]string{"--network", "host,web"}, "Network=host,web", false},
		{[]string{"-p", "8080:80", "-p", "127.0.0.1:53:53/udp"}, "PublishPort=8080:80 127.0.0.1:53:53/udp", true},
		{[]string{"-p", "80"}, "PublishPort=80", true},
		{[]string{"-p", "70000:80"}, "PublishPort=70000:80", false},
		{[]string{"-p", "8080:80", "--network", "host"}, "PublishPort=8080:80\nNetwork=host", false},
		{[]string{"--ip", "10.87.0.9"}, "IP=10.87.0.9", true},
		{[]string{"--ip", "fd00::9"}, "IP=fd00::9", false},
		{[]string{"--ip6", "fd00::9"}, "IP6=fd00::9", true},
		{[]string{"--ip", "10.87.0.9", "--network", "web,db"}, "IP=10.87.0.9\nNetwork=web,db", false},
		{[]string{"--network-alias", "www", "--network-alias", "web2"}, "NetworkAlias=www web2", true},
		{[]string{"--network-alias", "a b"}, "NetworkAlias='a b'", false},
		{[]string{"--dns", "1.1.1.1", "--dns", "9.9.9.9"}, "DNS=1.1.1.1\nDNS=9.9.9.9", true},
		{[]string{"--dns", "none"}, "DNS=none", true},
		{[]string{"--dns", "none", "--dns", "1.1.1.1"}, "DNS=none\nDNS=1.1.1.1", false},
		{[]string{"--dns", "one.one"}, "DNS=one.one", false},
		{[]string{"--dns-search", "example.com"}, "DNSSearch=example.com", true},
		{[]string{"--dns-search", "bad domain"}, "DNSSearch=bad domain", false},
		{[]string{"--dns-option", "ndots:2"}, "DNSOption=ndots:2", true},
		{[]string{"--dns-option", "a b"}, "DNSOption=a b", false},
		{[]string{"--add-host", "db;db2:10.0.0.5", "--add-host", "v6:fd00::1"}, "AddHost=db;db2:10.0.0.5 v6:fd00::1", true},
		{[]string{"--add-host", "db"}, "AddHost=db", false},
		{[]string{"--stop-signal", "INT"}, "StopSignal=INT", true},
		{[]string{"--stop-signal", "NOPE"}, "StopSignal=NOPE", false},
		{[]string{"--stop-timeout", "30"}, "StopTimeout=30", true},
		{[]string{"--stop-timeout", "1m30s"}, "StopTimeout=1m30s", true},
		{[]string{"--stop-timeout", "soon"}, "StopTimeout=soon", false},
		{[]string{"--requires", "db", "--requires", "cache"}, "Requires=db cache", true},
		{[]string{"--requires", "-db"}, "Requires=-db", false},
		{[]string{"--requires", "web"}, "Requires=web", false},
		{[]string{"--no-network-wait"}, "WaitNetwork=no", true},
		{[]string{"--no-network-wait=false"}, "WaitNetwork=yes", true},
		{[]string{"--no-network-wait=maybe"}, "WaitNetwork=maybe", false},
		// Once disagreed: --memory 1.5g was accepted, Memory=1.5g refused.
		{[]string{"--memory", "1.5g"}, "Memory=1.5g", true},
		{[]string{"--memory", "2T"}, "Memory=2T", true},
		{[]string{"--memory", "lots"}, "Memory=lots", false},
		{[]string{"--memory", "0"}, "Memory=0", false},
		// Once disagreed: --cpus inf was refused, CPUs=inf accepted (and
		// stored as a quota of 2^63 µs).
		{[]string{"--cpus", "inf"}, "CPUs=inf", false},
		{[]string{"--cpus", "1.5"}, "CPUs=1.5", true},
		{[]string{"--cpus", "0"}, "CPUs=0", false},
		{[]string{"--pids-limit", "50"}, "PidsLimit=50", true},
		{[]string{"--pids-limit", "-1"}, "PidsLimit=-1", true},
		{[]string{"--pids-limit", "many"}, "PidsLimit=many", false},
		{[]string{"-u", "1000:100"}, "User=1000:100", true},
		{[]string{"-u", "a b"}, "User=a b", false},
		{[]string{"-v", "/srv/data:/data:ro", "-v", "cache:/cache"}, "Volume=/srv/data:/data:ro\nVolume=cache:/cache", true},
		{[]string{"-v", "/srv:data"}, "Volume=/srv:data", false},
		{[]string{"-v", "/a:/d", "-v", "/b:/d"}, "Volume=/a:/d\nVolume=/b:/d", false},
		{[]string{"--mount", "type=bind,source=/srv/data,destination=/data,ro"}, "Mount=type=bind,source=/srv/data,destination=/data,ro", true},
		{[]string{"--mount", "type=bind,src=/srv/data,dst=/data,readonly=true", "--mount", "type=volume,source=cache,target=/cache"}, "Mount=type=bind,src=/srv/data,dst=/data,readonly=true type=volume,source=cache,target=/cache", true},
		// A mount means what -v and --tmpfs mean.
		{[]string{"-v", "/srv/data:/data:ro", "--tmpfs", "/t:size=1048576,mode=1777"}, "Mount=type=bind,source=/srv/data,destination=/data,ro\nMount=type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1777", true},
		{[]string{"--mount", "type=image,source=x,destination=/x"}, "Mount=type=image,source=x,destination=/x", false},
		{[]string{"--mount", "type=bind,source=data,destination=/x"}, "Mount=type=bind,source=data,destination=/x", false},
		{[]string{"--mount", "type=bind,source=/srv,destination=/x,relabel=private"}, "Mount=type=bind,source=/srv,destination=/x,relabel=private", false},
		{[]string{"--mount", "type=tmpfs,destination=/x", "--tmpfs", "/x"}, "Mount=type=tmpfs,destination=/x\nTmpfs=/x", false},
		{[]string{"--tz", "Europe/Paris"}, "Timezone=Europe/Paris", true},
		{[]string{"--tz", "local"}, "Timezone=local", true},
		{[]string{"--tz", "../etc/passwd"}, "Timezone=../etc/passwd", false},
		{[]string{"--tz", "UTC", "-v", "/srv/tz:/etc/localtime"}, "Timezone=UTC\nVolume=/srv/tz:/etc/localtime", false},
		{[]string{"--env-host"}, "EnvironmentHost=yes", true},
		{[]string{"--env-host=false"}, "EnvironmentHost=false", true},
		{[]string{"--env-host=maybe"}, "EnvironmentHost=maybe", false},
		{[]string{"--log-driver", "journald"}, "LogDriver=journald", true},
		{[]string{"--log-driver", "k8s-file"}, "LogDriver=k8s-file", false},
		{[]string{"--tmpfs", "/scratch:size=1m"}, "Tmpfs=/scratch:size=1m", true},
		{[]string{"--tmpfs", "scratch"}, "Tmpfs=scratch", false},
		// Once disagreed: Memory=2T was accepted, ShmSize=2T refused.
		{[]string{"--shm-size", "2T"}, "ShmSize=2T", true},
		{[]string{"--shm-size", "64m"}, "ShmSize=64m", true},
		{[]string{"--shm-size", "0"}, "ShmSize=0", false},
		{[]string{"--health-cmd", "test -e /ok"}, "HealthCmd=test -e /ok", true},
		{[]string{"--health-cmd", `["CMD"]`}, `HealthCmd=["CMD"]`, false},
		{[]string{"--health-cmd", "true", "--health-interval", "1m30s"}, "HealthCmd=true\nHealthInterval=1m30s", true},
		{[]string{"--health-cmd", "true", "--health-interval", "10"}, "HealthCmd=true\nHealthInterval=10", false},
		{[]string{"--health-interval", "10s"}, "HealthInterval=10s", false},
		{[]string{"--health-cmd", "true", "--health-timeout", "2s"}, "HealthCmd=true\nHealthTimeout=2s", true},
		{[]string{"--health-cmd", "true", "--health-timeout", "0s"}, "HealthCmd=true\nHealthTimeout=0s", false},
		{[]string{"--health-cmd", "true", "--health-retries", "5"}, "HealthCmd=true\nHealthRetries=5", true},
		{[]string{"--health-cmd", "true", "--health-retries", "-1"}, "HealthCmd=true\nHealthRetries=-1", false},
		{[]string{"--health-cmd", "true", "--health-start-period", "3s"}, "HealthCmd=true\nHealthStartPeriod=3s", true},
		{[]string{"--health-cmd", "true", "--health-start-period", "x"}, "HealthCmd=true\nHealthStartPeriod=x", false},
		{[]string{"--health-cmd", "true", "--health-on-failure", "restart"}, "HealthCmd=true\nHealthOnFailure=restart", true},
		{[]string{"--health-cmd", "true", "--health-on-failure", "explode"}, "HealthCmd=true\nHealthOnFailure=explode", false},
		{[]string{"--health-cmd", "true", "--health-startup-cmd", "true", "--health-startup-interval", "1s", "--health-startup-timeout", "2s", "--health-startup-retries", "2", "--health-startup-success", "3"},
			"HealthCmd=true\nHealthStartupCmd=true\nHealthStartupInterval=1s\nHealthStartupTimeout=2s\nHealthStartupRetries=2\nHealthStartupSuccess=3", true},
		{[]string{"--health-cmd", "true", "--health-startup-cmd", "[1]"}, "HealthCmd=true\nHealthStartupCmd=[1]", false},
		{[]string{"--health-cmd", "true", "--health-startup-interval", "1s"}, "HealthCmd=true\nHealthStartupInterval=1s", false},
		{[]string{"--health-cmd", "true", "--health-startup-cmd", "true", "--health-startup-timeout", "0"}, "HealthCmd=true\nHealthStartupCmd=true\nHealthStartupTimeout=0", false},
		{[]string{"--health-cmd", "true", "--health-startup-cmd", "true", "--health-startup-retries", "x"}, "HealthCmd=true\nHealthStartupCmd=true\nHealthStartupRetries=x", false},
		{[]string{"--health-cmd", "true", "--health-startup-cmd", "true", "--health-startup-success", "-2"}, "HealthCmd=true\nHealthStartupCmd=true\nHealthStartupSuccess=-2", false},
		{[]string{"--health-cmd", "true", "--sdnotify", "healthy"}, "HealthCmd=true\nNotify=healthy", true},
		{[]string{"--sdnotify", "healthy"}, "Notify=healthy", false},
		{[]string{"--cap-add", "net_admin", "--cap-add", "CAP_SYS_TIME"}, "AddCapability=net_admin CAP_SYS_TIME", true},
		{[]string{"--cap-add", "ALL"}, "AddCapability=all", true},
		{[]string{"--cap-add", "FLY"}, "AddCapability=FLY", false},
		{[]string{"--cap-drop", "ALL", "--cap-drop", "net_raw"}, "DropCapability=ALL\nDropCapability=net_raw", true},
		{[]string{"--cap-drop", "CAP_NOPE"}, "DropCapability=CAP_NOPE", false},
		{[]string{"--read-only"}, "ReadOnly=yes", true},
		{[]string{"--read-only=false"}, "ReadOnly=no", true},
		{[]string{"--read-only=sometimes"}, "ReadOnly=sometimes", false},
		{[]string{"--read-only", "--read-only-tmpfs=false"}, "ReadOnly=true\nReadOnlyTmpfs=false", true},
		{[]string{"--read-only-tmpfs=maybe"}, "ReadOnlyTmpfs=maybe", false},
		{[]string{"--security-opt", "seccomp=/etc/ctr-unit/web.json"}, "SeccompProfile=/etc/ctr-unit/web.json", true},
		{[]string{"--security-opt", "seccomp=unconfined"}, "SeccompProfile=unconfined", true},
		{[]string{"--security-opt", "no-new-privileges"}, "NoNewPrivileges=true", true},
		{[]string{"--security-opt", "no-new-privileges=false"}, "NoNewPrivileges=no", true},
		{[]string{"--security-opt", "no-new-privileges=yes"}, "NoNewPrivileges=on", true},
		{[]string{"--device", "/dev/fuse", "--device", "/dev/sdc:/dev/xvdc:r"}, "AddDevice=/dev/fuse /dev/sdc:/dev/xvdc:r", true},
		{[]string{"--device", "/dev/net/tun:rw"}, "AddDevice=/dev/net/tun:rw", true},
		{[]string{"--device", "fuse"}, "AddDevice=fuse", false},
		{[]string{"--device", "/dev/fuse:/dev/fuse:rwx"}, "AddDevice=/dev/fuse:/dev/fuse:rwx", false},
		{[]string{"--device", "/dev/a:/dev/x", "--device", "/dev/b:/dev/x"}, "AddDevice=/dev/a:/dev/x /dev/b:/dev/x", false},
		{[]string{"--ulimit", "nofile=1024:4096", "--ulimit", "core=-1"}, "Ulimit=nofile=1024:4096\nUlimit=core=-1", true},
		{[]string{"--ulimit", "nofile=5:4"}, "Ulimit=nofile=5:4", false},
		{[]string{"--ulimit", "files=5"}, "Ulimit=files=5", false},
		{[]string{"--network", "none", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "--sysctl", "kernel.shmmax=1000000"}, "Network=none\nSysctl=net.ipv4.ip_unprivileged_port_start=80 kernel.shmmax=1000000", true},
		{[]string{"--sysctl", "net.ipv4.ip_forward=1"}, "Sysctl=net.ipv4.ip_forward=1", false},
		{[]string{"--sysctl", "kernel.panic=1"}, "Sysctl=kernel.panic=1", false},
		{[]string{"--env-file", envFile, "-e", "A=3"}, "EnvironmentFile=" + envFile + "\nEnvironment=A=3", true},
		{[]string{"--env-file", badEnvFile}, "EnvironmentFile=" + badEnvFile, false},
		{[]string{"--env-file", "/no/such/file"}, "EnvironmentFile=/no/such/file", false},
		{[]string{"--init"}, "RunInit=yes", true},
		{[]string{"--init=false"}, "RunInit=no", true},
		{[]string{"--init=often"}, "RunInit=often", false},
		{[]string{"--annotation", "com.example.k=v", "--annotation", "x=y"}, "Annotation=com.example.k=v x=y", true},
		{[]string{"--annotation", "novalue"}, "Annotation=novalue", false},
		{[]string{"--pull", "always"}, "Pull=always", false},
		{[]string{"--pull", "ifnewer"}, "Pull=ifnewer", false},
		{[]string{"--pull", "sometimes"}, "Pull=sometimes", false},
		{[]string{"--authfile", "/etc/ctr-unit/auth.json"}, "AuthFile=/etc/ctr-unit/auth.json", false},
	}
	covered := map[string]bool{}
	for _, row := range rows {
		for _, a := range row.flags {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				name, _, _ = strings.Cut(name, "=")
				covered[name] = true
			}
		}
		flags, keys := fromFlags(t, row.flags), fromKeys(t, row.keys)
		if (flags.problem == "") != row.ok || (keys.problem == "") != row.ok {
			t.Errorf("%q / %q: flags %+v, keys %+v; want accepted=%v", row.flags, row.keys, flags, keys, row.ok)
			continue
		}
		if flags != keys {
			t.Errorf("%q and %q disagree:\nflags %+v\nkeys  %+v", row.flags, row.keys, flags, keys)
		}
	}
	short := map[string]string{"e": "env", "w": "workdir", "u": "user", "v": "volume", "m": "memory", "l": "label", "p": "publish"}
	for _, row := range rows {
		for _, a := range row.flags {
			if s, ok := short[strings.TrimPrefix(a, "-")]; ok && strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") {
				covered[s] = true
			}
		}
	}
	for _, s := range container.Settings {
		if s.Flag != "" && s.Key != "" && !covered[s.Flag] {
			t.Errorf("no row for --%s and %s=", s.Flag, s.Key)
		}
	}
}
