#!/bin/bash
# 95-cluster: cluster mode end to end. Three simulated hosts h1..h3
# (network namespaces on one bridge), each with an etcd member, a
# shard-mapd and two storage daemons; h1's mapd drives the kernel, whose
# volume lives in a single-copy pool spread over all of them.
#  1. h2 makes the cluster with `shardctl cluster create`, h3 joins with
#     `cluster join` (its daemons, registered alone first, take new ids),
#     h1 starts with --etcd: all mapds agree on the leader (h2), six
#     daemons up, etcd ok;
#  2. pools, a volume, fio write + verify through h1;
#  3. h3 dies (kill -9 of everything) under a verifying reader: its
#     daemons go down within grace + a few seconds (about 2 s: the kernel
#     reports them unreachable through h1's mapd), a two-copy pool's
#     primaries move off h3, the single-copy pool's PGs on h3 are down and
#     their I/O waits; once h3's mapd's lease ran out the leader fences
#     h3 (its address on the blocklist, as h3's fence); h3 comes back
#     rebooted (a new boot id) and the fence is lifted, and the reader
#     finishes clean; the two-copy pool's volume is backfilled onto h3's
#     daemons again (every p2 PG active+clean) and verifies;
#  4. the leader's host h2 dies: a new leader, whose map (h2 down) reaches
#     the kernel, fences h2; h2 comes back rebooted, unfenced;
#  5. a daemon joins under random writes: a new epoch reaches the kernel,
#     nothing is lost (PGs stay where their data is), the two-copy
#     pool's data is backfilled onto it where placement says, and all
#     data verifies;
#  6. all etcd members stop: I/O goes on, status says etcd is unreachable;
#     they come back and status is ok again;
#  7. a network partition: h3 is cut off from h1 and h2 (blackhole routes)
#     and runs on; its daemons are marked down, writes go on elsewhere
#     (size 3, min_size 2), and a write sent to h3's daemon with the old
#     map is never acknowledged; h3 is fenced; healed, h3's daemons are
#     backfilled, every PG of that pool is active+clean with three copies;
#     h3 came back with the same boot id (it did not reboot), so it stays
#     fenced, and status says what to do: the test unblocklists it by
#     hand; and all of it verifies.
# Times are measured on the guest's uptime clock from the stamped logs
# and the kernel's epochs (not from polling, which is slow under TCG) and
# printed as TAP comments.
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"
. "$(dirname "$0")/../../lib/cluster_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
# Under the debug kernel the whole suite overran the VM's time limit with
# this test in it, and its reader finished before the host it waits on
# died. It passed there on its own (346 s); SHARD_CLUSTER_DEBUG=1 runs it.
[ "${SHARD_VM_KERNEL}" != debug ] || [ -n "${SHARD_CLUSTER_DEBUG:-}" ] ||
	ktap_skip_all "slow under the debug kernel; SHARD_CLUSTER_DEBUG=1 runs it"
_require_cmd fio
_cluster_setup 3

t_start=$(_cluster_now)
# TCG moves a few MiB/s through three namespaces (less on the debug
# kernel): the volume is small. SHARD_CLUSTER_VOL_MB (a multiple of 4)
# picks another size.
VOL_MB=${SHARD_CLUSTER_VOL_MB:-$(_shard_scaled 96 32)}
[ $((VOL_MB % 4)) = 0 ] && [ "$VOL_MB" -ge 16 ] ||
	_die "SHARD_CLUSTER_VOL_MB=$VOL_MB: want a multiple of 4, at least 16"
VOL=${VOL_MB}M
HALF=$((VOL_MB / 2))M
QUARTER_MB=$((VOL_MB / 4))
dev=
dev2=

# all_up N: the condition "N daemons, all up".
all_up() { echo "len(j['daemons']) == $1 and all(d['up'] for d in j['daemons'])"; }

for h in h1 h2 h3; do
	_cluster_etcd_start $h
done
_cluster_etcd_wait 90 || _die "etcd did not come up"
t_etcd=$(_cluster_now)
# h2 first, so that it leads: losing the leader's host (case 4) then does
# not take the kernel's mapd (h1) with it. One kernel in the VM: only h1's
# mapd talks to it. h2 makes the cluster with `shardctl cluster create`
# and h3 joins it with `cluster join` after its daemons registered with it
# alone (their ids collide with h2's: being empty, they take new ones);
# h1 starts with --etcd. Restarts of h2 and h3 find the cluster in their
# cluster.json.
_cluster_mapd_start h2 --no-kernel --alone
_cluster_daemon_start h2 d1 2G
_cluster_daemon_start h2 d2 4G
_cluster_wait h2 30 "$(all_up 2)" >/dev/null || _die "h2's daemons did not register"
_cluster_ctl h2 cluster create shard --etcd "$(_cluster_endpoints)" --name h2 ||
	_die "cluster create on h2 failed"
