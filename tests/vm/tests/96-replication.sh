#!/bin/bash
# 96-replication: a size 3 / min_size 2 pool (failure domain "daemon") on
# three daemons of one host, mapped through the kernel.
#  1. every PG is active+clean with three members;
#  2. the whole volume is written (fio, crc32c headers), and the daemon
#     that is primary of most of its objects is killed (-9) in the middle
#     of it: the write ends without an error, and a verify-only pass
#     reads everything back from the new primaries (the longest pause in
#     writes around the kill is printed);
#  3. "ack, kill the primary, flush": a pattern written O_DIRECT to a
#     second volume (no flush), in an object whose primary is the daemon
#     killed in 2, then a flush after the kill: it reads back;
#  4. the killed daemon comes back: it is backfilled and rejoins every
#     PG (active+clean, three members), and the whole volume verifies;
#  5. four more rounds (one under the debug kernel) of kill -9 (the
#     primary of most objects, never the same daemon twice in a row),
#     restart and backfill, while random writes with verification run
#     on: no error, every PG active+clean at the end (five kills in all;
#     the cluster's recovery share set to 100% meanwhile, and back);
#  6. a block of the primary's copy damaged on disk reads back right,
#     from another member's copy;
#  6b. a deep scrub (shardctl pg deep-scrub) of that PG and of one whose
#     member's copy is damaged repairs both, and a second finds nothing;
#  6c. a member misses one 64 KiB write into an object it holds and the
#     discard of a whole object while it is down: when it is back, the
#     backfills compare versions, copy the 64 KiB written only (the
#     primary's change log reaches back to the member's version) and
#     remove the discarded object there, and a deep scrub of the
#     written one's PG finds the copies equal;
#  6d. a fourth daemon joins, and the daemon that is primary of most
#     objects is marked out: its copies are rebuilt on the others (every
#     PG active+clean with three members, none of them the daemon out),
#     the volume verifies, and the amount copied is printed, with
#     shardctl status's recovery line as the rebuild runs; after it,
#     status's recovery reports bytes copied (a test of its own);
#  7. fencing: with the host's address blocklisted a write from it waits
#     (its connections are closed, its HELLO refused); once unblocklisted
#     the write completes and reads back;
#  8. two of the three daemons are killed: PGs fall below min_size;
#     reads still verify, a write waits (no completion, no error) until
#     the device is removed with force.
# Without replication, 2 and 3 fail (the new primaries hold nothing).
. "$(dirname "$0")/../../lib/test_common.sh"
. "$(dirname "$0")/../../lib/shard_common.sh"

[ -n "${SHARD_VM_KERNEL:-}" ] || ktap_skip_all "runs in the VM"
_require_cmd fio blkdiscard
_shard_setup
for d in d0 d1 d2; do
	_shard_daemon "$d"
done
_shard_wait_daemons 3 || _die "three daemons did not register"

POOL=rep
# Every backfill copies the whole volume (three copies on three daemons).
VOL_MB=$(_shard_scaled 64 48)
ACK_MB=64
# Per pass of random writes: short passes, so that the loop under the
# kills stops soon after the last one (a 16 MiB pass takes about 70 s
# under the debug kernel).
RW_IO=$(_shard_scaled 16M 4M)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# Map and PG queries, in one Python file (a Python start costs seconds
# on the debug kernel: each call does all it can). The object -> PG hash
# is include/shard/pg.h's shard_object_pg(), transcribed.
cat >"$SHARD_T/rep.py" <<'EOF'
import collections, json, subprocess, sys, time

CTL, SOCK, POOL, CMD = sys.argv[1:5]
ARGS = sys.argv[5:]
M64 = (1 << 64) - 1


def mix64(x):
    x ^= x >> 30
    x = (x * 0xbf58476d1ce4e5b9) & M64
    x ^= x >> 27
    x = (x * 0x94d049bb133111eb) & M64
    x ^= x >> 31
    return x


def object_pg(volume, obj, pg_count):
    return ((mix64(mix64(volume) ^ obj) >> 32) * pg_count) >> 32


