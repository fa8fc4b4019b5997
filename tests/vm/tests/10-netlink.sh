#!/bin/bash
# 10-netlink: every genl command with missing, wrong-typed, oversized and
# out-of-range attributes, bad maps, and from an unprivileged user: each
# refused with an error, none of them an oops (run-vm checks dmesg).
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_root
_require_cmd setpriv
mkdir -p "$SHARD_T"
_on_cleanup rm -rf "$SHARD_T"
_shard_load
_on_cleanup _shard_stop_all

N=$SHARDNL
D1='daemon:{ d.id:u32:1 d.addr:hex:7f000001 d.port:u16:7499 }'
P1='pool:{ p.id:u32:1 p.pg-count:u32:2 p.table:hex:0100000001000000 }'

# Runs shardnl ARGS and passes when it fails with the expected errno name.
refused() {
	local want=$1 err cmd=("$N")
	shift
	if [ "$1" = unprivileged ]; then
		cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups "$N")
		shift
	fi
	err=$("${cmd[@]}" "$@" 2>&1 >/dev/null) && { echo "# accepted: $*"; return 1; }
	case $err in
	*"$want"*) return 0 ;;
	*) echo "# wanted '$want', got: $err"; return 1 ;;
	esac
}
accepted() {
	# shellcheck disable=SC2086
	$N "$@" >/dev/null
}

ktap_plan 31
# shellcheck disable=SC2086
{
ktap_test map-valid accepted set-map epoch:u64:5 daemons:{ $D1 } pools:{ $P1 }
ktap_test map-lower-epoch refused "Stale" set-map epoch:u64:4 daemons:{ $D1 } pools:{ $P1 }
ktap_test map-same-epoch accepted set-map epoch:u64:5 daemons:{ $D1 } pools:{ $P1 }
ktap_test map-no-epoch refused "Invalid" set-map daemons:{ $D1 } pools:{ $P1 }
ktap_test map-no-daemons refused "Invalid" set-map epoch:u64:6 pools:{ $P1 }
ktap_test map-epoch-wrong-type refused "error:" set-map epoch:u8:6 daemons:{ $D1 } pools:{ $P1 }
ktap_test map-daemon-no-id refused "Invalid" set-map epoch:u64:6 daemons:{ daemon:{ d.addr:hex:7f000001 d.port:u16:1 } } pools:{ }
ktap_test map-daemon-id-range refused "error:" set-map epoch:u64:6 daemons:{ daemon:{ d.id:u32:70000 d.addr:hex:7f000001 d.port:u16:1 } } pools:{ }
ktap_test map-daemon-bad-addr refused "Invalid" set-map epoch:u64:6 daemons:{ daemon:{ d.id:u32:1 d.addr:hex:7f0000 d.port:u16:1 } } pools:{ }
ktap_test map-daemon-port-zero refused "error:" set-map epoch:u64:6 daemons:{ daemon:{ d.id:u32:1 d.addr:hex:7f000001 d.port:u16:0 } } pools:{ }
ktap_test map-daemon-bad-flags refused "error:" set-map epoch:u64:6 daemons:{ daemon:{ d.id:u32:1 d.addr:hex:7f000001 d.port:u16:1 d.flags:u32:128 } } pools:{ }
ktap_test map-duplicate-daemon refused "Invalid" set-map epoch:u64:6 daemons:{ $D1 $D1 } pools:{ }
ktap_test map-unknown-daemon refused "Invalid" set-map epoch:u64:6 daemons:{ $D1 } pools:{ pool:{ p.id:u32:1 p.pg-count:u32:1 p.table:hex:02000000 } }
ktap_test map-table-size refused "Invalid" set-map epoch:u64:6 daemons:{ $D1 } pools:{ pool:{ p.id:u32:1 p.pg-count:u32:3 p.table:hex:01000000 } }
ktap_test map-pg-count-zero refused "error:" set-map epoch:u64:6 daemons:{ $D1 } pools:{ pool:{ p.id:u32:1 p.pg-count:u32:0 p.table:hex:01000000 } }
ktap_test map-oversized-table refused "Invalid" set-map epoch:u64:6 daemons:{ $D1 } pools:{ pool:{ p.id:u32:1 p.pg-count:u32:4 p.table:zeros:60000 } }
ktap_test map-duplicate-pool refused "Invalid" set-map epoch:u64:6 daemons:{ $D1 } pools:{ $P1 $P1 }
ktap_test map-wrong-nest-type refused "Invalid" set-map epoch:u64:6 daemons:{ pool:{ d.id:u32:1 d.addr:hex:7f000001 d.port:u16:1 } } pools:{ }
ktap_test map-output-attr refused "Invalid" set-map epoch:u64:6 daemons:{ $D1 } pools:{ $P1 } open-count:u32:1
ktap_test add-no-size refused "Invalid" add-dev pool-id:u32:1 volume-id:u64:1
ktap_test add-size-unaligned refused "Invalid" add-dev pool-id:u32:1 volume-id:u64:1 size:u64:1000
ktap_test add-size-tiny refused "error:" add-dev pool-id:u32:1 volume-id:u64:1 size:u64:100
ktap_test add-obj-order-range refused "error:" add-dev pool-id:u32:1 volume-id:u64:1 size:u64:1048576 obj-order:u8:40
ktap_test add-name-too-long refused "error:" add-dev pool-id:u32:1 volume-id:u64:1 size:u64:1048576 volume-name:str:$(printf 'x%.0s' $(seq 200))
ktap_test add-wrong-type refused "error:" add-dev pool-id:u64:1 volume-id:u64:1 size:u64:1048576
ktap_test remove-missing refused "No such device" remove-dev index:u32:999
ktap_test remove-no-index refused "Invalid" remove-dev
ktap_test resize-missing refused "No such device" resize-dev index:u32:999 size:u64:1048576
ktap_test unprivileged-set-map refused "Operation not permitted" unprivileged set-map epoch:u64:9 daemons:{ $D1 } pools:{ $P1 }
ktap_test unprivileged-add refused "Operation not permitted" unprivileged add-dev pool-id:u32:1 volume-id:u64:1 size:u64:1048576
ktap_test status-still-works accepted get-status
}
ktap_finished
