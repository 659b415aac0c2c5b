#!/bin/sh
# What the default seccomp filter costs a container's start: the median
# wall time of `ctr-unit run --rm -- true` (a whole start and stop through
# systemd) with the default profile, with seccomp=unconfined, and with a
# profile file (read and converted at each start), and with podman's
# profile file if it is here, N runs each,
# interleaved so the machine's noise falls on all alike; beside it, podman
# run --rm with its default filter and without, if podman is here. Run it
# in a box:
#
#	hack/sysbox run v2 --name BOX -- bench/seccomp/start.sh [N]
set -eu
n=${1:-40}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -tags "$(cat buildtags/tags)" -o "$tmp/" ./cmd/ctr-unit ./cmd/ctr-unit-step ./cmd/ctr-unit-image
hack/mkrootfs "$tmp/rootfs" >/dev/null
go run ./bench/seccomp/dumpdefault > "$tmp/profile.json"
ctr="$tmp/ctr-unit --state-dir $tmp/state --runtime-dir $tmp/run"
modes="default unconfined file"
# podman's own profile, in ctr-unit: tells the profiles' cost from the
# rest of the two starts.
podman_profile=/usr/share/containers/seccomp.json
if [ -r $podman_profile ]; then modes="$modes file-of-podman"; fi
if command -v podman >/dev/null; then modes="$modes podman-default podman-unconfined"; fi
for mode in $modes; do : > "$tmp/$mode"; done
i=0
while [ $i -lt "$n" ]; do
	for mode in $modes; do
		run="$ctr run --rm --name sc-$mode"
		# A box's machine.slice has no pids controller: podman must not ask for one.
		case $mode in podman-*) run="podman run --rm --network none --pids-limit -1 --name sc-$mode" ;; esac
		case $mode in
		default) opt="" ;;
		*unconfined) opt="--security-opt seccomp=unconfined" ;;
		podman-default) opt="" ;;
		file) opt="--security-opt seccomp=$tmp/profile.json" ;;
		file-of-podman) opt="--security-opt seccomp=$podman_profile" ;;
		esac
		s=$(date +%s%N)
		$run $opt --rootfs "$tmp/rootfs" true >/dev/null
		echo $(( ($(date +%s%N) - s) / 1000 )) >> "$tmp/$mode"
	done
	i=$((i + 1))
done
for mode in $modes; do
	sort -n "$tmp/$mode" | awk -v m=$mode '{a[NR]=$1} END {printf "%-18s median %6.1f ms  p10 %6.1f ms  p90 %6.1f ms  (%d runs)\n", m, a[int((NR+1)/2)]/1000, a[int(NR*0.1)+1]/1000, a[int(NR*0.9)]/1000, NR}'
done
