#!/bin/bash
# 15-map-update: new maps installed under I/O move PG primaries between
# three real daemons (and take one out of the map and back), and I/O
# neither fails nor returns wrong data; requests waiting on a daemon that
# is no longer their primary go to the new one at once; STALE answers are
# resent at once, held for a newer map, or retried slowly, as the epochs
# say.
#
# The daemons do not move data when a PG moves, so a block written while
# its PG lived on one daemon does not read back from the next. What the
# test verifies is built around that:
#  - region R (read only) is written once through each of the three
#    daemons (maps that put every PG on d0, then d1, then d2), so every
#    daemon holds all of it: reads of R must verify whichever daemon a map
#    sends them to, so R checks every read that was in flight, moved or
#    resent across map changes (fio verify_only: header offset and crc32c
#    per 16 KiB block);
#  - region W takes random writes while the maps change; those must all
#    complete without error (nothing lost or stuck on a daemon that left),
#    but where each block ends up is not defined, so W is not verified
#    then. Once the maps stop changing, a full write + verify pass over W
#    checks that writes and reads agree under the final map.
# The maps are sent with shardnl, not shard-mapd (which would compute its
# own): mapd only registers the daemons and is then stopped.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio python3
_shard_setup
# Over the test every daemon may come to hold each of the volume's 1024
# objects, and the slot store gives each object a 4 MiB slot: 4 GiB (about
# 1000 slots) runs out. The stores are sparse, so 16 GiB costs nothing.
_shard_daemon d0 --size 16G
_shard_daemon d1 --size 16G
_shard_daemon d2 --size 16G

PROXY=$SHARD_REPO/tests/tools/shard-staleproxy.py
N=$SHARDNL
declare -A id port

# "PORT ID" for every daemon of the kernel's map.
kernel_daemons() {
	"$N" get-status | awk '
		/^  3$/ { if (p) print p, i; p = i = ""; next }
		/^    3 u16/ { p = $3 }
		/^    1 u32/ { i = $3 }
		END { if (p) print p, i }'
}

_wait_for '[ "$(kernel_daemons | wc -l)" = 3 ]' 30 ||
	_die "mapd did not put three daemons in the kernel's map"
for d in d0 d1 d2; do
	port[$d]=${_shard_port[$d]}
	id[$d]=$(kernel_daemons | awk -v p="${port[$d]}" '$1 == p { print $2 }')
	[ -n "${id[$d]}" ] || _die "no id for $d"
done
_shard_kill mapd
A=${id[d0]} B=${id[d1]} C=${id[d2]}
epoch=1000

# DAEMONS entries for the named daemons, at port[NAME].
dnest() {
	local d
	for d in "$@"; do
		printf 'daemon:{ d.id:u32:%s d.addr:hex:7f000001 d.port:u16:%s } ' \
			"${id[$d]}" "${port[$d]}"
	done
}

# set_map PGS WIDTH "NAMES" IDS: installs the next epoch: pool 1 with PGS
# PGs, PG p's member j being IDS[(p + j) % #IDS] (see shardnl's gen).
set_map() {
	epoch=$((epoch + 1))
	# shellcheck disable=SC2046,SC2086
	"$N" set-map epoch:u64:$epoch daemons:{ $(dnest $3) } \
		pools:{ pool:{ p.id:u32:1 p.pg-count:u32:$1 p.width:u32:$2 \
			p.table:gen:0:$1:$2:$4 } } >/dev/null
}

# stage_map: as set_map, staged and sent in chunks of 1024 PGs.
stage_map() {
	local args=() pg
	epoch=$((epoch + 1))
	for ((pg = 0; pg < $1; pg += 1024)); do
		args+=(-- map-table "epoch:u64:$epoch" pool-id:u32:1
		       "pg-first:u32:$pg" "pg-ids:gen:$pg:1024:$2:$4")
	done
	# shellcheck disable=SC2046,SC2086
	"$N" set-map epoch:u64:$epoch map-stage:flag daemons:{ $(dnest $3) } \
		pools:{ pool:{ p.id:u32:1 p.pg-count:u32:$1 p.width:u32:$2 } } \
		"${args[@]}" -- map-commit epoch:u64:$epoch >/dev/null
}

set_map 64 1 "d0 d1 d2" "$A" || _die "cannot set a map"
out=$("$N" add-dev pool-id:u32:1 volume-id:u64:4242 size:u64:$((64 << 20)) \
	obj-order:u8:16 pool-name:str:p volume-name:str:moves) ||
	_die "cannot add a device"
dev=/dev/shard$(awk '/^6 u32/ { print $3 }' <<<"$out")
_wait_for "[ -b $dev ]" 10 || _die "$dev did not appear"

