#!/bin/bash
# 10-netlink: every genl command with missing, wrong-typed, oversized and
# out-of-range attributes, bad maps, and from an unprivileged user: each
# refused with an error, none of them an oops (run-vm checks dmesg).
# Staged maps (SET_MAP with MAP_STAGE, MAP_TABLE chunks, MAP_COMMIT): every
# way to get the upload wrong is refused, and maps of 4096 PGs x 5 and of
# the largest size (65536 PGs x 16) install.
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

# Daemon id I at 127.0.0.1:7498+I (nobody listens; the kernel retries).
daemons() {
	local i
	for i in $(seq "$1"); do
		printf 'daemon:{ d.id:u32:%d d.addr:hex:7f000001 d.port:u16:%d } ' "$i" $((7498 + i))
	done
}
D2=$(daemons 2)
# A staged map, epoch 10: daemons 1 and 2, pool 1 of 8 PGs x 2, no table.
STAGE="set-map epoch:u64:10 map-stage:flag daemons:{ $D2 } pools:{ pool:{ p.id:u32:1 p.pg-count:u32:8 p.width:u32:2 } }"
CHUNK="map-table epoch:u64:10 pool-id:u32:1"

status_epoch() {
	"$N" get-status | awk '/^1 u64/ { print $3 }'
}
status_daemons() {
	"$N" get-status | grep -c '^  3$'
}

# Another socket's staging: refused while it is open, gone once it closed.
t_stage_other_socket() {
	local pid rc=0
	# shellcheck disable=SC2086
	"$N" $STAGE -- sleep 8 &
	pid=$!
	# shellcheck disable=SC2016
	_wait_for 'refused "Device or resource busy" $CHUNK pg-first:u32:0 pg-ids:gen:0:8:2:1,2 >/dev/null' 6 || rc=1
	refused "Device or resource busy" map-commit epoch:u64:10 || rc=1
	wait $pid || rc=1
	# shellcheck disable=SC2086
	refused "No such file" $CHUNK pg-first:u32:0 pg-ids:gen:0:8:2:1,2 || rc=1
	return $rc
}

# Pool 1: 4096 PGs x 5 in two chunks; pool 2 comes with its table.
t_stage_4096x5() {
	# shellcheck disable=SC2046
	accepted set-map epoch:u64:20 map-stage:flag daemons:{ $(daemons 5) } \
		pools:{ pool:{ p.id:u32:1 p.pg-count:u32:4096 p.width:u32:5 } \
			pool:{ p.id:u32:2 p.pg-count:u32:2 p.table:hex:0100000002000000 } } \
		-- map-table epoch:u64:20 pool-id:u32:1 pg-first:u32:0 pg-ids:gen:0:2048:5:1,2,3,4,5 \
		-- map-table epoch:u64:20 pool-id:u32:1 pg-first:u32:2048 pg-ids:gen:2048:2048:5:5,4,3,2,1 \
		-- map-commit epoch:u64:20 || return 1
	[ "$(status_epoch)" = 20 ] && [ "$(status_daemons)" = 5 ]
}

# The largest map: 65536 PGs x 16 members, 1023 PGs (16368 ids) a chunk.
t_stage_max() {
	local args=() pg n
	for ((pg = 0; pg < 65536; pg += 1023)); do
		n=$((65536 - pg < 1023 ? 65536 - pg : 1023))
		args+=(-- map-table epoch:u64:21 pool-id:u32:1 "pg-first:u32:$pg"
		       "pg-ids:gen:$pg:$n:16:$(seq -s, 16)")
	done
	# shellcheck disable=SC2046
	accepted set-map epoch:u64:21 map-stage:flag daemons:{ $(daemons 16) } \
		pools:{ pool:{ p.id:u32:1 p.pg-count:u32:65536 p.width:u32:16 } } \
		"${args[@]}" -- map-commit epoch:u64:21 || return 1
	[ "$(status_epoch)" = 21 ] && [ "$(status_daemons)" = 16 ]
}

# A committed map of the current epoch replaces nothing, as for SET_MAP.
t_stage_same_epoch() {
	# shellcheck disable=SC2086
	accepted set-map epoch:u64:21 map-stage:flag daemons:{ $D1 } pools:{ $P1 } \
		-- map-commit epoch:u64:21 || return 1
	[ "$(status_epoch)" = 21 ] && [ "$(status_daemons)" = 16 ]
}

ktap_plan 55
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
ktap_test stage-chunk-without-staging refused "No such file" $CHUNK pg-first:u32:0 pg-ids:gen:0:8:2:1,2
ktap_test stage-commit-without-staging refused "No such file" map-commit epoch:u64:10
ktap_test stage-chunk-missing-attr refused "Invalid" $STAGE -- $CHUNK pg-ids:gen:0:8:2:1,2
ktap_test stage-chunk-wrong-epoch refused "Stale" $STAGE -- map-table epoch:u64:11 pool-id:u32:1 pg-first:u32:0 pg-ids:gen:0:8:2:1,2
ktap_test stage-commit-wrong-epoch refused "Stale" $STAGE -- map-commit epoch:u64:9
ktap_test stage-other-socket t_stage_other_socket
ktap_test stage-unknown-pool refused "Invalid" $STAGE -- map-table epoch:u64:10 pool-id:u32:7 pg-first:u32:0 pg-ids:gen:0:8:2:1,2
ktap_test stage-chunk-out-of-order refused "Invalid" $STAGE -- $CHUNK pg-first:u32:1 pg-ids:gen:1:7:2:1,2
ktap_test stage-chunk-repeated refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:gen:0:4:2:1,2 -- $CHUNK pg-first:u32:0 pg-ids:gen:0:4:2:1,2
ktap_test stage-chunk-overrun refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:gen:0:9:2:1,2
ktap_test stage-chunk-after-complete refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:gen:0:8:2:1,2 -- $CHUNK pg-first:u32:8 pg-ids:gen:8:1:2:1,2
ktap_test stage-chunk-partial-pg refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:hex:01000000
ktap_test stage-chunk-empty refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:hex:
ktap_test stage-chunk-unknown-daemon refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:gen:0:8:2:1,3
ktap_test stage-chunk-duplicate-member refused "Invalid" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:gen:0:1:2:2,2
ktap_test stage-chunk-oversized refused "error:" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:zeros:65530
ktap_test stage-commit-incomplete refused "incomplete" $STAGE -- $CHUNK pg-first:u32:0 pg-ids:gen:0:4:2:1,2 -- map-commit epoch:u64:10
ktap_test stage-lower-epoch refused "Stale" set-map epoch:u64:4 map-stage:flag daemons:{ $D2 } pools:{ $P1 }
ktap_test stage-inline-table-checked refused "Invalid" set-map epoch:u64:10 map-stage:flag daemons:{ $D2 } pools:{ pool:{ p.id:u32:1 p.pg-count:u32:1 p.width:u32:2 p.table:hex:0100000001000000 } }
ktap_test stage-4096x5-installs t_stage_4096x5
ktap_test stage-max-size-installs t_stage_max
ktap_test stage-same-epoch-replaces-nothing t_stage_same_epoch
ktap_test unprivileged-map-table refused "Operation not permitted" unprivileged $CHUNK pg-first:u32:0 pg-ids:gen:0:8:2:1,2
ktap_test unprivileged-map-commit refused "Operation not permitted" unprivileged map-commit epoch:u64:10
ktap_test status-still-works accepted get-status
}
ktap_finished
