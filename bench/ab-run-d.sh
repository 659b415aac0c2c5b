#!/bin/bash
# ab-run-d.sh OLD NEW [ROUNDS]: run -d of an image container by two builds
# of ctr-unit taking turns, and of a rootfs container by NEW after them in
# each round; every container is removed before the next start. OLD and
# NEW are directories holding ctr-unit, ctr-unit-step and ctr-unit-image
# (go build -o DIR/ ./cmd/...) where the box sees them (under the checkout
# or /work). Prints the medians (ms, from the shell's exec to the exit).
#
# Two builds timed in one box, round by round, differ by less than the
# drift between two runs of make bench. In a box:
#   hack/sysbox run v2 --name BOX -- bench/ab-run-d.sh ab/old ab/new 40
set -eu
old=$(realpath "$1") new=$(realpath "$2") rounds=${3:-20}
work=$(mktemp -d /var/lib/ctr-unit-ab-XXXXXX)
run=$(mktemp -d /run/ctr-unit-ab-XXXXXX)
cu() { local v=$1; shift; "${!v}/ctr-unit" --state-dir "$work/$v" --runtime-dir "$run/$v" "$@"; }
cleanup() {
	for v in old new; do
		for c in $(cu "$v" ps -a --format '{{.Names}}' 2>/dev/null); do cu "$v" rm -f "$c" >/dev/null || true; done
	done
	rm -rf "$work" "$run"
}
trap cleanup EXIT

# A busybox root, and the same as an image in each build's store.
root=$work/rootfs
mkdir -p "$root/bin"
cp "$(command -v busybox)" "$root/bin/busybox"
for app in sh sleep; do ln -s busybox "$root/bin/$app"; done
tar -C "$root" -cf "$work/rootfs.tar" .
for v in old new; do cu "$v" image import "$work/rootfs.tar" ab:1 >/dev/null; done

cmd=(sh -c 'trap "exit 0" TERM; sleep 1000 & wait')
times=$work/times
for i in $(seq "$rounds"); do
	for k in old new rootfs; do
		v=$k args=(ab:1 "${cmd[@]}")
		if [ "$k" = rootfs ]; then v=new args=(--rootfs "$root" -- "${cmd[@]}"); fi
		sleep 0.3
		t0=$(date +%s%N)
		cu "$v" run -d --name "ab-$k-$i" "${args[@]}" >/dev/null
		t1=$(date +%s%N)
		echo "$k $(((t1 - t0) / 1000))" >>"$times"
		cu "$v" rm -f "ab-$k-$i" >/dev/null
	done
done
for k in old new rootfs; do
	what="run -d of an image container by $k"
	[ "$k" = rootfs ] && what="run -d of a rootfs container by new"
	awk -v k="$k" '$1 == k { print $2 }' "$times" | sort -n |
		awk -v w="$what" '{ v[NR] = $1 } END { printf "%-44s median %.1f ms (%d rounds)\n", w, v[int((NR + 1) / 2)] / 1000, NR }'
done
