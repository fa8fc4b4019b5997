#!/bin/bash
# bench/inside.sh: the benchmark proper, run as root on a machine that can
# load modules (bench/run boots the VM for it). Runs the jobs of
# bench/jobs.fio against, one after the other:
#
#   shard  /dev/shardN: one shardd whose store is a sparse file in /tmp
#          (tmpfs in the VM), a volume of BENCH_SIZE, over TCP loopback
#   shard3 the same volume spread over three shardd of different sizes
#          (2, 4 and 8 GiB stores), placed by shard-mapd by capacity
#   rep3   the same volume in a pool of three copies over three 4 GiB
#          shardd: every write reaches all three before it completes
#   nbd    the kernel's nbd client, nbd-server over TCP loopback exporting
#          a BENCH_SIZE file in /tmp (same backing as shardd's store)
#   ram    brd, a RAM disk of BENCH_SIZE (the ceiling: no network, no daemon)
#
# and writes bench.txt (the table) and bench.json to $SHARD_OUT (or
# BENCH_OUT). Each device is torn down before the next one is set up, so
# at most one BENCH_SIZE of data sits in memory at a time.
#
# Environment: BENCH_SIZE (default 1G), BENCH_RUNTIME (seconds per job,
# default 8), BENCH_DEVICES (default "shard shard3 rep3 nbd ram"), BENCH_ENGINE
# (io_uring, or libaio), BENCH_SCHED (I/O scheduler for the request-based
# devices, default none; "keep" leaves the kernel's default), BENCH_NBD_CONNS
# (nbd-client connections, default 2: what shard.ko opens to each daemon,
# its conns_per_daemon default). Kernel messages and the daemons' logs of
# each phase are saved next to the results (kernel-<dev>.log, shard-*.log).
. "$(dirname "$0")/../tests/lib/test_common.sh"
. "$(dirname "$0")/../tests/lib/shard_common.sh"

: "${BENCH_SIZE:=1G}" "${BENCH_RUNTIME:=8}" "${BENCH_DEVICES:=shard shard3 rep3 nbd ram}"
: "${BENCH_ENGINE:=io_uring}" "${BENCH_SCHED:=none}" "${BENCH_NBD_CONNS:=2}"
: "${BENCH_OUT:=${SHARD_OUT:-$SHARD_REPO/build/bench}}"
BENCH_GIT=$(git -C "$SHARD_REPO" describe --always --dirty 2>/dev/null || echo unknown)
export BENCH_SIZE BENCH_RUNTIME BENCH_ENGINE BENCH_GIT

jobs=$SHARD_REPO/bench/jobs.fio
res=$SHARD_T/results
PY=/usr/bin/python3
[ -x $PY ] || PY=python3

_require_root
_require_cmd fio
mkdir -p "$SHARD_T" "$res" "$BENCH_OUT"
_on_cleanup rm -rf "$SHARD_T"

size_bytes=$(numfmt --from=iec "$BENCH_SIZE") || _die "bad BENCH_SIZE $BENCH_SIZE"
t0=$SECONDS
log() { printf '[bench %4ds] %s\n' $((SECONDS - t0)) "$*"; }

# meta.<dev>: key=value lines about the device, merged into bench.json.
meta() { local d=$1; shift; printf '%s\n' "$@" >>"$res/meta.$d"; }