R_SIZE=$(_shard_scaled 32M 8M)
W_SIZE=$(_shard_scaled 32M 8M)
STEP=$(_shard_scaled 1 2)
WAIT=$(_shard_scaled 30 90)	# seconds I/O may take once it can go
FILL=(--name=fill --filename="$dev" --offset=0 --size="$R_SIZE" --rw=write
      --bs=16k --ioengine=libaio --direct=1 --iodepth=32 --verify=crc32c
      --verify_fatal=1)

# fio ARGS... with its log in $SHARD_T/fio-NAME.log; fails on any error.
run_fio() {
	local name=$1 log
	shift
	log=$SHARD_T/fio-$name.$BASHPID.log
	if ! fio "$@" >"$log" 2>&1 || ! grep -q 'err= 0' "$log"; then
		# the error lines first: the tail is mostly statistics
		grep -E 'err=|error|verify|bad|fio:' "$log" | head -20 |
			sed 's/^/# fio: /'
		sed 's/^/# fio: /' "$log" | tail -8
		return 1
	fi
}
check_r() {
	run_fio verify "${FILL[@]}" --verify_only "$@"
}

t_fill() {
	local d
	for d in d0 d1 d2; do
		set_map 64 1 "d0 d1 d2" "${id[$d]}" || return 1
		run_fio fill "${FILL[@]}" --do_verify=0 || return 1
	done
	check_r
}
ktap_test fill-r-through-each-daemon t_fill

# Loops CMD... until $SHARD_T/stop exists; fails at the first failure.
until_stopped() {
	local n=0
	while [ ! -e "$SHARD_T/stop" ]; do
		"$@" || return 1
		n=$((n + 1))
	done
	ktap_diag "$1: $n passes"
}

churn_w() {
	run_fio churn --name=churn --filename="$dev" --offset=32M \
		--size="$W_SIZE" --rw=randwrite --bsrange=4k-64k \
		--ioengine=libaio --direct=1 --iodepth=16 --time_based \
		--runtime=2
}

t_moves_under_io() {
	local rpid wpid rc=0
	rm -f "$SHARD_T/stop"
	until_stopped check_r &
	rpid=$!
	until_stopped churn_w &
	wpid=$!
	sleep "$STEP"
	set_map 64 3 "d0 d1 d2" "$A,$B,$C" && sleep "$STEP" &&
	set_map 64 3 "d0 d1 d2" "$B,$C,$A" && sleep "$STEP" &&
	set_map 64 3 "d0 d1 d2" "$C,$A,$B" && sleep "$STEP" &&
	# d2 leaves the map, then comes back.
	set_map 64 2 "d0 d1" "$A,$B" && sleep "$STEP" &&
	set_map 64 2 "d0 d1" "$B,$A" && sleep "$STEP" &&
	set_map 64 3 "d0 d1 d2" "$C,$B,$A" && sleep "$STEP" &&
	stage_map 4096 3 "d0 d1 d2" "$A,$B,$C" && sleep "$STEP" &&
	stage_map 4096 3 "d0 d1 d2" "$B,$C,$A" && sleep "$STEP" &&
	set_map 64 1 "d0 d1 d2" "$C" && sleep "$STEP" &&
	set_map 64 3 "d0 d1 d2" "$A,$B,$C" && sleep "$STEP" || rc=1
	touch "$SHARD_T/stop"
	wait $rpid || rc=1
	wait $wpid || rc=1
	return $rc
}
ktap_test moves-under-io t_moves_under_io

# Reads wait on a stopped d0; a map that moves their PGs to d1 must get
# them answered without d0 (before the map change they cannot finish).
t_move_off_stopped() {
	local pid rc=0
	set_map 64 1 "d0 d1 d2" "$A" || return 1
	kill -STOP "${_shard_pid[d0]}"
	check_r --size=1M &
	pid=$!
	sleep 2
	if ! kill -0 $pid 2>/dev/null; then
		ktap_diag "reads finished while their daemon was stopped"
		rc=1
	fi
	set_map 64 1 "d0 d1 d2" "$B" || rc=1
	_wait_for "! kill -0 $pid 2>/dev/null" "$WAIT" ||
		{ ktap_diag "reads still waiting for the stopped daemon"; rc=1; }
	kill -CONT "${_shard_pid[d0]}"
	wait $pid || rc=1
	return $rc
}
ktap_test move-off-stopped-daemon t_move_off_stopped

# Reads sent to a stopped d0 are moved to a stopped d1, then back to d0,
# on the same connections: when d0 wakes it answers both sends, and only
# the second answer may complete a read (the first is dropped); d1's late
# answers too.
t_move_back() {
	local pid rc=0
	set_map 64 1 "d0 d1 d2" "$A" || return 1
	kill -STOP "${_shard_pid[d0]}" "${_shard_pid[d1]}"
	check_r --size=1M &
	pid=$!
	sleep 2
	set_map 64 1 "d0 d1 d2" "$B" && sleep 1 &&
	set_map 64 1 "d0 d1 d2" "$A" && sleep 1 || rc=1
	kill -CONT "${_shard_pid[d0]}"
	_wait_for "! kill -0 $pid 2>/dev/null" "$WAIT" || rc=1
	kill -CONT "${_shard_pid[d1]}"
	wait $pid || rc=1
	return $rc
}
ktap_test move-back-to-same-connection t_move_back

