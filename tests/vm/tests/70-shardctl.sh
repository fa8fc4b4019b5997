#!/bin/bash
# 70-shardctl: the admin CLI against the real kernel: map, ls, status,
# resize and unmap work (--json included); bad arguments and impossible
# requests fail with a non-zero exit and one clear line on stderr.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_shard_setup
_shard_daemon d0

# Passes when shardctl ARGS fails with exactly one "shardctl: " line.
fails() {
	local err rc
	err=$(_shardctl "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc = 0 ] || [ "$(printf '%s\n' "$err" | grep -c .)" != 1 ] ||
	   [ "${err#shardctl: }" = "$err" ]; then
		echo "# rc=$rc stderr: $err"
		return 1
	fi
	ktap_diag "$* -> $err"
}

ktap_plan 21
dev=$(_shard_volume default/cli 64M)

t_ls() {
	_shardctl ls | grep -q "cli" &&
	_shardctl --json ls | python3 -c '
import json, sys
v = json.load(sys.stdin)["volumes"]
assert any(x["name"] == "cli" and x["size"] == 64 << 20 for x in v)'
}
ktap_test ls-table-and-json t_ls

t_status() {
	_shardctl status >/dev/null &&
	_shardctl --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["epoch"] >= 1 and len(s["daemons"]) == 1 and s["devices"]'
}
ktap_test status-table-and-json t_status

# The udev rule names the device /dev/shard/POOL/VOLUME.
t_udev_rule() {
	mkdir -p /etc/udev/rules.d &&
	cp "$SHARD_REPO/tools/udev/60-shard.rules" /etc/udev/rules.d/ &&
	udevadm test --action=add "/sys/block/${dev#/dev/}" 2>&1 |
		grep -q "shard/default/cli"
}
ktap_test udev-rule-names-device t_udev_rule

t_resize() {
	_shardctl resize default/cli --size 96M &&
	_wait_for "[ \$(blockdev --getsize64 $dev) = $((96 << 20)) ]" 5
}
ktap_test resize-grows-device t_resize

t_unmap_busy() {
	exec 7<"$dev"
	fails unmap "$dev"
	local rc=$?
	exec 7<&-
	return $rc
}
ktap_test unmap-refused-while-open t_unmap_busy

ktap_test rm-refused-while-mapped fails rm default/cli
ktap_test unknown-command fails frobnicate
ktap_test create-no-size fails create default/x
ktap_test create-bad-size fails create default/x --size 12Q
ktap_test create-zero-size fails create default/x --size 0
ktap_test create-bad-name fails create "default/a b" --size 1M
ktap_test create-no-pool fails create nopool/x --size 1M
ktap_test create-duplicate fails create default/cli --size 1M
ktap_test map-missing-volume fails map default/nothere
ktap_test map-twice fails map default/cli
ktap_test unmap-not-mapped fails unmap /dev/shard77
ktap_test rm-missing fails rm default/nothere
ktap_test shrink-needs-force fails resize default/cli --size 1M
ktap_test mapd-not-running fails --socket /nonexistent.sock ls

t_unmap_rm() {
	_shardctl unmap default/cli && _shardctl rm default/cli &&
	! _shardctl ls | grep -q cli
}
ktap_test unmap-then-rm t_unmap_rm

t_read_only() {
	local rdev
	_shardctl create default/ro --size 8M >/dev/null || return 1
	rdev=$(_shardctl map default/ro --read-only) || return 1
	_wait_for "[ -b $rdev ]" 5 || return 1
	[ "$(blockdev --getro "$rdev")" = 1 ] &&
	! dd if=/dev/zero of="$rdev" bs=4k count=1 oflag=direct 2>/dev/null &&
	dd if="$rdev" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
}
ktap_test read-only-map t_read_only
ktap_finished