queue_setup() {	# queue_setup NAME DEV
	local q=/sys/block/${2#/dev/}/queue s
	if [ "$BENCH_SCHED" != keep ] && [ -w "$q/scheduler" ]; then
		echo "$BENCH_SCHED" >"$q/scheduler" 2>/dev/null ||
			log "$1: cannot set scheduler $BENCH_SCHED"
	fi
	s=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$q/scheduler" 2>/dev/null)
	[ -n "$s" ] || s=$(cat "$q/scheduler" 2>/dev/null)
	meta "$1" "dev=$2" "scheduler=$s" \
		"max_sectors_kb=$(cat "$q/max_sectors_kb" 2>/dev/null)" \
		"nr_requests=$(cat "$q/nr_requests" 2>/dev/null)"
}

# Kernel messages since the last call, saved as kernel-NAME.log; the number
# of warning-or-worse ones (but the out-of-tree taint notice) goes into the
# device's meta.
kmsg_mark() { kmsg_lines=$(dmesg | wc -l); }
kmsg_save() {	# kmsg_save NAME
	local n log=$BENCH_OUT/kernel-$1.log
	dmesg -x | tail -n +$((kmsg_lines + 1)) >"$log"
	n=$(grep -E '^[a-z]+ *:(warn|err|crit|alert|emerg) *:' "$log" | grep -v taint | grep -vc 'hrtimer: interrupt took')
	meta "$1" "kernel_warnings=$n"
	if [ "$n" -gt 0 ]; then
		log "$1: $n kernel warnings (kernel-$1.log), e.g.:"
		grep -E '^[a-z]+ *:(warn|err|crit|alert|emerg) *:' "$log" | grep -v taint | grep -v 'hrtimer: interrupt took' |
			head -5 | sed 's/^/    /'
	fi
	kmsg_mark
}
kmsg_mark

run_fio() {	# run_fio NAME DEV
	local name=$1 dev=$2 rc=0 t=$SECONDS
	queue_setup "$name" "$dev"
	log "$name: fio on $dev ($BENCH_SIZE prefill, then 6 jobs x ${BENCH_RUNTIME}s)"
	BENCH_DEV=$dev fio --output-format=json --output="$res/$name.json" \
		"$jobs" >"$res/$name.fio.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		log "$name: fio failed (exit $rc)"
		sed 's/^/    /' "$res/$name.fio.log" | tail -20
		cat "$res/$name.json" 2>/dev/null | tail -5
		rm -f "$res/$name.json"
		return 1
	fi
	cp "$res/$name.json" "$BENCH_OUT/fio-$name.json"
	log "$name: done in $((SECONDS - t))s"
}

# --- shard, shard3 -----------------------------------------------------------
# bench_shard NAME SIZES [COPIES]: a volume over one daemon per entry of
# SIZES (their sparse stores' sizes, so capacities and placement weights
# differ); with COPIES, in a pool of that many copies (one per daemon).
bench_shard() {
	local name=$1 sizes=($2) copies=${3:-} pool=default dev i d rc spread=
	_shard_setup
	for i in "${!sizes[@]}"; do
		_shard_daemon "d$i" --size "${sizes[$i]}"
	done
	_shard_wait_daemons "${#sizes[@]}" ||
		{ log "$name: the daemons did not all register"; return 1; }
	if [ -n "$copies" ]; then
		pool=$name
		_shardctl pool create "$pool" --size "$copies" --failure-domain daemon >/dev/null ||
			{ log "$name: pool create failed"; return 1; }
		meta "$name" "copies=$copies"
	fi
	dev=$(_shard_volume "$pool/$name" "$BENCH_SIZE") || return 1
	meta "$name" "backing=sparse file in /tmp ($(stat -f -c %T /tmp)), buffered" \
		"daemons=${#sizes[@]} (stores ${sizes[*]})" \
		"connections=$(cat /sys/module/shard/parameters/conns_per_daemon) per daemon"
	log "$name: volume default/$name ($BENCH_SIZE) on ${#sizes[@]} daemon(s) is $dev"
	run_fio "$name" "$dev"
	rc=$?
	# How much of the volume each daemon ended up holding.
	for i in "${!sizes[@]}"; do
		spread+="${spread:+ }d$i=$(du -sm "$SHARD_T/d$i" | cut -f1)M"
	done
	meta "$name" "held=$spread"
	log "$name: data held: $spread"
	kmsg_save "$name"
	_shardctl unmap "$dev" >/dev/null 2>&1 || _shardctl unmap "$dev" --force >/dev/null
	for i in "${!sizes[@]}"; do
		d=d$i
		_shard_kill "$d"
		cp "$SHARD_T/$d.log" "$BENCH_OUT/$name-shardd-$d.log"
		rm -rf "${SHARD_T:?}/$d"
	done
	_shard_kill mapd
	cp "$SHARD_T/mapd.log" "$BENCH_OUT/$name-mapd.log"
	rm -f "$SHARD_T/mapd.log" "$SHARD_T/state.json" "$SHARD_T"/d*.log
	sleep 1
	kmsg_mark	# the kernel's "daemon unreachable" after the kill
	return $rc
}

# --- nbd ---------------------------------------------------------------------
nbd_stop() {
	[ -e /sys/block/nbd0/pid ] && nbd-client -d /dev/nbd0 >/dev/null 2>&1
	[ -f "$SHARD_T/nbd.pid" ] && kill "$(cat "$SHARD_T/nbd.pid")" 2>/dev/null
	rm -f "$SHARD_T/nbd.pid" "$SHARD_T/nbd.img"
}

bench_nbd() {
	_require_cmd nbd-server nbd-client
	[ -d /sys/module/nbd ] || modprobe nbd nbds_max=1 ||
		{ log "nbd: cannot load the nbd module"; return 1; }
	_on_cleanup nbd_stop
	truncate -s "$size_bytes" "$SHARD_T/nbd.img"
	cat >"$SHARD_T/nbd.conf" <<-EOF
	[generic]
	user = root
	group = root
	listenaddr = 127.0.0.1
	port = 10809
	[bench]
	exportname = $SHARD_T/nbd.img
	EOF
	nbd-server -C "$SHARD_T/nbd.conf" -p "$SHARD_T/nbd.pid" >"$SHARD_T/nbd-server.log" 2>&1 ||
		{ log "nbd: nbd-server failed: $(cat "$SHARD_T/nbd-server.log")"; return 1; }
	_wait_for '_shard_port_open 10809' 10 || { log "nbd: nbd-server not listening"; return 1; }
	nbd-client -N bench -b 4096 -C "$BENCH_NBD_CONNS" 127.0.0.1 10809 /dev/nbd0 \
		>"$SHARD_T/nbd-client.log" 2>&1 ||
		{ log "nbd: nbd-client failed: $(cat "$SHARD_T/nbd-client.log")"; return 1; }
	_wait_for '[ "$(blockdev --getsize64 /dev/nbd0 2>/dev/null)" = "$size_bytes" ]' 10 ||
		{ log "nbd: /dev/nbd0 has the wrong size"; return 1; }
	meta nbd "backing=sparse file in /tmp ($(stat -f -c %T /tmp)), buffered" \
		"connections=$BENCH_NBD_CONNS" \
		"nbd_version=$(nbd-server -V 2>&1 | sed -n 's/.*version //p' | head -n1)"
	run_fio nbd /dev/nbd0
	local rc=$?
	kmsg_save nbd
	nbd_stop
	kmsg_mark	# "shutting down sockets"
	return $rc
}

brd_stop() { [ -d /sys/module/brd ] && rmmod brd; return 0; }

# --- brd ---------------------------------------------------------------------
bench_ram() {
	if [ -d /sys/module/brd ]; then
		log "ram: brd already loaded, not touching it"
		return 1
	fi
	modprobe brd rd_nr=1 rd_size=$((size_bytes / 1024)) max_part=0 ||
		{ log "ram: cannot load brd"; return 1; }
	_on_cleanup brd_stop
	meta ram "backing=brd (kernel pages)"
	run_fio ram /dev/ram0
	local rc=$?
	kmsg_save ram
	brd_stop
	return $rc
}

log "kernel $(uname -r), $(nproc) cpus, ${SHARD_VM_KERNEL:+VM ($SHARD_VM_KERNEL), }size $BENCH_SIZE, ${BENCH_RUNTIME}s per job, engine $BENCH_ENGINE"
failed=
for d in $BENCH_DEVICES; do
	case $d in
	shard) bench_shard shard 4G || failed="$failed $d" ;;
	shard3) bench_shard shard3 "2G 4G 8G" || failed="$failed $d" ;;
	rep3) bench_shard rep3 "4G 4G 4G" 3 || failed="$failed $d" ;;
	nbd | ram) "bench_$d" || failed="$failed $d" ;;
	*) _die "unknown device '$d' (shard, shard3, rep3, nbd, ram)" ;;
	esac