def q(*args):
    r = subprocess.run([CTL, "--socket", SOCK, "--json", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    if r.returncode:
        raise RuntimeError("shardctl %s: %s" % (" ".join(args),
                                                r.stderr.strip()))
    return json.loads(r.stdout)


def pool_map():
    m = q("map-show")["map"]
    p = [p for p in m["pools"] if p["name"] == POOL][0]
    w, a = p["width"], p["acting"]
    acting = [[x for x in a[i * w:(i + 1) * w] if x is not None]
              for i in range(p["pg_count"])]
    return m, p, acting


def volume(name):
    for v in q("ls")["volumes"]:
        if v["pool"] == POOL and v["name"] == name:
            return v
    raise RuntimeError("no volume %s/%s" % (POOL, name))


def objects(name):
    """(object index, PG, acting set) of every object of volume NAME."""
    v = volume(name)
    _, p, acting = pool_map()
    n = (v["size"] + (1 << v["obj_order"]) - 1) >> v["obj_order"]
    for o in range(n):
        pg = object_pg(v["id"], o, p["pg_count"])
        yield o, v["obj_order"], p, pg, acting[pg]


def daemons():
    return {d["id"]: d for d in q("status")["daemons"]}


def cmd_victim():
    """VOL [NOT]: the daemon that is primary of most of VOL's objects
    (other than NOT): prints ID PORT COUNT OBJECTS."""
    c, n = collections.Counter(), 0
    for _, _, _, _, act in objects(ARGS[0]):
        n += 1
        if act and (len(ARGS) < 2 or act[0] != int(ARGS[1])):
            c[act[0]] += 1
    best = sorted(c, key=lambda d: (-c[d], d))[0]
    print(best, daemons()[best]["port"], c[best], n)
    return 0


def cmd_object_of():
    """VOL ID: the byte offset of the first object of VOL whose PG has
    primary ID, and that PG: prints OFFSET PGID."""
    for o, order, p, pg, act in objects(ARGS[0]):
        if act and act[0] == int(ARGS[1]):
            print(o << order, "%d.%x" % (p["id"], pg))
            return 0
    sys.stderr.write("no object of %s has daemon %s as primary\n" %
                     tuple(ARGS[:2]))
    return 1


def cmd_wait():
    """ID up|down SEC: until mapd has daemon ID up (down: down and in no
    acting set of the pool) and the kernel has that map's epoch."""
    did, want, end = int(ARGS[0]), ARGS[1], time.time() + float(ARGS[2])
    last = ""
    while True:
        try:
            m, _, acting = pool_map()
            s = q("status")
            d = [x for x in s["daemons"] if x["id"] == did]
            up = bool(d and d[0]["up"])
            kern = s.get("kernel", {}).get("epoch", -1)
            if want == "up":
                ok = up
            else:
                ok = not up and not any(did in a for a in acting)
            last = ("daemon %d up=%s, in %d acting sets, map epoch %d, "
                    "kernel %s" % (did, up, sum(did in a for a in acting),
                                   m["epoch"], s.get("kernel")))
            if ok and kern >= m["epoch"]:
                print("# " + last)
                return 0
        except Exception as e:
            last = str(e)
        if time.time() > end:
            print("# timed out: " + last)
            return 1
        time.sleep(0.2)


def cmd_absent():
    """ID: daemon ID is in no acting set of the pool (prints how many it
    is in otherwise)."""
    _, _, acting = pool_map()
    n = sum(int(ARGS[0]) in a for a in acting)
    if n:
        print("# daemon %s is still in %d acting sets" % (ARGS[0], n))
    return 1 if n else 0


def cmd_pgs():
    """clean N | undersized N ID: every PG active+clean with N members, or
    active+undersized with N members none of which is ID, ID up."""
    mode, n = ARGS[0], int(ARGS[1])
    pgs = q("pg", "ls", POOL)["pgs"]
    states = collections.Counter(g["state"] for g in pgs)
    bad = []
    for g in pgs:
        act = [x for x in (g["acting"] or []) if x is not None]
        if mode == "clean":
            good = g["state"] == "active+clean" and len(set(act)) == n
        else:
            # active+undersized, maybe +remapped (up keeps the daemon).
            st = g["state"].split("+")
            good = (st[:2] == ["active", "undersized"] and
                    len(set(act)) == n and int(ARGS[2]) not in act)
        if not good:
            bad.append("%s %s acting %s" % (g["pgid"], g["state"], act))
    print("# %d PGs: %s" % (len(pgs), dict(states)))
    for b in bad[:5]:
        print("# bad: " + b)
    if mode == "undersized":
        d = daemons().get(int(ARGS[2]))
        if not d or not d["up"]:
            print("# daemon %s is not up" % ARGS[2])
            return 1
    return 1 if bad or not pgs else 0


def cmd_primary_at():
    """VOL OFFSET [K]: member K (0: the primary) of the PG of the object
    at OFFSET of VOL: prints ID PORT PGID."""
    v = volume(ARGS[0])
    _, p, acting = pool_map()
    pg = object_pg(v["id"], int(ARGS[1]) >> v["obj_order"], p["pg_count"])
    k = int(ARGS[2]) if len(ARGS) > 2 else 0
    print(acting[pg][k], daemons()[acting[pg][k]]["port"],
          "%d.%x" % (p["id"], pg))
    return 0


def cmd_store_pos():
    """VOL OFFSET STORE: where the byte at OFFSET of VOL lies in the
    store file STORE (userspace/shardd/store_int.h: superblock, then an
    entry per slot, 64 bytes (32 in format 1), data at data_off + slot <<
    slot_order)."""
    import struct
    v = volume(ARGS[0])
    off, path = int(ARGS[1]), ARGS[2]
    obj = off >> v["obj_order"]
    with open(path, "rb") as f:
        sb = f.read(128)
        (magic, fmt, _, _, order, nslots, table, _, data) = struct.unpack_from(
            "<QIIQIIQQQ", sb)
        if magic != 0x4f54534452414853:
            raise RuntimeError("%s: not a shard store" % path)
        esize = 32 if fmt == 1 else 64
        f.seek(table)
        tbl = f.read(nslots * esize)
    for slot in range(nslots):
        pool, _, flags, _, vol, o = struct.unpack_from("<IBBHQQ", tbl,
                                                       slot * esize)
        if flags & 1 and vol == v["id"] and o == obj:
            print(data + (slot << order) + (off & ((1 << v["obj_order"]) - 1)))
            return 0
    raise RuntimeError("no slot holds object %d of %s" % (obj, ARGS[0]))


def cmd_wait_clean():
    """N SEC: until every PG of the pool is active+clean with N members
    and the kernel has the map's epoch; prints how long it took."""
    n, t0 = int(ARGS[0]), time.time()
    end, last = t0 + float(ARGS[1]), ""
    while True:
        try:
            m, _, _ = pool_map()
            pgs = q("pg", "ls", POOL)["pgs"]
            s = q("status")
            states = collections.Counter(g["state"] for g in pgs)
            good = all(g["state"] == "active+clean" and
                       len([x for x in g["acting"] if x is not None]) == n
                       for g in pgs)
            last = "%s, map epoch %d, kernel %s" % (
                dict(states), m["epoch"], s.get("kernel"))
            if good and pgs and s.get("kernel", {}).get("epoch", -1) >= m["epoch"]:
                print("# every PG active+clean with %d members after %.1f s"
                      % (n, time.time() - t0))
                return 0
        except Exception as e:
            last = str(e)
        if time.time() > end:
            print("# timed out: " + last)
            return 1
        time.sleep(0.3)


def cmd_recovery():
    """show|check [FILE]: status's recovery (from FILE, a saved --json
    status, or asked now) and the bytes copied per daemon; check fails
    unless the daemons' copied sum to more than 0, and to status's own."""
    if len(ARGS) > 1:
        with open(ARGS[1]) as f:
            s = json.load(f)
    else:
        s = q("status")
    r = s.get("recovery")
    per = {d["id"]: (d.get("recovery") or {}).get("copied", 0)
           for d in s.get("daemons", [])}
    total = sum(per.values())
    print("# status --json recovery: %s" % json.dumps(r, sort_keys=True))
    print("# copied per daemon: %s; %d bytes in all" % (
        ", ".join("%d: %d" % (i, per[i]) for i in sorted(per)), total))
    if ARGS[0] != "check":
        return 0
    if total <= 0 or not isinstance(r, dict) or r.get("copied") != total:
        print("# expected copied > 0, the same in status's recovery")
        return 1
    return 0


sys.exit({"victim": cmd_victim, "wait-clean": cmd_wait_clean, "primary-at": cmd_primary_at,
          "store-pos": cmd_store_pos, "object-of": cmd_object_of,
          "wait": cmd_wait, "pgs": cmd_pgs, "absent": cmd_absent,
          "recovery": cmd_recovery}[CMD]())
EOF
rep() {
	"$PY" "$SHARD_T/rep.py" "$SHARD_BIN/tools/shardctl/shardctl" \
		"$SHARD_SOCK" "$POOL" "$@"
}

# The daemon name that listens on PORT.
name_of_port() {
	local n
	for n in "${!_shard_port[@]}"; do
		[ "${_shard_port[$n]}" = "$1" ] && echo "$n"
	done
}

diag_state() {
	local n
	ktap_diag "--- state: $*"
	_shardctl pg ls "$POOL" 2>&1 | head -12 | sed 's/^/# /'
	_shardctl daemon ls 2>&1 | sed 's/^/# /'
	for n in mapd d0 d1 d2; do
		tail -4 "$SHARD_T/$n.log" 2>/dev/null | sed "s/^/# $n: /"
	done
}

# fio over the whole data volume; the job is the same for the write and
# for the verify-only pass that replays it (same offsets and seeds). It
# runs in the background: a fio stuck on I/O that never completes cannot
# be killed (nor can `timeout` that waits for it), so after the limit it
# is left behind, to fail when the device is removed with force.
# fio_start LOG ARGS... (sets fio_pid); fio_wait LOG; fio_job LOG ARGS...
# does both.
fio_start() {
	local log=$1
	shift
	fio --name=rep --filename="$dev" --ioengine=libaio --direct=1 \
		--size="${VOL_MB}M" --verify=crc32c --verify_fatal=1 \
		--randrepeat=1 --randseed=96 --group_reporting=1 "$@" \
		>"$SHARD_T/$log" 2>&1 &
	fio_pid=$!
}

fio_job() {
	fio_start "$@" && fio_wait "$1"
}

fio_wait() {
	local log=$1 rc=0 pid=$fio_pid limit
	limit=$(_shard_scaled 240 600)
	if ! _wait_for "! kill -0 $pid 2>/dev/null" "$limit"; then
		kill "$pid" 2>/dev/null
		ktap_diag "fio $log did not finish in $limit s"
		return 1
	fi
	wait "$pid" || rc=$?
	if [ $rc -ne 0 ] || grep -qE 'err= *[1-9]|verify: bad|fio: (pid|io_u error)' "$SHARD_T/$log"; then
		ktap_diag "fio $log: exit $rc"
		grep -E 'verify|error|err=|bad|fio:' "$SHARD_T/$log" | head -12 |
			sed 's/^/# fio: /'
		return 1
	fi
	return 0
}

seq_job=(--rw=write --bs=64k --iodepth=16)
rw_job=(--rw=randwrite --bs=16k --iodepth=16 --io_size="$RW_IO")

# The pattern's first N x 64 KiB, written O_DIRECT to the ack volume at
# byte OFF (a multiple of 64 KiB), dd's messages to ERRFILE; and read
# back (O_DIRECT) and compared with it, cmp's report on stdout.
# ack_write OFF N ERRFILE; ack_reads_back OFF N
ack_write() {
	dd if="$SHARD_T/pattern" of="$ack" bs=64k count="$2" seek=$(($1 >> 16)) \
		oflag=direct 2>"$3"
}

ack_reads_back() {
	cmp <(dd if="$ack" bs=64k skip=$(($1 >> 16)) count="$2" iflag=direct 2>/dev/null) \
		<(head -c $(($2 << 16)) "$SHARD_T/pattern")
}

ktap_plan 12

_shardctl pool create "$POOL" --size 3 --min-size 2 --failure-domain daemon \
	>/dev/null || _die "pool create failed"
dev=$(_shard_volume "$POOL/data" "${VOL_MB}M")
ack=$(_shard_volume "$POOL/ack" "${ACK_MB}M")
ktap_diag "$POOL/data (${VOL_MB} MiB) is $dev, $POOL/ack is $ack"

t_clean() {
	rep pgs clean 3 || { diag_state "not all PGs clean"; return 1; }
}
ktap_test pgs-active-clean-3-members t_clean

# 2 and 3 share one kill: the ack pattern goes first, then the whole
# volume is written, and the daemon that is primary of most of it dies
# in the middle of that write.
read -r victim vport vcount nobj < <(rep victim data)
vname=$(name_of_port "$vport")
[ -n "$vname" ] || _die "cannot tell which daemon is primary of most objects"
ktap_diag "daemon $victim ($vname) is primary of $vcount of $nobj objects"
read -r ack_off ack_pg < <(rep object-of ack "$victim" 2>&1)
[[ $ack_off =~ ^[0-9]+$ ]] || { ktap_diag "ack object: $ack_off $ack_pg"; ack_off=; }
head -c $((1 << 20)) /dev/urandom >"$SHARD_T/pattern"
ack_at=$((${ack_off:-0} + (64 << 10)))
[ -n "$ack_off" ] &&
	{ ack_write "$ack_at" 16 "$SHARD_T/dd-ack.err" || ack_off=; }
ktap_diag "ack pattern at $ack_at of $ack (PG $ack_pg, primary $victim)"

t0=$SECONDS
start_ms=$(date +%s%3N)
fio_start fio-write.log "${seq_job[@]}" --do_verify=0 \
	--write_lat_log="$SHARD_T/wlat" --log_avg_msec=0
sleep "$(_shard_scaled 3 8)"
kill_ms=$(($(date +%s%3N) - start_ms))
ktap_diag "kill -9 $vname (daemon $victim) during the write"
_shard_kill "$vname" 9
killed_gone=1
rep wait "$victim" down 30 || killed_gone=
wrote=
fio_wait fio-write.log && wrote=1
ktap_diag "whole-volume write: $((SECONDS - t0)) s"
# The longest pause between two write completions: how long I/O stood
# still around the kill (the daemon's death to I/O resuming).
awk -F, '{ print $1 }' "$SHARD_T"/wlat_clat.*.log 2>/dev/null | sort -n |
	awk -v k="$kill_ms" 'NR > 1 && $1 - p > gap { gap = $1 - p; at = p }
		{ p = $1 }
		END { if (gap) printf "# longest pause in writes: %d ms, from %d ms (kill at about %d ms)\n", gap, at, k }'

t_verify_after_kill() {
	[ -n "$wrote" ] || { ktap_diag "the write pass failed"; return 1; }
	[ -n "$killed_gone" ] ||
		{ diag_state "the kernel still maps daemon $victim"; return 1; }
	t0=$SECONDS
	fio_job fio-verify.log "${seq_job[@]}" --verify_only=1 ||
		{ diag_state "verify after kill failed"; return 1; }
	ktap_diag "verify-only pass: $((SECONDS - t0)) s"
}
ktap_test verify-after-primary-killed t_verify_after_kill

# The flush runs in the background: one that waits for a daemon that is
# gone must not hang the test (a task in D state outlives `timeout`).
# If still waiting, it is reaped after the daemon comes back (4).
sync_pid=
t_ack_flush() {
	local rc=0
	[ -n "$ack_off" ] || { ktap_diag "no ack write: $(cat "$SHARD_T/dd-ack.err" 2>/dev/null)"; return 1; }
	# fsync of the block device: the kernel sends FLUSH.
	sync "$ack" &
	sync_pid=$!
	if _wait_for "! kill -0 $sync_pid 2>/dev/null" "$(_shard_scaled 20 40)"; then
		wait "$sync_pid" || { ktap_diag "flush failed"; rc=1; }
		sync_pid=
	else
		ktap_diag "flush of $ack still waiting after $(_shard_scaled 20 40) s (for the dead daemon $victim?)"
		rc=1
	fi
	if ! ack_reads_back "$ack_at" 16 >"$SHARD_T/cmp.out" 2>&1; then
		ktap_diag "acknowledged write lost after its primary died: $(cat "$SHARD_T/cmp.out")"
		rc=1
	fi
	[ $rc = 0 ] || diag_state "ack-kill-flush"
	return $rc
}
ktap_test ack-kill-primary-flush-reads-back t_ack_flush

# The objects the daemons removed from backfill targets (held there,
# dropped here), summed from their logs.
backfill_removed() {
	cat "$SHARD_T"/d*.log |
		sed -n 's/.* done: .* \([0-9]*\) of them removed)$/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# The copies the daemons made while backfilling, summed from their logs
# ("done: N objects, S KiB|MiB in"): "OBJECTS KIB".
backfill_counts() {
	cat "$SHARD_T"/d*.log | awk '
		/backfill of .* done:/ {
			for (i = 1; i + 2 <= NF; i++) {
				if ($(i + 1) == "objects,") o += $i
				if ($(i + 2) != "in") continue
				if ($(i + 1) == "KiB") k += $i
				if ($(i + 1) == "MiB") k += $i * 1024
			}
		}
		END { printf "%d %d\n", o, k }'
}

# The same as "OBJECTS objects, SIZE", less the first SKIP_O objects and
# SKIP_K KiB if given.
backfill_totals() {
	local o k
	read -r o k < <(backfill_counts)
	o=$((o - ${1:-0}))
	k=$((k - ${2:-0}))
	if [ "$k" -lt 10240 ]; then
		echo "$o objects, $k KiB"
	else
		echo "$o objects, $((k >> 10)) MiB"
	fi
}

clean_wait=$(_shard_scaled 120 400)

# The killed daemon comes back: it is backfilled with everything it
# missed and rejoins every PG; the data still verifies.
t_restart_backfill() {
	local rc=0
	_shard_daemon "$vname"
	rep wait "$victim" up 30 || rc=1
	if [ -n "$sync_pid" ]; then
		if _wait_for "! kill -0 $sync_pid 2>/dev/null" 30; then
			wait "$sync_pid"
			ktap_diag "the waiting flush ended (exit $?) once daemon $victim was back"
		else
			ktap_diag "the flush still waits with daemon $victim back"
		fi
	fi
	rep wait-clean 3 "$clean_wait" ||
		{ diag_state "daemon $victim did not rejoin every PG"; return 1; }
	ktap_diag "backfilled so far: $(backfill_totals)"
	fio_job fio-verify2.log "${seq_job[@]}" --verify_only=1 ||
		{ diag_state "verify after the backfill failed"; rc=1; }
	return $rc
}
ktap_test restart-backfills-and-rejoins t_restart_backfill

# Whether the last "recovery share" line of d0, d1 and d2's logs
# matches PATTERN.
share_logged() {
	local d
	for d in d0 d1 d2; do
		grep 'recovery share' "$SHARD_T/$d.log" | tail -1 |
			grep -q "$1" || return 1
	done
}

# Kill, restart and backfill four more times (once under the debug
# kernel, which is about three times slower), each time the primary of
# most objects among the daemons not killed last, while random writes
# with verification run without a stop: they end with no error, and
# every PG with three members. Recovery speed is not what this checks:
# the cluster's recovery share is 100% meanwhile (set at run time, with
# no daemon restarted), and back to each daemon's own after.
t_repeated_kills() {
	local rc=0 i who=$victim port name loops=0 rounds
	rounds=$(_shard_scaled 4 1)
	_shardctl recovery share 100 >/dev/null ||
		{ ktap_diag "shardctl recovery share 100 failed"; return 1; }
	_wait_for "share_logged 'now 100%'" 10 ||
		{ ktap_diag "not every daemon took the cluster's recovery share"; rc=1; }
	rm -f "$SHARD_T/stop-rw"
	(
		while [ ! -f "$SHARD_T/stop-rw" ]; do
			fio_job fio-loop.log "${rw_job[@]}" --do_verify=1 \
				--verify_backlog=128 || exit 1
			echo >>"$SHARD_T/rw-loops"
		done
	) &
	local loop_pid=$!
	for ((i = 1; i <= rounds; i++)); do
		read -r who port _ < <(rep victim data "$who")
		name=$(name_of_port "$port")
		ktap_diag "kill $i: -9 $name (daemon $who)"
		_shard_kill "$name" 9
		rep wait "$who" down 30 || { diag_state "daemon $who still mapped"; rc=1; }
		sleep 1
		_shard_daemon "$name"
		rep wait-clean 3 "$clean_wait" ||
			{ diag_state "not clean after kill $i"; rc=1; break; }
	done
	touch "$SHARD_T/stop-rw"
	if _wait_for "! kill -0 $loop_pid 2>/dev/null" "$(_shard_scaled 240 600)"; then
		wait "$loop_pid" || { ktap_diag "random writes with verification failed"; rc=1; }
	else
		ktap_diag "the random write loop did not stop"
		rc=1
	fi
	_shardctl recovery share default >/dev/null ||
		{ ktap_diag "shardctl recovery share default failed"; rc=1; }
	_wait_for "share_logged 'back to'" 10 ||
		{ ktap_diag "not every daemon went back to its own recovery share"; rc=1; }
	loops=$(wc -l <"$SHARD_T/rw-loops" 2>/dev/null || echo 0)
	ktap_diag "$loops clean passes of randwrite+verify ($RW_IO each) across the kills"
	ktap_diag "backfilled in all: $(backfill_totals)"
	[ "$loops" -gt 0 ] || rc=1
	return $rc
}
ktap_test repeated-kills-fio-verify-all-clean t_repeated_kills

# A block of the primary's copy damaged on disk: a read of it is served
# from another member's copy, right, and the primary says so.
t_corrupt_copy() {
	local off=$((40 << 20)) prim pport pname pos rc=0
	ack_write "$off" 1 /dev/null || { ktap_diag "write failed"; return 1; }
	read -r prim pport _ < <(rep primary-at ack "$off")
	pname=$(name_of_port "$pport")
	pos=$(rep store-pos ack "$off" "$SHARD_T/$pname/shard.store") ||
		{ ktap_diag "cannot find the object in $pname's store"; return 1; }
	printf 'damaged damaged!' | dd of="$SHARD_T/$pname/shard.store" bs=1 \
		seek=$((pos + 100)) conv=notrunc 2>/dev/null
	ktap_diag "damaged daemon $prim's copy ($pname) at store byte $((pos + 100))"
	ack_reads_back "$off" 1 >/dev/null ||
		{ ktap_diag "the read did not return the data written"; rc=1; }
	grep -q "our copy failed its checksum; read served from daemon" \
		"$SHARD_T/$pname.log" ||
		{ ktap_diag "$pname did not serve the read from another copy"; rc=1; }
	[ $rc = 0 ] || diag_state "corrupt copy"
	return $rc
}
ktap_test damaged-copy-read-from-another t_corrupt_copy

# Deep scrub: 6 left the primary's copy of one object damaged; now a
# member's copy of another is damaged too. "shardctl pg deep-scrub" of
# both PGs finds each bad copy and repairs it (the primary's from a
# member, the member's from the primary), the errors show in pg ls, and
# a second deep scrub finds nothing.
t_deep_scrub() {
	local off m1 mport mname pos pg_a pg_b rc=0 pg n
	read -r _ _ pg_a < <(rep primary-at ack $((40 << 20)))
	# Another object, of another PG.
	for off in $((44 << 20)) $((48 << 20)) $((52 << 20)) $((56 << 20)); do
		read -r m1 mport pg_b < <(rep primary-at ack "$off" 1)
		[ "$pg_b" = "$pg_a" ] || break
	done
	ack_write "$off" 1 /dev/null || { ktap_diag "write failed"; return 1; }
	mname=$(name_of_port "$mport")
	pos=$(rep store-pos ack "$off" "$SHARD_T/$mname/shard.store") ||
		{ ktap_diag "cannot find the object in $mname's store"; return 1; }
	printf 'damaged damaged!' | dd of="$SHARD_T/$mname/shard.store" bs=1 \
		seek=$((pos + 4096 + 100)) conv=notrunc 2>/dev/null
	ktap_diag "damaged member daemon $m1's copy ($mname) in PG $pg_b"
	for n in 1 2; do
		for pg in $pg_a $pg_b; do
			_shardctl pg deep-scrub "$pg" >/dev/null ||
				{ ktap_diag "pg deep-scrub $pg failed"; return 1; }
		done
		# Each PG's primary logs its result.
		_wait_for "[ \$(cat '$SHARD_T'/d*.log |
			grep -c 'deep scrub of pool .* done') -ge $((2 * n)) ]" 60 ||
			{ ktap_diag "round $n: the deep scrubs did not finish"; rc=1; }
	done
	grep -h 'deep scrub of pool .* done' "$SHARD_T"/d*.log |
		sed 's/^/# /'
	[ "$(grep -h 'deep scrub of pool .* done' "$SHARD_T"/d*.log |
		grep -c ' 1 errors, 1 repaired')" = 2 ] ||
		{ ktap_diag "the first round did not find and repair both copies"; rc=1; }
	[ "$(grep -h 'deep scrub of pool .* done' "$SHARD_T"/d*.log |
		grep -c ' 0 errors, 0 repaired')" = 2 ] ||
		{ ktap_diag "the second round found errors left"; rc=1; }
	grep -h "repaired" "$SHARD_T"/d*.log | grep "scrub of pool" |
		grep -v "done:" | sed 's/^/# /'
	_shardctl pg ls "$POOL" | awk -v a="$pg_a" -v b="$pg_b" \
		'NR == 1 || $1 == a || $1 == b' | sed 's/^/# /'
	ack_reads_back $((40 << 20)) 1 >/dev/null ||
		{ ktap_diag "the repaired primary's object does not read back"; rc=1; }
	ack_reads_back "$off" 1 >/dev/null ||
		{ ktap_diag "the object does not read back"; rc=1; }
	[ $rc = 0 ] || diag_state "deep scrub"
	return $rc
}
ktap_test deep-scrub-finds-and-repairs t_deep_scrub

# A member back after missing one change catches up by versions: of all
# the objects its PGs hold, only the changed one is copied, and of that
# one only the 64 KiB written (the primary's change log reaches back to
# the member's version).
t_delta_recovery() {
	local off=$((60 << 20)) gone=$((56 << 20)) prim pg pgn who wport wname
	local bo bk r0 copied n try rc=0
	read -r prim _ pg < <(rep primary-at ack "$off")
	pgn=$((16#${pg#*.}))	# the daemons log PG numbers in decimal
	read -r who wport _ < <(rep victim data "$prim")
	wname=$(name_of_port "$wport")
	# An object on every member, discarded whole while one is away;
	# another, of which 64 KiB change while it is away.
	ack_write "$gone" 16 "$SHARD_T/dd-gone.err" &&
	ack_write "$off" 16 "$SHARD_T/dd-gone.err" ||
		{ ktap_diag "write failed: $(cat "$SHARD_T/dd-gone.err")"; return 1; }
	head -c $((64 << 10)) /dev/urandom >"$SHARD_T/pattern-delta"
	read -r bo bk < <(backfill_counts)
	r0=$(backfill_removed)
	ktap_diag "kill -9 $wname (daemon $who), a member of PG $pg"
	_shard_kill "$wname" 9
	rep wait "$who" down 30 || { diag_state "daemon $who still mapped"; return 1; }
	dd if="$SHARD_T/pattern-delta" of="$ack" bs=64k count=1 \
		seek=$(((off >> 16) + 1)) oflag=direct 2>"$SHARD_T/dd-delta.err" ||
		{ ktap_diag "write failed: $(cat "$SHARD_T/dd-delta.err")"; return 1; }
	blkdiscard -o "$gone" -l $((4 << 20)) "$ack" ||
		{ ktap_diag "blkdiscard of the object at $gone failed"; return 1; }
	_shard_daemon "$wname"
	rep wait-clean 3 "$clean_wait" ||
		{ diag_state "daemon $who did not rejoin every PG"; return 1; }
	copied=$(backfill_totals "$bo" "$bk")
	ktap_diag "daemon $who back after missing one write and one discarded object: $copied copied, $(($(backfill_removed) - r0)) removed"
	grep -h "backfill of .* to daemon $who .*done:" "$SHARD_T"/d*.log |
		tail -3 | sed 's/^/# /'
	case $copied in
	"1 objects, 64 KiB") ;;
	*) ktap_diag "expected exactly the 64 KiB changed to be copied"; rc=1 ;;
	esac
	[ $(($(backfill_removed) - r0)) = 1 ] ||
		{ ktap_diag "expected the discarded object to be removed there"; rc=1; }
	cmp -n $((4 << 20)) <(dd if="$ack" bs=1M skip=$((gone >> 20)) count=4 \
		iflag=direct 2>/dev/null) /dev/zero ||
		{ ktap_diag "the discarded object does not read as zeroes"; rc=1; }
	# The primary may still be taking the last map in: a scrub that
	# stops because the members changed is asked for again.
	for try in 1 2 3; do
		n=$(cat "$SHARD_T"/d*.log | grep -c "deep scrub of pool .* PG $pgn \(done\|stopped\)")
		_shardctl pg deep-scrub "$pg" >/dev/null ||
			{ ktap_diag "pg deep-scrub $pg failed"; return 1; }
		_wait_for "[ \$(cat '$SHARD_T'/d*.log | grep -c 'deep scrub of pool .* PG $pgn \(done\|stopped\)') -gt $n ]" 60 ||
			{ ktap_diag "the deep scrub of PG $pg did not end"; rc=1; break; }
		grep -h "deep scrub of pool .* PG $pgn \(done\|stopped\)" "$SHARD_T"/d*.log |
			tail -1 | sed 's/^/# /'
		grep -h "deep scrub of pool .* PG $pgn \(done\|stopped\)" "$SHARD_T"/d*.log |
			tail -1 | grep -q ' done:' && break
		sleep 1
	done
	grep -h "deep scrub of pool .* PG $pgn done" "$SHARD_T"/d*.log |
		tail -1 | grep -q ' 0 errors, 0 repaired' ||
		{ ktap_diag "the copies of PG $pg differ"; rc=1; }
	ack_reads_back "$off" 1 >/dev/null &&
	cmp <(dd if="$ack" bs=64k skip=$(((off >> 16) + 1)) count=1 \
		iflag=direct 2>/dev/null) "$SHARD_T/pattern-delta" ||
		{ ktap_diag "the object does not read back"; rc=1; }
	[ $rc = 0 ] || diag_state "delta recovery"
	return $rc
}
ktap_test member-back-copies-only-what-changed t_delta_recovery

# Random 4 KiB reads of the data volume for 4 s, and their IOPS.
iops_job() {
	fio --name=iops --filename="$dev" --ioengine=libaio --direct=1 \
		--rw=randread --bs=4k --iodepth=16 --time_based=1 --runtime=4 \
		--randrepeat=0 --output-format=terse --terse-version=3 \
		>"$SHARD_T/$1" 2>&1
}

iops_of() {
	awk -F';' 'NF > 8 { print $8; exit }' "$SHARD_T/$1"
}

# A daemon marked out has its copies rebuilt on the others: a fourth
# daemon joins (and is backfilled into its placement), then the daemon
# that is primary of most objects is marked out. Every PG ends
# active+clean with three members, none of them the daemon out, the
# volume verifies, and the amount copied is taken from the daemons' logs.
t_out_rebuild() {
	local out oport bo bk rc=0
	_shard_daemon d3
	_shard_wait_daemons 4 || { ktap_diag "d3 did not register"; return 1; }
	rep wait-clean 3 "$clean_wait" ||
		{ diag_state "d3 did not join its placement"; return 1; }
	ktap_diag "after d3 joined: copied $(backfill_totals) in all so far"
	read -r bo bk < <(backfill_counts)
	read -r out oport _ < <(rep victim data)
	# Client reads with no recovery going on, then while it runs.
	iops_job fio-iops-idle.log
	ktap_diag "daemon out $out ($(name_of_port "$oport"))"
	_shardctl daemon out "$out" >/dev/null ||
		{ ktap_diag "daemon out $out failed"; return 1; }
	iops_job fio-iops-recovery.log
	# Right after the IOPS window, not in it: what status says of the
	# rebuild (read once it is over; the rebuild may be done by now).
	_shardctl status >"$SHARD_T/status-rebuild.txt" 2>&1
	_shardctl --json status >"$SHARD_T/status-rebuild.json" 2>&1
	ktap_diag "random 4k reads: $(iops_of fio-iops-idle.log) IOPS idle, $(iops_of fio-iops-recovery.log) during the rebuild ($(backfill_totals "$bo" "$bk") copied by its end)"
	ktap_diag "status during the rebuild: $(grep -m1 '^recovery:' "$SHARD_T/status-rebuild.txt" ||
		head -c 300 "$SHARD_T/status-rebuild.txt")"
	rep recovery show "$SHARD_T/status-rebuild.json" ||
		ktap_diag "status --json during the rebuild: $(head -c 300 "$SHARD_T/status-rebuild.json")"
	rep wait-clean 3 "$clean_wait" ||
		{ diag_state "daemon $out's PGs were not rebuilt"; rc=1; }
	rep absent "$out" || rc=1
	ktap_diag "rebuilt after daemon $out went out: $(backfill_totals "$bo" "$bk") copied"
	fio_job fio-verify-out.log "${rw_job[@]}" --verify_only=1 ||
		{ diag_state "verify after the rebuild failed"; rc=1; }
	return $rc
}
ktap_test out-daemon-rebuilt-elsewhere t_out_rebuild

