#!/bin/bash
# 30-filesystem: ext4 on a shard volume: mkfs, mount, write files, umount,
# fsck clean; after unmap and map again the files' checksums are the same.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd mkfs.ext4 fsck.ext4 sha256sum
_shard_setup
_shard_daemon d0

ktap_plan 5
dev=$(_shard_volume default/fs 256M)
mnt=$SHARD_T/mnt
mkdir -p "$mnt"

t_mkfs_write() {
	mkfs.ext4 -q -F "$dev" || return 1
	mount "$dev" "$mnt" || return 1
	local i
	for i in 1 2 3 4 5 6 7 8; do
		head -c $((i * 1500000)) /dev/urandom >"$mnt/file$i" || return 1
	done
	mkdir "$mnt/dir" && cp -a /usr/share/doc/fio "$mnt/dir/" 2>/dev/null
	(cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
		>"$SHARD_T/sums" || return 1
	umount "$mnt"
}
ktap_test mkfs-mount-write t_mkfs_write

ktap_test fsck-clean fsck.ext4 -f -n "$dev"

t_remap() {
	_shardctl unmap "$dev" || return 1
	[ ! -b "$dev" ] || _wait_for "[ ! -b $dev ]" 10 || return 1
	dev=$(_shardctl map default/fs) || return 1
	_wait_for "[ -b $dev ]" 10
}
ktap_test unmap-map-again t_remap

t_sums() {
	mount "$dev" "$mnt" || return 1
	(cd "$mnt" && sha256sum --quiet -c "$SHARD_T/sums")
	local rc=$?
	umount "$mnt"
	return $rc
}
ktap_test checksums-after-remap t_sums

ktap_test fsck-clean-after-remap fsck.ext4 -f -n "$dev"
ktap_finished
