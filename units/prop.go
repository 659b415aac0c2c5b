package units

// Prop is one property of a transient unit as D-Bus carries it: a Go value
// of D-Bus's type (string, bool, int32, uint32, uint64, []string,
// []ExecCommand, []Monotonic, ExitStatusSet, FD). The model stays free of
// any D-Bus library; package sdbus sends the values as they are.
type Prop struct {
	Name  string
	Value any
}

// Aux is an auxiliary unit created in the same call as the main one (a
// healthcheck's service beside its timer).
type Aux struct {
	Name  string
	Props []Prop
}

// FD is a file descriptor handed to systemd with a property
// (StandardInputFileDescriptor and such).
type FD int

// ExecCommand is one command of an Exec*= property, D-Bus's (sasb).
type ExecCommand struct {
	Path string
	Argv []string
	// IgnoreFailure is systemd's "-" prefix. ctr-unit never sets it: a
	// failing container would count as a success and Restart=on-failure
	// would never fire.
	IgnoreFailure bool
}

// Monotonic is one entry of a timer's TimersMonotonic, D-Bus's (st).
type Monotonic struct {
	Base string
	USec uint64
}

// ExitStatusSet is SuccessExitStatus= and such, D-Bus's (aiai).
type ExitStatusSet struct {
	Codes   []int32
	Signals []int32
}

// P makes a Prop.
func P(name string, value any) Prop { return Prop{Name: name, Value: value} }

// Exec makes an Exec*= property of the given commands, each an argv.
func Exec(name string, cmds ...[]string) Prop {
	v := make([]ExecCommand, 0, len(cmds))
	for _, c := range cmds {
		v = append(v, ExecCommand{Path: c[0], Argv: c})
	}
	return P(name, v)
}