# Puts a shard-staleproxy.py in front of d0 (MODE EPOCH [N]) on port
# PROXY_PORT and a map that sends everything to d0 through it.
proxy_pid= proxy_log=
start_proxy() {
	stop_proxy
	proxy_log=$SHARD_T/proxy-$PROXY_PORT.log
	python3 "$PROXY" "$PROXY_PORT" "${_shard_port[d0]}" "$@" \
		>"$proxy_log" 2>&1 &
	proxy_pid=$!
	_wait_for "grep -q ready $proxy_log" 30 ||
		{ ktap_diag "proxy did not start: $(cat "$proxy_log")"; return 1; }
	port[d0]=$PROXY_PORT
	set_map 64 1 "d0 d1 d2" "$A" || { ktap_diag "set_map failed"; return 1; }
	_wait_for "_shard_connected $A" 30 ||
		{ ktap_diag "no connection through the proxy"; return 1; }
}
stop_proxy() {
	[ -n "$proxy_pid" ] || return 0
	kill "$proxy_pid" 2>/dev/null
	wait "$proxy_pid" 2>/dev/null
	proxy_pid=
	port[d0]=${_shard_port[d0]}
}
_on_cleanup stop_proxy
stale_count() {
	grep -c '^stale' "$proxy_log"
}
PROXY_PORT=7480

# Waits up to $WAIT s for PID; if it is still there, installs a map without
# d0 (which frees anything held for it) and fails.
wait_or_release() {
	local pid=$1 rc=0
	if ! _wait_for "! kill -0 $pid 2>/dev/null" "$WAIT"; then
		ktap_diag "I/O still waiting"
		set_map 64 2 "d1 d2" "$B,$C"
		rc=1
	fi
	wait "$pid" || rc=1
	return $rc
}

# The daemon's epoch is not newer than ours: resend at once, no new map.
t_stale_resend_now() {
	local pid rc=0
	start_proxy first 1 5 || return 1
	check_r --size=1M &
	pid=$!
	wait_or_release $pid || rc=1
	[ "$(stale_count)" = 5 ] || { ktap_diag "$(stale_count) STALE answers"; rc=1; }
	return $rc
}
ktap_test stale-resent-at-once t_stale_resend_now

# The daemon knows a newer map: reads wait for it, without asking again
# and again meanwhile, and go once it is installed.
t_stale_wait_newer() {
	local pid rc=0 n
	PROXY_PORT=7481 start_proxy below $((epoch + 100)) || return 1
	check_r --size=1M &
	pid=$!
	_wait_for '[ "$(stale_count)" -ge 1 ]' 30 || rc=1
	sleep 2
	kill -0 $pid 2>/dev/null || { ktap_diag "did not wait"; rc=1; }
	n=$(stale_count)
	[ "$n" -ge 1 ] && [ "$n" -le 64 ] || { ktap_diag "$n STALE answers"; rc=1; }
	epoch=$((epoch + 98))
	set_map 64 1 "d0 d1 d2" "$A" || rc=1
	wait_or_release $pid || rc=1
	return $rc
}
ktap_test stale-waits-for-newer-map t_stale_wait_newer

# A daemon that says STALE forever at an old epoch: retried, but slowly
# (a few at once, then about every 100 ms), until the device's timeout.
t_stale_backoff() {
	local out tdev n rc=0
	PROXY_PORT=7482 start_proxy always 1 || return 1
	out=$("$N" add-dev pool-id:u32:1 volume-id:u64:4242 \
		size:u64:$((64 << 20)) obj-order:u8:16 timeout:u32:3) || return 1
	tdev=/dev/shard$(awk '/^6 u32/ { print $3 }' <<<"$out")
	_wait_for "[ -b $tdev ]" 10 || return 1
	dd if="$tdev" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null && rc=1
	n=$(stale_count)
	ktap_diag "$n STALE answers before the timeout"
	[ "$n" -ge 5 ] && [ "$n" -le 100 ] || rc=1
	"$N" remove-dev "index:u32:${tdev#/dev/shard}" >/dev/null || rc=1
	return $rc
}
ktap_test stale-retried-slowly t_stale_backoff

# Back to the daemons themselves; W written and verified under one map.
t_verify_after() {
	stop_proxy
	set_map 64 3 "d0 d1 d2" "$B,$C,$A" || return 1
	run_fio final --name=final --filename="$dev" --offset=32M \
		--size="$W_SIZE" --rw=randwrite --bsrange=4k-64k \
		--ioengine=libaio --direct=1 --iodepth=16 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 || return 1
	check_r
}
ktap_test write-verify-after-moves t_verify_after
ktap_finished