_cluster_wait h2 30 "j['leader'] == 'h2'" >/dev/null || _die "h2 does not lead"
_cluster_mapd_start h1
_cluster_mapd_start h3 --no-kernel --alone
for h in h1 h3; do
	_cluster_daemon_spawn $h d1 2G
	_cluster_daemon_spawn $h d2 4G
done
for h in h1 h3; do
	_cluster_daemon_wait $h d1
	_cluster_daemon_wait $h d2
done
_cluster_wait h3 30 "$(all_up 2)" >/dev/null || _die "h3's daemons did not register alone"
_cluster_ctl h3 cluster join shard --etcd "$(_cluster_endpoints)" --name h3 ||
	_die "cluster join on h3 failed"
ktap_plan 7
ktap_diag "VOL ${VOL}; etcd up in $(_cluster_secs "$t_start" "$t_etcd") s, mapds and daemons started in $(_cluster_secs "$t_etcd" "$(_cluster_now)") s"

# fio runs in the background and is waited for with a limit: a request
# that waits forever (a PG whose daemon never comes back) must fail the
# test with its logs, not hang it until run-suite kills it (the shell runs
# no trap while a foreground command runs, and fio cannot exit while its
# I/O is held).
FIO_LIMIT=$(_shard_scaled 300 600)

# fio_wait PID NAME: waits for PID (a fio, or a group running one) at most
# FIO_LIMIT s; dies when it hangs. Returns PID's exit status.
fio_wait() {
	local rc=0
	if ! _wait_for "_cluster_gone $1" "$FIO_LIMIT"; then
		ktap_diag "fio $2 still running after $FIO_LIMIT s; devices: $(_cluster_get h1 "j['devices']")"
		tail -5 "$SHARD_T/fio-$2.log" | sed 's/^/# fio: /'
		_die "fio $2 hangs"
	fi
	wait "$1" || rc=$?
	return $rc
}

# run_fio NAME FIO_ARGS...: fio on the volume with crc32c verification
# (the first FIO_ARGS may override); fails on any I/O or verify error.
run_fio() {
	local name=$1 rc=0
	shift
	fio --name="$name" --filename="$dev" --ioengine=libaio --direct=1 \
		--iodepth=16 --verify=crc32c --verify_fatal=1 "$@" \
		>"$SHARD_T/fio-$name.log" 2>&1 &
	fio_wait $! "$name" || rc=$?
	fio_check "$name" "$rc"
}

# fio_check NAME RC: judges fio-NAME.log; diag with its throughput.
fio_check() {
	local log=$SHARD_T/fio-$1.log
	if [ "$2" -ne 0 ] ||
	   grep -qE 'err= *[1-9]|verify: bad|verify failed|fio: (pid|io_u error)' "$log"; then
		ktap_diag "fio $1 failed (exit $2):"
		tail -30 "$log" | sed 's/^/# fio: /'
		return 1
	fi
	ktap_diag "fio $1: $(grep -E '^ +(READ|WRITE):' "$log" |
		sed -E 's/^ +//; s/ \([^)]*\)//g' | paste -sd';')"
}


# The kernel installed the map h1's mapd holds.
kernel_in_step() {
	local k m
	k=$(_cluster_kernel_epoch)
	m=$(_cluster_get h1 "j['epoch']" 2>/dev/null)
	[ -n "$k" ] && [ "$k" = "$m" ]
}

wait_kernel_in_step() {
	_wait_for kernel_in_step "$1" && return 0
	ktap_diag "kernel epoch $(_cluster_kernel_epoch), h1's mapd epoch $(_cluster_get h1 "j['epoch']")"
	return 1
}

# pushed_time EPOCH SINCE: when h1's mapd had the kernel install EPOCH
# or a later one (its log line, stamped as written). Epochs written
# close together reach a mapd in one etcd watch event, and it pushes
# only the last of them.
pushed_time() {
	awk -v e="$1" -v since="$2" '
		/^\[[0-9.]+\] .*pushed map epoch [0-9]+ / {
			t = substr($1, 2, length($1) - 2) + 0
			for (i = 2; i < NF; i++)
				if ($i == "epoch")
					break
			if (t >= since && $(i + 1) + 0 >= e) { print t; exit }
		}' "$SHARD_T/h1/mapd.log" 2>/dev/null
}

# The kernel answered GET_STATUS slowly (a lock held long?): say so. The
# record so far moves to kernel-epochs.log (saved with the logs).
slow_status() {
	local l
	l=$(_cluster_slow_status | tail -3 | paste -sd'|')
	[ -z "$l" ] || ktap_diag "slow GET_STATUS (uptime epoch ...): $l"
	cat "$SHARD_T/kernel-epochs.txt" >>"$SHARD_T/kernel-epochs.log" 2>/dev/null
	: >"$SHARD_T/kernel-epochs.txt"
}

