#!/bin/bash
# 60-daemon-bad-input: garbage, truncated headers, wrong magic, huge
# lengths and friends sent to the daemon's port while the kernel client
# runs a fio verify job through it: each bad connection is dropped (or,
# for a payload crc mismatch, answered BADCRC), the daemon keeps serving,
# fio sees no error.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio python3
_shard_setup
_shard_daemon d0
port=${_shard_port[d0]}

cases="garbage truncated wrong-magic bad-version bad-header-crc huge-length
huge-read unknown-opcode no-hello beyond-object bad-obj-order unknown-flags
payload-crc"
ktap_plan 15
dev=$(_shard_volume default/bad 128M)

fio --name=bad --filename="$dev" --ioengine=libaio --direct=1 \
	--rw=randwrite --bsrange=4k-128k --iodepth=8 --size=128M \
	--io_size="$(_shard_scaled 64M 32M)" --verify=crc32c --verify_fatal=1 --do_verify=1 \
	>"$SHARD_T/fio-bad.log" 2>&1 &
fio_pid=$!

for c in $cases; do
	ktap_test "$c" python3 "$SHARD_REPO/tests/tools/shard-badpeer.py" \
		127.0.0.1 "$port" "$c"
done

t_fio() {
	wait $fio_pid || { tail -20 "$SHARD_T/fio-bad.log"; return 1; }
}
ktap_test fio-verify-unharmed t_fio
ktap_test daemon-alive kill -0 "${_shard_pid[d0]}"
ktap_finished
