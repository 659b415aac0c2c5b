#!/bin/bash
# start-cpu.sh: the CPU one start of a template instance costs (the unit's
# cgroup, from systemctl start of the stopped instance to its container
# running), with its prepare-start in ctr-unit-step (LEAN), the same with
# ctr-unit's prepare-start (FULL, a drop-in override), and a bare runc unit
# with LEAN's bundle (the floor), taking turns.
#
# In a box that bench-scale keeps up (go run ./bench/scale -n 100 -kinds
# ctr-unit -keep -health 0 -box NAME, which prints STATE and BIN):
#   hack/sysbox exec NAME-keep100 -- $PWD/bench/scale/start-cpu.sh STATE BIN [LEAN FULL ROUNDS]
set -euo pipefail
ST=$1 BIN=$2 L=${3:-c5} F=${4:-c6} N=${5:-12}
override=/run/systemd/system/ctr@$F.service.d
mkdir -p "$override"
printf '[Service]\nExecStart=\nExecStart=%s/ctr-unit --state-dir %s --runtime-dir /run/ctr-unit internal prepare-start %s\n' "$BIN" "$ST" "$F" >"$override/99-full.conf"
trap 'rm -rf "$override" /tmp/start-cpu-floor; systemctl daemon-reload' EXIT
systemctl daemon-reload
floor=/tmp/start-cpu-floor
rm -rf "$floor" && mkdir -p "$floor"
cp /run/ctr-unit/containers/"$L"/{hostname,hosts,resolv.conf} "$floor"/
sed "s#\"cgroupsPath\":\"[^\"]*\"#\"cgroupsPath\":\"/system.slice/start-cpu-floor.service/ctr\"#; s#/run/ctr-unit/containers/$L/#$floor/#g" \
	/run/ctr-unit/containers/"$L"/config.json >"$floor"/config.json
runc=$(command -v runc)
cpu() { systemctl show -P CPUUsageNSec "$1"; }
for _ in $(seq "$N"); do
	systemd-run -q --unit start-cpu-floor.service -p Type=forking -p PIDFile=/run/start-cpu-floor.pid -p Delegate=yes \
		-p KillMode=mixed -p KillSignal=SIGKILL -p ExecStopPost="$runc --root /run/start-cpu-floor delete --force fl" \
		"$runc" --root /run/start-cpu-floor run -d --pid-file /run/start-cpu-floor.pid --bundle "$floor" fl
	sleep 0.5
	f=$(cpu start-cpu-floor.service)
	systemctl stop start-cpu-floor.service
	systemctl reset-failed start-cpu-floor.service 2>/dev/null || true
	for u in "$L" "$F"; do systemctl stop "ctr@$u.service"; systemctl reset-failed "ctr@$u.service" 2>/dev/null || true; done
	systemctl start "ctr@$L.service"; sleep 0.5; l=$(cpu "ctr@$L.service")
	systemctl start "ctr@$F.service"; sleep 0.5; u=$(cpu "ctr@$F.service")
	echo "floor $f lean $l full $u"
	sleep 1.2 # systemd's start limit: 5 starts in 10 s
done | awk '{print; a+=$2; b+=$4; c+=$6; n++}
	END {printf "mean ms: floor %.1f  ctr-unit-step %.1f (%.2fx)  ctr-unit %.1f (%.2fx)\n", a/n/1e6, b/n/1e6, b/a, c/n/1e6, c/a}'