# at_most SECS LIMIT WHAT: diag and fail when SECS is empty or > LIMIT.
at_most() {
	if [ -z "$1" ]; then
		ktap_diag "$3: did not happen"
		return 1
	fi
	awk -v s="$1" -v l="$2" 'BEGIN { exit !(s <= l) }' && return 0
	ktap_diag "$3: $1 s, more than $2 s"
	return 1
}

# Before a host is killed, etcd's own leader goes to h1 (which is never
# killed alone): when the killed host holds it, etcd first elects another
# (one election timeout, 2.5 s, or more) and then extends every lease by
# that timeout, so a dead mapd's keys live 5 s or more longer: measured 11
# to 15 s from kill to "down" or to a new leader instead of 5 to 7. That
# is etcd's behaviour, not shard's; the test measures shard's part.
etcd_leader_h1() {
	_cluster_etcd_move_leader h1 ||
		ktap_diag "could not move etcd's leader to h1 (it is on $(_cluster_etcd_leader))"
}

# fenced H SINCE: the leader fenced H (dead: its mapd's lease ran out),
# its daemons' address on every mapd's blocklist; diag how long after
# SINCE (the leader's log line).
fenced() {
	local h=$1 ip t l
	ip=$(_cluster_ip "$h")
	_cluster_wait h1 $((SHARD_CLUSTER_GRACE + 20)) "any(f['host'] == '$h' and f['addrs'] == ['$ip'] for f in j['fences']) and '$ip' in q('client ls')['blocklist'] and '$ip' in q('map-show')['map']['blocklist']" >/dev/null || {
		ktap_diag "$h not fenced: fences $(_cluster_get h1 "j['fences']"), blocklist $(_cluster_get h1 "j['blocklist']" client ls)"
		return 1
	}
	# The first leader's line since SINCE, whichever host led.
	t=$(for l in h1 h2 h3; do _cluster_log_time $l mapd "host $h is dead" "$2"; done |
		sort -n | head -1)
	if [ -n "$t" ]; then
		ktap_diag "$h fenced ($ip): $(_cluster_secs "$2" "$t") s after the kill or cut"
	else
		ktap_diag "$h fenced ($ip); no leader logged it"
	fi
}

# unfenced H SINCE: H's fence is gone from h1's view and the map.
unfenced() {
	local h=$1 ip t1
	ip=$(_cluster_ip "$h")
	t1=$(_cluster_wait h1 30 "not any(f['host'] == '$h' for f in j['fences']) and '$ip' not in q('client ls')['blocklist'] and '$ip' not in q('map-show')['map']['blocklist']") || {
		ktap_diag "$h still fenced: $(_cluster_get h1 "j['fences']")"
		return 1
	}
	ktap_diag "$h unfenced: $(_cluster_secs "$2" "$t1") s after"
}

# --- 1 ----------------------------------------------------------------------
t_cluster_up() {
	local h
	for h in h1 h2 h3; do
		_cluster_wait $h 30 "j['leader'] == 'h2' and j['etcd']['state'] == 'ok' and sorted(j['mapds']) == ['h1', 'h2', 'h3'] and $(all_up 6)" >/dev/null ||
			{ ktap_diag "$h's view is not as expected"; return 1; }
	done
	_cluster_wait h1 10 "j['kernel']['state'] == 'ok'" >/dev/null ||
		{ ktap_diag "h1's mapd is not talking to the kernel"; return 1; }
	wait_kernel_in_step 10
}
ktap_test cluster-up t_cluster_up

# --- 2 ----------------------------------------------------------------------
t_pool_volume_fio() {
	local t0
	t0=$(_cluster_now)
	_cluster_ctl h1 pool create p1 --size 1 --pgs 64 >/dev/null &&
	_cluster_ctl h1 pool create p2 --size 2 --pgs 32 >/dev/null &&
	_cluster_ctl h1 create p1/vol --size "$VOL" >/dev/null &&
	_cluster_ctl h1 create p2/vol --size 16M >/dev/null || return 1
	dev=$(_cluster_ctl h1 map p1/vol) || return 1
	dev2=$(_cluster_ctl h1 map p2/vol) || return 1
	_wait_for "[ -b $dev ] && [ -b $dev2 ]" 10 ||
		{ ktap_diag "$dev or $dev2 did not appear"; return 1; }
	# Another host's mapd sees the same pools (through etcd).
	_cluster_wait h3 10 "sorted(p['name'] for p in j['pools']) == ['default', 'p1', 'p2']" pool ls >/dev/null ||
		return 1
	run_fio fill --rw=write --bs=256k --size="$VOL" --do_verify=1 || return 1
	# Two copies, for the backfill of case 3.
	run_fio fill2 --filename="$dev2" --rw=write --bs=256k --size=16M \
		--do_verify=1 || return 1
	ktap_diag "case 2 took $(_cluster_secs "$t0" "$(_cluster_now)") s"
}
ktap_test pool-volume-fio t_pool_volume_fio
[ -b "$dev" ] || _die "no volume: cannot go on"