# After the rebuild, status's recovery has what the daemons copied as
# primaries of PGs being backfilled: more than 0 bytes in all.
t_status_recovery() {
	ktap_diag "status after the rebuild: $(_shardctl status 2>&1 | grep -m1 '^recovery:')"
	rep recovery check
}
ktap_test status-recovery-reports-copied t_status_recovery

# Fencing: with this host's address blocklisted, the daemons close the
# kernel's connections and refuse its HELLO, so a write neither completes
# nor lands; the daemons go on replicating to each other (peer
# connections of daemons the map puts at that address are allowed).
# Unblocklisted, the held write completes.
t_blocklist() {
	# In the ack volume, away from its pattern: 5's verify reads $dev.
	local dd_pid rc=0 off=$((32 << 20))
	_shardctl client blocklist 127.0.0.1 >/dev/null ||
		{ ktap_diag "client blocklist failed"; return 1; }
	_wait_for "grep -q 'client is blocklisted' '$SHARD_T'/d*.log" 20 ||
		{ ktap_diag "no daemon closed the kernel's connections"; rc=1; }
	ack_write "$off" 1 "$SHARD_T/dd-fenced.err" &
	dd_pid=$!
	if _wait_for "! kill -0 $dd_pid 2>/dev/null" 5; then
		ktap_diag "a write from a blocklisted client completed: $(cat "$SHARD_T/dd-fenced.err")"
		rc=1
	else
		ktap_diag "a write from the blocklisted client waits (5 s)"
	fi
	_shardctl client unblocklist 127.0.0.1 >/dev/null ||
		{ ktap_diag "client unblocklist failed"; rc=1; }
	if _wait_for "! kill -0 $dd_pid 2>/dev/null" 60; then
		wait "$dd_pid" || { ktap_diag "the held write failed: $(cat "$SHARD_T/dd-fenced.err")"; rc=1; }
	else
		ktap_diag "the held write did not complete after unblocklist"
		rc=1
	fi
	ack_reads_back "$off" 1 >/dev/null ||
		{ ktap_diag "the held write did not read back"; rc=1; }
	[ $rc = 0 ] || diag_state "blocklist"
	return $rc
}
ktap_test blocklisted-client-writes-refused t_blocklist

