#!/usr/bin/env bash
# Self-check for hack/sysbox: for each layout boot a box, check the cgroup
# layout inside, run a transient unit and check its cgroup, reboot and check
# the boot ID changed (and an enabled unit came up at boot), then tear down
# and check that nothing is left on the host. Needs root.
#
# Usage: hack/sysbox_test.sh [v2] [hybrid]    (default: both)
# SYSBOX_TEST_PREFIX sets the start of the boxes' names (default st<pid>).
set -euo pipefail

SYSBOX=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/sysbox
layouts=("$@")
[[ ${#layouts[@]} -gt 0 ]] || layouts=(v2 hybrid)

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# check DESC CMD...: pass when CMD succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}
# inbox BOX CMD...: run CMD inside BOX.
inbox() { local box=$1; shift; "$SYSBOX" exec "$box" -- "$@"; }

# host_procs NAME: host processes belonging to box NAME (by cgroup or by the
# launcher's command line). Other boxes may be running at the same time.
host_procs() {
	local name=$1 f pid
	for f in /proc/[0-9]*/cgroup; do
		pid=${f#/proc/}; pid=${pid%/cgroup}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		{
			if grep -qE "/sysbox-$name(-exec)?(/|\$)" "$f" ||
				tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "SYSBOX_NAME=$name "; then
				echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline")"
			fi
		} 2>/dev/null || true # processes come and go while we look
	done
}

test_layout() {
	local layout=$1 name="${SYSBOX_TEST_PREFIX:-st$$}${1:0:1}" persist t0 ms
	persist=$(mktemp -d /tmp/sysbox-test.XXXXXX)
	echo "== $layout (box $name)"
	local mounts_before
	mounts_before=$(cat /proc/mounts)

	t0=$EPOCHREALTIME
	if ! "$SYSBOX" up "$name" "$layout" --persist "$persist"; then
		bad "$layout: up"
		rm -rf "$persist"
		return
	fi
	ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
	ok "$layout: up in ${ms} ms"

	check "$layout: system state running" \
		test "$(inbox "$name" systemctl is-system-running)" = running
	check "$layout: no failed units" \
		test -z "$(inbox "$name" systemctl --failed --plain --no-legend)"
	check "$layout: SYSBOX and SYSBOX_LAYOUT set" \
		test "$(inbox "$name" sh -c 'echo $SYSBOX/$SYSBOX_LAYOUT')" = "$name/$layout"
	check "$layout: cwd preserved" test "$(inbox "$name" pwd)" = "$PWD"
	check "$layout: exit code propagated" sh -c "! '$SYSBOX' exec '$name' -- sh -c 'exit 3'; test \$? -eq 0 && '$SYSBOX' exec '$name' -- sh -c 'exit 3'; test \$? -eq 3"
	check "$layout: stdin passed through" test "$(echo hi | inbox "$name" cat)" = hi

	# The box's own network namespace: only lo, up; what is made inside
	# (here a bridge) is invisible on the host.
	local boxnet
	boxnet=$(inbox "$name" readlink /proc/self/ns/net)
	check "$layout: box has its own netns" test -n "$boxnet" -a "$boxnet" != "$(readlink /proc/self/ns/net)"
	check "$layout: systemd (PID 1) is in the box's netns" test "$(inbox "$name" readlink /proc/1/ns/net)" = "$boxnet"
	check "$layout: only lo in the box, up" \
		test "$(inbox "$name" ip -o link show | awk '{print $2}')" = "lo:" -a -n "$(inbox "$name" ip -o link show up lo)"
	inbox "$name" ip link add sbxtest0 type bridge || true
	check "$layout: a link made in the box exists there" inbox "$name" ip link show sbxtest0
	check "$layout: ... and not on the host" sh -c '! ip link show sbxtest0 >/dev/null 2>&1'
	inbox "$name" ip link del sbxtest0 || true

	if [[ $layout == v2 ]]; then
		check "v2: /sys/fs/cgroup is cgroup2" test "$(inbox "$name" stat -fc %T /sys/fs/cgroup)" = cgroup2fs
	else
		check "hybrid: /sys/fs/cgroup is tmpfs" test "$(inbox "$name" stat -fc %T /sys/fs/cgroup)" = tmpfs
		check "hybrid: freezer is a cgroup v1 mount" \
			inbox "$name" sh -c 'awk '\''$2 == "/sys/fs/cgroup/freezer" && $3 == "cgroup" && $4 ~ /freezer/'\'' /proc/mounts | grep -q .'
		check "hybrid: systemd is a name=systemd v1 mount" \
			inbox "$name" sh -c 'awk '\''$2 == "/sys/fs/cgroup/systemd" && $3 == "cgroup" && $4 ~ /name=systemd/'\'' /proc/mounts | grep -q .'
		check "hybrid: unified is cgroup2" test "$(inbox "$name" stat -fc %T /sys/fs/cgroup/unified)" = cgroup2fs
	fi

	# A transient unit: its process must be in the unit's cgroup.
	inbox "$name" systemd-run --quiet --unit sbx-test sleep 100 || true
	local mainpid cg
	mainpid=$(inbox "$name" systemctl show -P MainPID sbx-test)
	cg=$(inbox "$name" systemctl show -P ControlGroup sbx-test)
	check "$layout: transient unit active" test "$(inbox "$name" systemctl is-active sbx-test)" = active
	check "$layout: unit cgroup is /system.slice/sbx-test.service" test "$cg" = /system.slice/sbx-test.service
	check "$layout: unit process in unit cgroup" \
		inbox "$name" grep -qx "0::$cg" "/proc/$mainpid/cgroup"
	check "$layout: unit process in the box's netns" \
		test "$(inbox "$name" readlink "/proc/$mainpid/ns/net")" = "$boxnet"
	if [[ $layout == hybrid ]]; then
		check "hybrid: unit process in name=systemd cgroup" \
			inbox "$name" grep -q ":name=systemd:$cg\$" "/proc/$mainpid/cgroup"
	fi
	check "$layout: journalctl -u sees the unit" \
		inbox "$name" sh -c 'journalctl -u sbx-test --no-pager | grep -q "Started sbx-test"'
	inbox "$name" systemctl stop sbx-test || true
	check "$layout: transient unit stopped" \
		test "$(inbox "$name" systemctl is-active sbx-test || true)" = inactive

	# An enabled unit and a ctr-unit config file must survive the reboot.
	inbox "$name" sh -c 'printf "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n" >/etc/systemd/system/sbx-enabled.service &&
		systemctl enable --quiet sbx-enabled.service && echo kept >/etc/ctr-unit/sbx-test.conf' || true
	check "$layout: host /etc untouched" test ! -e /etc/ctr-unit -a ! -e /etc/systemd/system/sbx-enabled.service

	local boot1 boot2
	boot1=$(inbox "$name" cat /proc/sys/kernel/random/boot_id)
	check "$layout: box boot ID differs from host's" test "$boot1" != "$(cat /proc/sys/kernel/random/boot_id)"
	if "$SYSBOX" reboot "$name"; then
		ok "$layout: reboot"
		boot2=$(inbox "$name" cat /proc/sys/kernel/random/boot_id)
		check "$layout: boot ID changed across reboot" test -n "$boot2" -a "$boot1" != "$boot2"
		check "$layout: journald uses the new boot ID" \
			test "$(inbox "$name" journalctl --list-boots --no-pager | awk 'END {print $2}')" = "${boot2//-/}"
		check "$layout: enabled unit started at boot" \
			test "$(inbox "$name" systemctl is-active sbx-enabled)" = active
		check "$layout: /etc/ctr-unit persisted" test "$(inbox "$name" cat /etc/ctr-unit/sbx-test.conf)" = kept
	else
		bad "$layout: reboot"
	fi

	# Leave a stray exec'd process and a child cgroup behind: down must clean both.
	"$SYSBOX" exec "$name" sleep 1000 </dev/null >/dev/null 2>&1 &
	local stray=$!
	disown "$stray" # its "Killed" at down is expected
	if [[ $layout == v2 ]]; then
		inbox "$name" sh -c 'mkdir -p /sys/fs/cgroup/leftover/ctr'
	else
		inbox "$name" sh -c 'mkdir -p /sys/fs/cgroup/freezer/system.slice/leftover/ctr /sys/fs/cgroup/memory/leftover'
	fi
	sleep 0.3

	t0=$EPOCHREALTIME
	check "$layout: down" "$SYSBOX" down "$name"
	ms=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
	echo "     (down took ${ms} ms)"
	check "$layout: down again is a no-op" "$SYSBOX" down "$name"

	check "$layout: host mounts unchanged" test "$(cat /proc/mounts)" = "$mounts_before"
	local cgs
	cgs=$(find /sys/fs/cgroup -type d \( -name "sysbox-$name" -o -name "sysbox-$name-exec" \) 2>/dev/null)
	check "$layout: no cgroup dirs left" test -z "$cgs"
	[[ -z $cgs ]] || echo "$cgs"
	local procs
	procs=$(host_procs "$name")
	check "$layout: no processes left" test -z "$procs"
	[[ -z $procs ]] || echo "$procs"
	check "$layout: state dir removed" test ! -e "/run/sysbox/$name"
	rm -rf "$persist"
}

for l in "${layouts[@]}"; do
	test_layout "$l"
done

# run: up + exec + down, exit code of the command.
rc=0
"$SYSBOX" run v2 --name "${SYSBOX_TEST_PREFIX:-st$$}r" -- sh -c 'test "$(systemctl is-system-running)" = running && exit 42' || rc=$?
check "run: exit code of the command (42)" test "$rc" = 42
check "run: box removed afterwards" test ! -e "/run/sysbox/${SYSBOX_TEST_PREFIX:-st$$}r"

# run from a directory in /tmp (private to the box): the box sees it, and
# the boot leaves it as it was.
wd=$(mktemp -d /tmp/sysbox-test-wd.XXXXXX)
mkdir "$wd/sub" && echo kept >"$wd/sub/file"
rc=0
(cd "$wd/sub" && "$SYSBOX" run v2 --name "st$$w" -- sh -c 'test "$(cat file)" = kept && touch made-in-box') || rc=$?
check "run: works from a directory in /tmp" test "$rc" = 0
check "run: the directory in /tmp is intact" test "$(cat "$wd/sub/file")" = kept -a -e "$wd/sub/made-in-box"
rm -rf "$wd"

echo "$passed passed, $failed failed"
((failed == 0))