# --- 3 ----------------------------------------------------------------------
t_host_loss() {
	local ids p2moved p1on3 rate fpid e0 t0 t1 rc=0
	ids=$(_cluster_get h1 "','.join(map(str, ids('h3')))") || return 1
	p2moved=$(_cluster_get h1 "' '.join(p['pgid'] for p in j['pgs'] if p['acting'][0] in [$ids])" pg ls p2) || return 1
	p1on3=$(_cluster_get h1 "' '.join(p['pgid'] for p in j['pgs'] if p['acting'][0] in [$ids])" pg ls p1) || return 1
	ktap_diag "h3's daemons: $ids; its p1 PGs: $(wc -w <<<"$p1on3"), p2 primaries: $(wc -w <<<"$p2moved")"
	etcd_leader_h1
	# A verifying reader of the whole volume, slowed down so that it
	# still runs when h3 is back (about 12 s of I/O without the outage).
	# It starts just before the kill: a slow machine must not let it
	# finish first.
	rate=$((VOL_MB * 1024 / 12))k
	fio --name=reader --filename="$dev" --ioengine=libaio --direct=1 \
		--iodepth=16 --rw=read --bs=256k --size="$VOL" --rate="$rate" \
		--verify=crc32c --verify_fatal=1 >"$SHARD_T/fio-reader.log" 2>&1 &
	fpid=$!
	sleep 1
	kill -0 $fpid 2>/dev/null || { ktap_diag "the reader ended early"; fio_check reader 1; return 1; }
	e0=$(_cluster_kernel_epoch)
	_cluster_epochs_start
	_cluster_mark "kill -9 h3 (etcd's leader is $(_cluster_etcd_leader))"
	t0=$(_cluster_now)
	_cluster_kill h3
	# One poll for all of it (each Python start is slow under TCG):
	# h3's daemons down; p2's primaries that were on h3 moved to other
	# hosts; p1's PGs on h3 down, not moved; I/O waiting (held or in
	# flight) on the device.
	_cluster_wait h1 30 "not any(up(i) for i in ids('h3'))
		and all(pg(x)['acting'][0] is not None and pg(x)['acting'][0] not in [$ids] for x in '$p2moved'.split())
		and all(pg(x)['state'] == 'down' and pg(x)['up'][0] in [$ids] and pg(x)['acting'][0] in [None, $ids] for x in '$p1on3'.split())
		and any(d['held'] + d['inflight'] > 0 for d in q('status')['devices'])" \
		pg ls >/dev/null || {
		rc=1
		_cluster_get h1 "not any(up(i) for i in ids('h3'))" | grep -q True ||
			ktap_diag "h3's daemons are not down"
		_cluster_get h1 "all(pg(x)['acting'][0] is not None and pg(x)['acting'][0] not in [$ids] for x in '$p2moved'.split())" pg ls p2 | grep -q True ||
			ktap_diag "p2's primaries on h3 did not move: $(_cluster_get h1 "' '.join('%s:%s' % (x, pg(x)['acting']) for x in '$p2moved'.split())" pg ls p2)"
		_cluster_get h1 "all(pg(x)['state'] == 'down' and pg(x)['up'][0] in [$ids] and pg(x)['acting'][0] in [None, $ids] for x in '$p1on3'.split())" pg ls p1 | grep -q True ||
			ktap_diag "p1's PGs on h3 not down (or moved): $(_cluster_get h1 "' '.join('%s:%s:%s' % (x, pg(x)['up'], pg(x)['state']) for x in '$p1on3'.split())" pg ls p1)"
	}
	_cluster_epochs_stop
	slow_status
	t1=$(pushed_time $((e0 + 1)) "$t0")
	ktap_diag "kill -9 h3 -> its daemons down in the kernel's map (epoch $((e0 + 1))): $(_cluster_secs "$t0" "${t1:-$t0}") s"
	at_most "${t1:+$(_cluster_secs "$t0" "$t1")}" $((SHARD_CLUSTER_GRACE + 5)) "h3's daemons down (grace $SHARD_CLUSTER_GRACE s)" || rc=1
	kill -0 $fpid 2>/dev/null ||
		{ ktap_diag "the reader ended while h3 was down"; rc=1; }
	ktap_diag "held/inflight while h3 is down: $(_cluster_get h1 "[(d['held'], d['inflight']) for d in j['devices']]")"
	# Declared dead (its mapd's lease ran out): the leader fences its
	# clients' address, its daemons'.
	fenced h3 "$t0" || rc=1

	_cluster_mark "restart h3"
	t0=$(_cluster_now)
	_cluster_start_host h3
	t1=$(_cluster_wait h1 60 "all(up(i) for i in ids('h3'))") ||
		{ ktap_diag "h3's daemons not up again"; rc=1; }
	[ -n "$t1" ] && ktap_diag "h3 restarted -> its daemons up in h1's status: $(_cluster_secs "$t0" "$t1") s"
	# Restarted, it rebooted (a new boot id): the fence goes.
	unfenced h3 "$t0" || rc=1
	fio_wait $fpid reader
	fio_check reader $? || rc=1
	# p2 keeps two copies: h3's daemons are backfilled (the leader adds
	# them back whichever host's mapd their primaries report to), and
	# its volume still verifies.
	t1=$(_cluster_wait h1 90 "len(j['pgs']) == 32 and all(p['state'] == 'active+clean' and len([x for x in p['acting'] if x is not None]) == 2 for p in j['pgs'])" pg ls p2) ||
		{ ktap_diag "p2 not active+clean after h3 came back: $(_cluster_get h1 "', '.join('%d %s' % (n, s) for s, n in sorted(__import__('collections').Counter(p['state'] for p in j['pgs']).items()))" pg ls p2)"; rc=1; }
	[ -n "$t1" ] && ktap_diag "h3 restarted -> p2 active+clean (backfilled): $(_cluster_secs "$t0" "$t1") s; $(cat "$SHARD_T"/h*/d*.log 2>/dev/null | grep -c 'backfill of .* done') PG copies"
	run_fio verify2 --filename="$dev2" --rw=read --bs=256k --size=16M || rc=1
	ktap_diag "case 3 took $(_cluster_secs "$t0" "$(_cluster_now)") s from the restart"
	return $rc
}
ktap_test host-loss t_host_loss