done

# --- report ------------------------------------------------------------------
$PY - "$res" "$BENCH_OUT" "$BENCH_DEVICES" <<'EOF'
import json, os, sys, platform

res, out, devices = sys.argv[1], sys.argv[2], sys.argv[3].split()
env = os.environ
rows, meta = [], {}
jobs_order = []
for d in devices:
    m = {}
    try:
        for line in open(os.path.join(res, "meta." + d)):
            k, _, v = line.rstrip("\n").partition("=")
            m[k] = v
    except OSError:
        pass
    meta[d] = m
    try:
        fio = json.load(open(os.path.join(res, d + ".json")))
    except (OSError, ValueError):
        continue
    meta[d]["fio_version"] = fio.get("fio version", "")
    for j in fio["jobs"]:
        name = j["jobname"]
        if name == "prefill":
            continue
        if name not in jobs_order:
            jobs_order.append(name)
        rw = "write" if "write" in name else "read"
        s = j[rw]
        lat = s.get("lat_ns", {}).get("percentile") or s["clat_ns"].get("percentile", {})
        def pct(p):
            for k, v in lat.items():
                if abs(float(k) - p) < 1e-6:
                    return v / 1000.0
            return None
        rows.append({
            "device": d, "dev": meta[d].get("dev", ""), "job": name,
            "iops": s["iops"], "mb_s": s["bw_bytes"] / 1e6,
            "p50_us": pct(50), "p99_us": pct(99),
            "mean_us": s.get("lat_ns", s["clat_ns"])["mean"] / 1000.0,
            "errors": j.get("error", 0),
        })

