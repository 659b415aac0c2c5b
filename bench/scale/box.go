package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// box is one throwaway systemd (hack/sysbox, cgroup v2) with its persisted
// unit directories: etc-systemd-system, etc-systemd-system-generators and
// etc-ctr-unit below persist, seen at /etc/... inside.
type box struct {
	c       *config
	name    string
	persist string // "" for a box nothing of which outlives a boot
}

func (c *config) newBox(suffix, persist string) *box {
	return &box{c: c, name: c.box + "-" + suffix, persist: persist}
}

func (b *box) sysbox(args ...string) error {
	cmd := exec.Command(filepath.Join(b.c.repo, "hack", "sysbox"), args...)
	// 500 podman containers take minutes to boot on two cores.
	cmd.Env = append(os.Environ(), "SYSBOX_BOOT_TIMEOUT=900", "SYSBOX_STOP_TIMEOUT=120")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/sysbox %s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (b *box) up() error {
	args := []string{"up", b.name, "v2"}
	if b.persist != "" {
		args = append(args, "--persist", b.persist)
	}
	err := b.sysbox(args...)
	if err != nil {
		if s := unfinishedBoot(err.Error()); s != "" {
			return fmt.Errorf("%s (%w)", s, err)
		}
	}
	return err
}

// unfinishedBoot sums up the job list hack/sysbox prints for a boot that
// did not finish in time: how many of the containers' units were still
// starting, or waiting to start again after a failed start. "" if out is
// not that.
func unfinishedBoot(out string) string {
	const timedOut = "did not boot within "
	i := strings.Index(out, timedOut)
	if i < 0 {
		return ""
	}
	within, _, _ := strings.Cut(out[i+len(timedOut):], " ")
	restarting, starting := 0, 0
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) != 4 || !strings.HasSuffix(f[1], ".service") {
			continue
		}
		switch f[2] + " " + f[3] {
		case "restart waiting":
			restarting++
		case "start running", "start waiting":
			starting++
		}
	}
	return fmt.Sprintf("the boot did not finish within %s: %d units waiting to start again after a failed start, %d starting", within, restarting, starting)
}

func (b *box) reboot() error { return b.sysbox("reboot", b.name) }

func (b *box) down() error { return b.sysbox("down", b.name) }

// downOrSay takes the box down, for a defer: a box that does not go down
// (seen once, a healthcheck box) is said on stderr, with how to remove it.
func (b *box) downOrSay() {
	if err := b.down(); err != nil {
		fmt.Fprintf(os.Stderr, "bench-scale: box %s left up (hack/sysbox down %s removes it): %v\n", b.name, b.name, err)
	}
}

// exec runs a command in the box and returns its standard output.
func (b *box) exec(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(b.c.repo, "hack", "sysbox"), append([]string{"exec", b.name, "--"}, args...)...)
	cmd.Dir = b.c.work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("in box %s: %s: %v: %s", b.name, strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		os.Stderr.Write(stderr.Bytes())
	}
	return stdout.String(), nil
}

// innerJSON runs "scale inner WHAT ARGS" in the box and decodes its
// output into v.
func (b *box) innerJSON(v any, what string, args ...string) error {
	argv := append([]string{filepath.Join(b.c.work, "bin", "scale"), "inner", what, "-work", b.c.work}, args...)
	out, err := b.exec(argv...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("inner %s: %v: %s", what, err, out)
	}
	return nil
}

// write puts a file below the box's persisted directory.
func (b *box) write(rel, text string, mode os.FileMode) error {
	path := filepath.Join(b.persist, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), mode)
}

// link makes an enablement symlink below the box's persisted directory.
func (b *box) link(rel, target string) error {
	path := filepath.Join(b.persist, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, path)
}