# --- 4 ----------------------------------------------------------------------
t_leader_loss() {
	local e0 t0 t1 t3 leader flaps rc=0
	_cluster_wait h1 5 "j['leader'] == 'h2'" >/dev/null || return 1
	etcd_leader_h1
	e0=$(_cluster_kernel_epoch)
	_cluster_epochs_start
	_cluster_mark "kill -9 h2 (the leader; etcd's leader is $(_cluster_etcd_leader))"
	t0=$(_cluster_now)
	_cluster_kill h2
	_cluster_wait h1 30 "j['leader'] in ('h1', 'h3') and q('status', 'h3')['leader'] == j['leader'] and not any(up(i) for i in ids('h2'))" >/dev/null ||
		{ ktap_diag "no new leader, or h2's daemons not down, 30 s after the kill"; rc=1; }
	leader=$(_cluster_get h1 "j['leader']")
	wait_kernel_in_step 15 || rc=1
	_cluster_epochs_stop
	t1=$(_cluster_log_time h1 mapd 'leading cluster' "$t0")
	t3=$(_cluster_log_time h3 mapd 'leading cluster' "$t0")
	if [ -n "$t3" ] && { [ -z "$t1" ] || awk -v a="$t3" -v b="$t1" 'BEGIN { exit !(a < b) }'; }; then
		t1=$t3
	fi
	ktap_diag "kill -9 h2 -> first new leader: $(_cluster_secs "$t0" "${t1:-$t0}") s (now $leader)"
	at_most "${t1:+$(_cluster_secs "$t0" "$t1")}" $((SHARD_CLUSTER_GRACE + 7)) "new leader" || rc=1
	flaps=$(cat "$SHARD_T"/h[13]/mapd.log | awk -v t="$t0" '
		/^\[[0-9.]+\] / && substr($1, 2, length($1) - 2) + 0 >= t' |
		grep -c 'no longer the leader')
	[ "$flaps" = 0 ] ||
		ktap_diag "leadership changed hands $flaps more time(s): $(grep -h 'no longer the leader\|lease expired' "$SHARD_T"/h[13]/mapd.log | tail -4 | paste -sd'|')"
	slow_status
	t1=$(pushed_time $((e0 + 1)) "$t0")
	ktap_diag "kill -9 h2 -> its daemons down in the kernel's map (epoch $((e0 + 1))): $(_cluster_secs "$t0" "${t1:-$t0}") s"
	at_most "${t1:+$(_cluster_secs "$t0" "$t1")}" $((SHARD_CLUSTER_GRACE + 10)) "h2's daemons down in the kernel" || rc=1
	# The new leader fenced the old one's host.
	fenced h2 "$t0" || rc=1

	_cluster_mark "restart h2"
	t0=$(_cluster_now)
	_cluster_start_host h2
	_cluster_wait h1 60 "$(all_up 6)" >/dev/null ||
		{ ktap_diag "h2's daemons not up again"; rc=1; }
	unfenced h2 "$t0" || rc=1
	wait_kernel_in_step 15 || rc=1
	return $rc
}
ktap_test leader-loss t_leader_loss

