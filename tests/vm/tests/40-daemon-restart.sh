#!/bin/bash
# 40-daemon-restart: kill -9 the daemon in the middle of a fio verify run
# and start it again: fio finishes with no I/O error and no verify failure.
# Also: with a per-device timeout, a request to a daemon that stays away
# fails with EIO instead of waiting forever.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio
_shard_setup
_shard_daemon d0

ktap_plan 5
dev=$(_shard_volume default/kill 256M)

t_kill_during_fio() {
	local fio_pid i
	fio --name=kill --filename="$dev" --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=4k-256k --iodepth=16 --size=256M \
		--io_size="$(_shard_scaled 128M 48M)" --verify=crc32c --verify_fatal=1 --do_verify=1 \
		>"$SHARD_T/fio-kill.log" 2>&1 &
	fio_pid=$!
	for i in 1 2 3; do
		sleep 3
		kill -0 $fio_pid 2>/dev/null || break
		ktap_diag "kill -9 shardd ($i)"
		_shard_kill d0 9
		sleep 1
		_shard_daemon d0
	done
	wait $fio_pid || { tail -20 "$SHARD_T/fio-kill.log"; return 1; }
	grep -q "err= 0" "$SHARD_T/fio-kill.log"
}
ktap_test kill-9-during-fio-verify t_kill_during_fio

t_reconnected() {
	local id
	id=$(_shardctl --json status | tr -d ' \n' |
		sed -n 's/.*"daemons":\[{[^]]*"id":\([0-9]*\).*/\1/p')
	_wait_for "_shard_connected $id" 10
}
ktap_test kernel-reconnected t_reconnected

# Losing and regaining a daemon is announced on the "events" group:
# SHARD_ATTR_EVENT (19) = DAEMON_UNREACHABLE (1), then DAEMON_CONNECTED (2).
t_events() {
	local mon=$SHARD_T/events.txt pid
	"$SHARDNL" --monitor 8 >"$mon" 2>&1 &
	pid=$!
	sleep 1
	_shard_kill d0 9
	sleep 1
	_shard_daemon d0
	wait $pid
	grep -q '^19 u32 1$' "$mon" && grep -q '^19 u32 2$' "$mon" ||
		{ sed 's/^/# /' "$mon"; return 1; }
}
ktap_test unreachable-and-connected-events t_events

t_timeout_eio() {
	local tdev rc
	_shardctl create default/to --size 16M >/dev/null || return 1
	tdev=$(_shardctl map default/to --timeout 3) || return 1
	_wait_for "[ -b $tdev ]" 10 || return 1
	_shard_kill d0 9
	dd if=/dev/zero of="$tdev" bs=4k count=1 oflag=direct 2>"$SHARD_T/dd.err"
	rc=$?
	_shard_daemon d0
	[ $rc != 0 ] && grep -q "Input/output error" "$SHARD_T/dd.err"
}
ktap_test timeout-gives-eio t_timeout_eio

# A reply that comes after its request timed out is dropped, not
# completed a second time: stop the daemon, let the write time out, let
# the daemon go on and answer, then use the device again.
t_late_reply() {
	local tdev=/dev/shard1 rc
	[ -b $tdev ] || return 1
	kill -STOP "${_shard_pid[d0]}"
	dd if=/dev/urandom of=$tdev bs=64k count=4 oflag=direct 2>/dev/null
	rc=$?
	kill -CONT "${_shard_pid[d0]}"
	[ $rc != 0 ] || return 1
	sleep 2
	dd if=/dev/urandom of="$SHARD_T/late" bs=64k count=4 2>/dev/null &&
	dd if="$SHARD_T/late" of=$tdev bs=64k oflag=direct 2>/dev/null &&
	cmp <(dd if=$tdev bs=64k count=4 iflag=direct 2>/dev/null) "$SHARD_T/late"
}
ktap_test late-reply-after-timeout-dropped t_late_reply
ktap_finished
