package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ctr-unit/ctr-unit/container"
)

// settingFlag is a container setting (container.Settings) as a flag of
// run and create. It is parsed by the setting's own parser as it is set,
// so a bad value fails the command before anything is stored, and it keeps
// the values as given, so generate systemd --new replays the user's words.
type settingFlag struct {
	s   container.Setting
	o   *container.Options
	raw []string
}

func (f *settingFlag) Set(v string) error {
	if err := f.s.Set(f.o, v); err != nil {
		return err
	}
	if f.s.List {
		f.raw = append(f.raw, v)
	} else {
		f.raw = []string{v}
	}
	return nil
}

func (f *settingFlag) String() string {
	if len(f.raw) == 0 {
		return ""
	}
	return f.raw[len(f.raw)-1]
}

func (f *settingFlag) Type() string {
	switch {
	case f.s.Bool:
		return "bool"
	case f.s.List:
		return "stringArray"
	}
	return "string"
}

// The pflag.SliceValue of a repeatable flag.
func (f *settingFlag) GetSlice() []string { return f.raw }

func (f *settingFlag) Append(v string) error { return f.Set(v) }

func (f *settingFlag) Replace(vs []string) error {
	f.raw = nil
	for _, v := range vs {
		if err := f.Set(v); err != nil {
			return err
		}
	}
	return nil
}

// bindSettings binds every container setting that has a flag to cmd,
// parsing into o. Relative host paths are from the working directory.
func bindSettings(cmd *cobra.Command, o *container.Options) {
	o.BaseDir, _ = os.Getwd()
	// --env NAME passes the caller's variable, as in podman.
	o.Environ = os.Environ
	fs := cmd.Flags()
	for _, s := range container.Settings {
		if s.Flag == "" {
			continue
		}
		f := fs.VarPF(&settingFlag{s: s, o: o}, s.Flag, s.Short, s.Usage)
		if s.Bool {
			f.NoOptDefVal = "true"
		}
		f.Hidden = s.Hidden
	}
}

// settingValues are the values a flag of cmd was given, as given.
func settingValues(f *pflag.Flag) []string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return []string{f.Value.String()}
}