# --- 5 ----------------------------------------------------------------------
t_add_daemon() {
	local e0 e1 fpid t0 t1 tend frc nios rc=0
	_cluster_epochs_start
	# Random writes over the third quarter, slowed to about 12 s; the
	# time fio ends goes to writer.end.
	nios=$((QUARTER_MB * 1024 / 16))
	rm -f "$SHARD_T/writer.end"
	{
		fio --name=writer --filename="$dev" --ioengine=libaio --direct=1 \
			--iodepth=16 --rw=randwrite --bs=16k --offset="$HALF" \
			--size="${QUARTER_MB}M" --rate_iops=0,$((nios / 12)) \
			--verify=crc32c --verify_fatal=1 --do_verify=1 \
			>"$SHARD_T/fio-writer.log" 2>&1
		echo "$? $(_cluster_now)" >"$SHARD_T/writer.end"
	} &
	fpid=$!
	sleep 2
	[ ! -e "$SHARD_T/writer.end" ] ||
		{ ktap_diag "the writer ended early"; fio_check writer 1; _cluster_epochs_stop; return 1; }
	# Read here, not before the writer: the last case's backfills may
	# still be writing epochs.
	e0=$(_cluster_kernel_epoch)
	_cluster_mark "add h1/d3"
	t0=$(_cluster_now)
	_cluster_daemon_start h1 d3 2G
	_cluster_wait h1 60 "$(all_up 7)" >/dev/null ||
		{ ktap_diag "not 7 daemons all up"; rc=1; }
	# p2's volume moves onto the new daemon where placement puts it
	# (backfill, an epoch per step): wait for that to end.
	_cluster_wait h1 90 "all(p['state'] == 'active+clean' for p in j['pgs'])" pg ls p2 >/dev/null ||
		{ ktap_diag "p2 not active+clean with the new daemon"; rc=1; }
	wait_kernel_in_step 15 || rc=1
	_cluster_epochs_stop
	slow_status
	e1=$(_cluster_kernel_epoch)
	t1=$(pushed_time $((e0 + 1)) "$t0")
	fio_wait $fpid writer
	read -r frc tend <"$SHARD_T/writer.end"
	if [ -n "$t1" ] && [ "$e1" -gt "$e0" ]; then
		ktap_diag "new daemon -> epoch $((e0 + 1)) in the kernel: $(_cluster_secs "$t0" "$t1") s, epoch $e1 (p2 moved): $(_cluster_secs "$t0" "$(pushed_time "$e1" "$t0")") s; the writer ended $(_cluster_secs "$t1" "$tend") s after the first"
		awk -v a="$t1" -v b="$tend" 'BEGIN { exit !(a < b) }' ||
			{ ktap_diag "the writer ended before the new map: not under load"; rc=1; }
	else
		ktap_diag "no push of an epoch past $e0 in h1's mapd log since the new daemon (the kernel has $e1)"
		rc=1
	fi
	fio_check writer "$frc" || rc=1
	ktap_diag "p1 PG states: $(_cluster_get h1 "', '.join('%d %s' % (n, s) for s, n in sorted(__import__('collections').Counter(p['state'] for p in j['pgs']).items()))" pg ls p1)"
	# Everything written before (case 2) and now still reads back.
	fio --filename="$dev" --ioengine=libaio --direct=1 --iodepth=16 \
		--rw=read --verify=crc32c --verify_fatal=1 \
		--name=before --offset=0 --size="$HALF" --bs=256k \
		--name=now --offset="$HALF" --size="${QUARTER_MB}M" --bs=16k \
		--name=after --offset=$((VOL_MB / 2 + QUARTER_MB))M \
		--size="${QUARTER_MB}M" --bs=256k \
		>"$SHARD_T/fio-fullcheck.log" 2>&1 &
	fio_wait $! fullcheck
	fio_check fullcheck $? || rc=1
	run_fio verify2-moved --filename="$dev2" --rw=read --bs=256k \
		--size=16M || rc=1
	return $rc
}
ktap_test add-daemon-under-load t_add_daemon