def get(dev, job):
    for r in rows:
        if r["device"] == dev and r["job"] == job:
            return r
    return None

def ratio(a, b):
    if a is None or b is None or not b["iops"]:
        return None
    return a["iops"] / b["iops"]

ratios = []
for job in jobs_order:
    for d in devices:
        if d in ("nbd", "ram"):
            continue
        s = get(d, job)
        ratios.append({"job": job, "device": d,
                       "shard_over_nbd": ratio(s, get("nbd", job)),
                       "shard_over_ram": ratio(s, get("ram", job))})

def ratio_of(job, d):
    for rt in ratios:
        if rt["job"] == job and rt["device"] == d:
            return rt
    return None

def f(v, fmt):
    return "-" if v is None else format(v, fmt)

lines = []
hdr = "%-18s %-6s %-11s %10s %9s %10s %10s %10s %10s" % (
    "job", "device", "dev", "IOPS", "MB/s", "p50 us", "p99 us",
    "shard/nbd", "shard/ram")
lines.append(hdr)
lines.append("-" * len(hdr))
for job in jobs_order:
    for d in devices:
        r = get(d, job)
        if r is None:
            continue
        sn = sr = ""
        rt = ratio_of(job, d)
        if rt:
            sn = f(rt["shard_over_nbd"], ".2f")
            sr = f(rt["shard_over_ram"], ".2f")
        lines.append("%-18s %-6s %-11s %10s %9s %10s %10s %10s %10s" % (
            job, d, r["dev"], f(r["iops"], ".0f" if r["iops"] >= 100 else ".1f"), f(r["mb_s"], ".1f"),
            f(r["p50_us"], ".0f"), f(r["p99_us"], ".0f"), sn, sr))
    lines.append("")
info = {
    "kernel": platform.release(),
    "cpus": os.cpu_count(),
    "vm": env.get("SHARD_VM_KERNEL", ""),
    "size": env.get("BENCH_SIZE"), "runtime_s": int(env.get("BENCH_RUNTIME", "0")),
    "engine": env.get("BENCH_ENGINE"),
    "git": env.get("BENCH_GIT", ""),
}
lines.append("shard %s; kernel %s, %d cpus%s; %s per device, %ss per job, %s, direct=1; "
             "latency is fio's total latency (submission to completion)" % (
                 info["git"], info["kernel"], info["cpus"],
                 " (qemu VM, %s kernel)" % info["vm"] if info["vm"] else "",
                 info["size"], info["runtime_s"], info["engine"]))
for d in devices:
    m = meta.get(d, {})
    desc = ", ".join("%s=%s" % (k, v) for k, v in m.items() if k not in ("dev",))
    lines.append("  %-5s %s %s" % (d, m.get("dev", "?"), desc or "(no results)"))
    if m.get("kernel_warnings", "0") != "0":
        lines.append("        WARNING: the kernel logged %s warning(s) during this run"
                     " (kernel-%s.log)" % (m["kernel_warnings"], d))
text = "\n".join(lines) + "\n"
open(os.path.join(out, "bench.txt"), "w").write(text)
json.dump({"info": info, "devices": meta, "results": rows, "ratios": ratios},
          open(os.path.join(out, "bench.json"), "w"), indent=2)
sys.stdout.write("\n" + text)
EOF
[ -z "$failed" ] || { log "failed:$failed"; exit 1; }
log "done; bench.txt and bench.json in $BENCH_OUT"
exit 0
