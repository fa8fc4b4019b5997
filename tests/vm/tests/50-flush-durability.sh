#!/bin/bash
# 50-flush-durability: data written and flushed (fsync on the block device,
# and O_DIRECT|O_SYNC writes that use FUA) survives kill -9 of the daemon
# and its restart.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_shard_setup
_shard_daemon d0

ktap_plan 2
dev=$(_shard_volume default/flush 64M)
head -c $((8 << 20)) /dev/urandom >"$SHARD_T/data"

t_flush() {
	# Buffered writes, then fsync: the kernel sends PREFLUSH.
	dd if="$SHARD_T/data" of="$dev" bs=1M conv=fsync 2>/dev/null || return 1
	_shard_kill d0 9
	_shard_daemon d0
	cmp <(dd if="$dev" bs=1M count=8 iflag=direct 2>/dev/null) "$SHARD_T/data"
}
ktap_test write-flush-kill-restart t_flush

t_fua() {
	dd if="$SHARD_T/data" of="$dev" bs=64k seek=256 oflag=direct,dsync \
		2>/dev/null || return 1
	_shard_kill d0 9
	_shard_daemon d0
	cmp <(dd if="$dev" bs=64k skip=256 count=128 iflag=direct 2>/dev/null) \
		"$SHARD_T/data"
}
ktap_test fua-write-kill-restart t_fua
ktap_finished