# --- 6 ----------------------------------------------------------------------
t_etcd_down() {
	local h t0 t1 f rc=0
	_cluster_mark "stop all etcd members"
	t0=$(_cluster_now)
	for h in h1 h2 h3; do
		_cluster_kill $h etcd 15
	done
	t1=$(_cluster_wait h1 20 "j['etcd']['state'] == 'unreachable'") ||
		{ ktap_diag "h1 does not say etcd is unreachable"; rc=1; }
	[ -n "$t1" ] && ktap_diag "etcd stopped -> unreachable in h1's status: $(_cluster_secs "$t0" "$t1") s"
	ktap_diag "h1: $(_cluster_ctl h1 status | head -1)"
	run_fio etcd-down --rw=randwrite --bs=16k --size=16M --do_verify=1 || rc=1
	_cluster_mark "restart all etcd members"
	t0=$(_cluster_now)
	for h in h1 h2 h3; do
		_cluster_etcd_start $h
	done
	_cluster_etcd_wait 90 || { ktap_diag "etcd did not come back"; return 1; }
	ktap_diag "etcd restarted -> healthy: $(_cluster_secs "$t0" "$(_cluster_now)") s"
	t1=$(_cluster_wait h1 30 "all(q('status', h)['etcd']['state'] == 'ok' for h in ('h1', 'h2', 'h3'))") || {
		rc=1
		for h in h1 h2 h3; do
			ktap_diag "$h: $(_cluster_ctl $h status | head -1)"
		done
	}
	[ -n "$t1" ] && ktap_diag "etcd restarted -> ok in every mapd's status: $(_cluster_secs "$t0" "$t1") s"
	_cluster_wait h1 30 "$(all_up 7) and j['leader'] is not None" >/dev/null || rc=1
	wait_kernel_in_step 15 || rc=1
	# A mapd whose lease ran out while etcd was away is fenced as dead:
	# not expected (etcd renews every lease when it elects a leader).
	f=$(_cluster_get h1 "' '.join(f['host'] for f in j['fences'])")
	[ -z "$f" ] || ktap_diag "fenced after the etcd outage: $f"
	return $rc
}
ktap_test etcd-unreachable t_etcd_down

# --- 7 ----------------------------------------------------------------------
# The first object of p3/vol whose PG's primary is one of HOST's daemons:
# prints OFFSET POOL_ID VOLUME_ID OBJECT DAEMON PORT. The object -> PG
# hash is include/shard/pg.h's shard_object_pg(), transcribed.
object_on_host() {
	"$_cl_python" - "$SHARDCTL" "$SHARD_T/h1/mapd.sock" "$1" <<'PY'
import json, subprocess, sys
ctl, sock, host = sys.argv[1:4]
M64 = (1 << 64) - 1
def q(*a):
    return json.loads(subprocess.run([ctl, "--socket", sock, "--json", *a],
                      stdout=subprocess.PIPE, check=True).stdout)
def mix64(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)
st = q("status")
mine = set(st["hosts"][host]["ids"])
port = {d["id"]: d["port"] for d in st["daemons"]}
v = next(v for v in q("ls")["volumes"] if v["pool"] == "p3")
pool = next(p for p in q("map-show")["map"]["pools"] if p["name"] == "p3")
w, a = pool["width"], pool["acting"]
for o in range(v["size"] >> v["obj_order"]):
    pg = ((mix64(mix64(v["id"]) ^ o) >> 32) * pool["pg_count"]) >> 32
    prim = a[pg * w]
    if prim in mine:
        print(o << v["obj_order"], pool["id"], v["id"], o, prim, port[prim])
        sys.exit(0)
sys.exit(1)
PY
}

# partition HOST add|del: cut HOST off from the other hosts (blackhole
# routes both ways), while the kernel (on the bridge) still reaches it.
partition() {
	local h=$1 op=$2 i
	for ((i = 1; i <= 3; i++)); do
		[ "h$i" = "$h" ] && continue
		ip -n "shard-$h" route "$op" blackhole "$(_cluster_ip "h$i")/32" &&
		ip -n "shard-h$i" route "$op" blackhole "$(_cluster_ip "$h")/32" ||
			return 1
	done
}

