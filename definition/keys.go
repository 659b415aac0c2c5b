package definition

// Why ctr-unit refuses a [Container] key of podman's quadlet
// (podman-systemd.unit(5)) that is no container.Setting. A file with one
// is refused, at the key's line, rather than run without it: it would
// mean something else than under quadlet. A key that gets a setting
// leaves this table (TestEveryQuadletKeyIsReadOrRefused).
const (
	notYet      = "ctr-unit does not have this yet"
	noPods      = "ctr-unit has no pods"
	notPodman   = "ctr-unit runs no podman: it takes no podman arguments or configuration"
	noUserNS    = "ctr-unit runs containers without user namespaces"
	noSELinux   = "ctr-unit sets no SELinux labels"
	healthLog   = "ctr-unit keeps a container's health log itself (ctr-unit inspect shows it)"
	ownCgroups  = "ctr-unit puts the container's cgroup below its unit's itself"
	unitName    = "the unit of NAME.container is always ctr@NAME.service"
	journalOnly = "ctr-unit's containers log to the journal, with no options"
)

var refusedKeys = map[string]string{
	"AppArmor":              "ctr-unit sets no AppArmor profile",
	"CgroupsMode":           ownCgroups,
	"ContainersConfModule":  notPodman,
	"ExposeHostPort":        notYet,
	"GIDMap":                noUserNS,
	"GlobalArgs":            notPodman,
	"GroupAdd":              notYet,
	"HealthLogDestination":  healthLog,
	"HealthMaxLogCount":     healthLog,
	"HealthMaxLogSize":      healthLog,
	"HttpProxy":             notYet,
	"LogOpt":                journalOnly,
	"Mask":                  notYet,
	"Pod":                   noPods,
	"PodmanArgs":            notPodman,
	"ReloadCmd":             notYet,
	"ReloadSignal":          notYet,
	"RemapGid":              noUserNS,
	"RemapUid":              noUserNS,
	"RemapUidSize":          noUserNS,
	"RemapUsers":            noUserNS,
	"Retry":                 notYet,
	"RetryDelay":            notYet,
	"Secret":                "ctr-unit has no podman secrets",
	"SecurityLabelDisable":  noSELinux,
	"SecurityLabelFileType": noSELinux,
	"SecurityLabelLevel":    noSELinux,
	"SecurityLabelNested":   noSELinux,
	"SecurityLabelType":     noSELinux,
	"ServiceName":           unitName,
	"StartWithPod":          noPods,
	"SubGIDMap":             noUserNS,
	"SubUIDMap":             noUserNS,
	"UIDMap":                noUserNS,
	"Unmask":                notYet,
	"UserNS":                noUserNS,
}