# Below min_size: reads go on, writes wait. The write is left waiting
# and the device removed with force, which fails it; nothing is left
# blocked for the teardown.
t_below_min() {
	local second sport scount sname dd_pid dd_rc rc=0 n
	for n in 1 2; do
		read -r second sport scount _ < <(rep victim data)
		sname=$(name_of_port "$sport")
		[ -n "$sname" ] || { diag_state "no primary to kill"; return 1; }
		ktap_diag "kill -9 $sname (daemon $second, primary of $scount objects)"
		_shard_kill "$sname" 9
		rep wait "$second" down 30 ||
			{ diag_state "daemon $second still mapped"; rc=1; }
	done
	_shardctl pg ls "$POOL" | awk 'NR > 1 { print $3 }' | sort | uniq -c |
		sed 's/^ */# states: /'
	fio_job fio-readonly.log "${rw_job[@]}" --verify_only=1 ||
		{ diag_state "reads below min_size failed"; rc=1; }
	dd if="$SHARD_T/pattern" of="$dev" bs=64k count=1 seek=3 oflag=direct \
		2>"$SHARD_T/dd-block.err" &
	dd_pid=$!
	if _wait_for "! kill -0 $dd_pid 2>/dev/null" 5; then
		dd_rc=0
		wait "$dd_pid" || dd_rc=$?
		ktap_diag "write below min_size completed (exit $dd_rc): $(tail -1 "$SHARD_T/dd-block.err")"
		rc=1
	else
		ktap_diag "write below min_size waits (5 s)"
	fi
	_shardctl unmap "$dev" --force ||
		ktap_diag "unmap --force $dev failed"
	if _wait_for "! kill -0 $dd_pid 2>/dev/null" 20; then
		wait "$dd_pid" 2>/dev/null
	else
		ktap_diag "dd still blocked after unmap --force"
		rc=1
	fi
	return $rc
}
ktap_test below-min-size-reads-ok-writes-wait t_below_min
ktap_finished