# A network partition: h3 runs on, cut off from h1 and h2. The others
# mark its daemons down and go on (size 3, min_size 2: writes continue
# on two copies); a client that still has the old map and writes to
# h3's daemon, the old primary of its object, gets nothing acknowledged
# (h3 cannot reach the other members, and once it can they refuse its
# old epoch). Healed, h3's daemons are backfilled, every PG of the pool
# ends active+clean with three members, and everything verifies: the
# old primary's write never landed anywhere that counts.
t_partition() {
	local dev3 off pool vol obj prim port e0 wpid woff wsize t0 t1 res rc=0
	_cluster_ctl h1 pool create p3 --size 3 --min-size 2 --pgs 16 >/dev/null &&
	_cluster_ctl h1 create p3/vol --size 16M >/dev/null || return 1
	dev3=$(_cluster_ctl h1 map p3/vol) || return 1
	_wait_for "[ -b $dev3 ]" 10 || { ktap_diag "$dev3 did not appear"; return 1; }
	run_fio fill3 --filename="$dev3" --rw=write --bs=64k --size=16M \
		--do_verify=1 || return 1
	read -r off pool vol obj prim port < <(object_on_host h3) ||
		{ ktap_diag "no object of p3/vol has its primary on h3"; return 1; }
	# The random writer keeps off that object.
	if [ "$off" = 0 ]; then
		woff=4M wsize=12M
	else
		woff=0 wsize=$((off >> 20))M
	fi
	e0=$(_cluster_kernel_epoch)
	etcd_leader_h1
	_cluster_mark "cut h3 off (object $obj of volume $vol, primary $prim on h3)"
	t0=$(_cluster_now)
	partition h3 add || { ktap_diag "cannot cut h3 off"; partition h3 del; return 1; }
	t1=$(_cluster_wait h1 60 "not any(up(i) for i in ids('h3'))") ||
		{ ktap_diag "h3's daemons not down 60 s after the cut"; rc=1; }
	[ -n "$t1" ] && ktap_diag "h3 cut off -> its daemons down in h1's status: $(_cluster_secs "$t0" "$t1") s"
	wait_kernel_in_step 15 || rc=1
	# The old primary, asked with the old map: nothing acknowledged.
	"$_cl_python" "$SHARD_REPO/tests/tools/shard-write.py" \
		"$(_cluster_ip h3)" "$port" "$pool" "$vol" "$obj" "$e0" 90 \
		>"$SHARD_T/isolated-write.out" 2>&1 &
	wpid=$!
	# The rest goes on meanwhile.
	run_fio partitioned --filename="$dev3" --rw=randwrite --bs=16k \
		--offset="$woff" --size="$wsize" --do_verify=1 || rc=1
	sleep 2
	if [ -s "$SHARD_T/isolated-write.out" ]; then
		ktap_diag "h3's daemon answered a write while cut off: $(cat "$SHARD_T/isolated-write.out")"
		rc=1
	else
		ktap_diag "h3's daemon did not answer the old client's write while cut off"
	fi
	fenced h3 "$t0" || rc=1
	_cluster_mark "heal h3"
	t0=$(_cluster_now)
	partition h3 del || { ktap_diag "cannot heal the partition"; rc=1; }
	_wait_for "_cluster_gone $wpid" 100 || kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	res=$(cat "$SHARD_T/isolated-write.out")
	ktap_diag "the old client's write, after healing: ${res:-nothing}"
	case $res in
	"status 0 "*) ktap_diag "a write through the isolated old primary was acknowledged"; rc=1 ;;
	esac
	t1=$(_cluster_wait h1 120 "all(up(i) for i in ids('h3')) and len(j['pgs']) == 16 and all(p['state'] == 'active+clean' and len([x for x in p['acting'] if x is not None]) == 3 for p in j['pgs'])" pg ls p3) ||
		{ ktap_diag "p3 not active+clean with three members after healing: $(_cluster_get h1 "', '.join('%d %s' % (n, s) for s, n in sorted(__import__('collections').Counter(p['state'] for p in j['pgs']).items()))" pg ls p3)"; rc=1; }
	[ -n "$t1" ] && ktap_diag "healed -> p3 active+clean, three copies: $(_cluster_secs "$t0" "$t1") s"
	# Back with the same boot id: its kernel may still hold writes, so
	# the fence stays and status says what to do; a person lifts it.
	_cluster_wait h1 30 "'h3' in j['mapds'] and any(f['host'] == 'h3' and f['state'] == 'back' and f['addrs'] == ['$(_cluster_ip h3)'] for f in j['fences'])" >/dev/null ||
		{ ktap_diag "h3 not fenced after healing: $(_cluster_get h1 "j['fences']")"; rc=1; }
	_cluster_ctl h1 status >"$SHARD_T/status-fenced.txt" 2>&1
	if grep -q "h3 is back without a reboot" "$SHARD_T/status-fenced.txt" &&
	   grep -q "shardctl client unblocklist" "$SHARD_T/status-fenced.txt"; then
		ktap_diag "status: $(grep -A3 '^fenced: host h3' "$SHARD_T/status-fenced.txt" | paste -sd'|')"
	else
		ktap_diag "status does not say that h3 stays fenced: $(head -8 "$SHARD_T/status-fenced.txt" | paste -sd'|')"
		rc=1
	fi
	grep -q "host h3 is back with the boot id it was fenced with" "$SHARD_T"/h*/mapd.log ||
		{ ktap_diag "no leader said that h3 stays fenced"; rc=1; }
	_cluster_ctl h1 client unblocklist "$(_cluster_ip h3)" >/dev/null || rc=1
	unfenced h3 "$t0" || rc=1
	wait_kernel_in_step 15 || rc=1
	# Both regions read back as fio wrote them.
	run_fio verify3-written --filename="$dev3" --rw=randwrite --bs=16k \
		--offset="$woff" --size="$wsize" --verify_only=1 || rc=1
	run_fio verify3-object --filename="$dev3" --rw=write --bs=64k \
		--offset="$off" --size=4M --verify_only=1 || rc=1
	return $rc
}
ktap_test partition t_partition

ktap_diag "total $(_cluster_secs "$t_start" "$(_cluster_now)") s"
_cluster_finished
