#!/bin/bash
# tools/demo/inside.sh: shard end to end on one machine, every command
# printed before it runs. Needs root and a kernel that shard.ko was built
# for (tools/demo/run boots a VM for it when this machine can't load
# modules). Loads the module, starts shard-mapd and one shardd (its store a
# sparse file under $SHARD_DEMO_DIR, default /tmp/shard-demo), creates and
# maps a volume, shows the cluster, puts ext4 on the volume, writes and
# checks a file, runs 10 s of fio 4k random read/write, then undoes it all.
#
# Environment: SHARD_DEMO_DIR (work directory), SHARD_DEMO_PORT (shardd's
# TCP port, default 7410), SHARD_DEMO_SIZE (volume size, default 1G),
# SHARD_DEMO_FIO_RUNTIME (seconds, default 10).
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1

work=${SHARD_DEMO_DIR:-/tmp/shard-demo}
port=${SHARD_DEMO_PORT:-7410}
size=${SHARD_DEMO_SIZE:-1G}
runtime=${SHARD_DEMO_FIO_RUNTIME:-10}
sock=$work/mapd.sock
kver=$(uname -r)
ko=build/kmod-$kver/shard.ko
export PATH=$repo/userspace/shardd:$repo/userspace/mapd:$repo/tools/shardctl:$PATH

bold=
reset=
if [ -t 1 ]; then
	bold=$(printf '\033[1m')
	reset=$(printf '\033[0m')
fi
t0=$SECONDS
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
say() { printf '   %s\n' "$*"; }
# show CMD...: print "+ CMD" the way a shell user would type it.
show() {
	local a out=+
	for a in "$@"; do
		case $a in
		'&' | '|' | '>' | '#'*) out+=" $a" ;;
		*[!A-Za-z0-9_./:=,+@%-]* | '') out+=" $(printf '%q' "$a")" ;;
		*) out+=" $a" ;;
		esac
	done
	printf '%s\n' "$out"
}
fail() {
	printf '\n!! %s\n' "$*"
	for f in "$work"/*.log; do
		[ -f "$f" ] || continue
		printf '!! last lines of %s:\n' "$f"
		tail -n 8 "$f" | sed 's/^/!!   /'
	done
	exit 1
}
# run CMD...: print it, run it, stop the demo when it fails.
run() { show "$@"; "$@" || fail "'$*' failed (exit $?)"; }
# shardctl talks to this demo's shard-mapd; --socket is left out of the
# printed commands (said once below).
shardctl() { command shardctl --socket "$sock" "$@"; }
wait_for() {	# wait_for SECONDS COND...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# --- cleanup, also when a step fails ---------------------------------------
loaded_module=0 mapd_pid= shardd_pid= mnt=$work/mnt dev= mapped=0 created=0
cleanup() {
	local rc=$?
	trap - EXIT
	[ $rc -eq 0 ] || step "Cleaning up after the failure"
	mountpoint -q "$mnt" 2>/dev/null && { show umount "$mnt"; umount "$mnt"; }
	[ $mapped = 1 ] && { show shardctl unmap "$dev"; shardctl unmap "$dev" ||
		shardctl unmap "$dev" --force; }
	[ $created = 1 ] && { show shardctl rm default/demo; shardctl rm default/demo; }
	if [ -n "$shardd_pid" ]; then
		show kill "$shardd_pid" "# shardd"
		kill "$shardd_pid" 2>/dev/null
		wait "$shardd_pid" 2>/dev/null
	fi
	if [ -n "$mapd_pid" ]; then
		show kill "$mapd_pid" "# shard-mapd"
		kill "$mapd_pid" 2>/dev/null
		wait "$mapd_pid" 2>/dev/null
	fi
	[ $loaded_module = 1 ] && { show rmmod shard; rmmod shard; }
	rm -rf "$work"
	if [ $rc -eq 0 ]; then
		printf '\n%sDemo finished in %ds.%s\n' "$bold" $((SECONDS - t0)) "$reset"
	else
		printf '\nDemo FAILED (exit %d) after %ds.\n' "$rc" $((SECONDS - t0))
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" = 0 ] || fail "run me as root"
for t in fio mkfs.ext4 python3; do
	command -v $t >/dev/null || fail "$t not found (run .ci/install-deps)"
done
for f in userspace/shardd/shardd userspace/mapd/shard-mapd tools/shardctl/shardctl; do
	[ -x "$f" ] || fail "$f not built (make all)"
done
rm -rf "$work"
mkdir -p "$work" "$mnt"

printf '%sshard demo%s: kernel %s, %d cpus, work directory %s\n' "$bold" "$reset" \
	"$kver" "$(nproc)" "$work"

# --- 1 ----------------------------------------------------------------------
step "1. Load the kernel module"
if [ -d /sys/module/shard ]; then
	say "shard.ko is already loaded; using it"
else
	[ -f "$ko" ] || fail "$ko not built (make all, for kernel $kver)"
	modprobe -q libcrc32c 2>/dev/null
	run insmod "$ko"
	loaded_module=1
fi
show lsmod "|" grep shard
lsmod | grep '^shard' || fail "shard is not loaded"

# --- 2 ----------------------------------------------------------------------
step "2. Start the map manager (shard-mapd): holds the cluster state, pushes the map to the kernel"
show shard-mapd --state "$work/state.json" --socket "$sock" --foreground "&"
shard-mapd --state "$work/state.json" --socket "$sock" --foreground \
	>"$work/mapd.log" 2>&1 &
mapd_pid=$!
wait_for 10 test -S "$sock" || fail "shard-mapd did not start"
say "shard-mapd is running (pid $mapd_pid); the shardctl commands below use --socket $sock"

# --- 3 ----------------------------------------------------------------------
step "3. Start a storage daemon (shardd) on a 4 GiB sparse store file"
show shardd --store "$work/disk0" --size 4G --listen 127.0.0.1 --port "$port" \
	--mapd "$sock" --foreground "&"
mkdir -p "$work/disk0"
shardd --store "$work/disk0" --size 4G --listen 127.0.0.1 --port "$port" \
	--mapd "$sock" --foreground >"$work/shardd.log" 2>&1 &
shardd_pid=$!
wait_for 20 port_open || fail "shardd did not start"
say "shardd is listening on 127.0.0.1:$port (pid $shardd_pid) and registered with shard-mapd"

# --- 4 ----------------------------------------------------------------------
step "4. Create a $size volume and map it as a block device"
run shardctl create default/demo --size "$size"
created=1
show shardctl map default/demo
dev=$(shardctl map default/demo) || fail "shardctl map failed"
mapped=1
echo "$dev"
wait_for 10 test -b "$dev" || fail "$dev did not appear"
say "$dev: $(($(blockdev --getsize64 "$dev") >> 20)) MiB, block device $(cat /sys/block/"${dev#/dev/}"/dev)"

# --- 5 ----------------------------------------------------------------------
step "5. What the cluster looks like"
run shardctl status
echo
run shardctl ls

# --- 6 ----------------------------------------------------------------------
step "6. An ext4 filesystem on the volume"
run mkfs.ext4 -q -F "$dev"
run mount "$dev" "$mnt"
printf "+ echo 'hello from shard' >%s\n" "$mnt/hello.txt"
echo 'hello from shard' >"$mnt/hello.txt" || fail "write failed"
run dd if=/dev/urandom of="$mnt/random.bin" bs=1M count=32 status=none
run sync
sum1=$(cd "$mnt" && sha256sum hello.txt random.bin)
run df -h "$mnt"
say "unmount and mount again, then compare checksums:"
run umount "$mnt"
run mount "$dev" "$mnt"
run cat "$mnt/hello.txt"
sum2=$(cd "$mnt" && sha256sum hello.txt random.bin)
[ "$sum1" = "$sum2" ] || fail "checksums differ after remount"
printf '%s\n' "$sum2" | sed 's/^/   /'
say "checksums match"

# --- 7 ----------------------------------------------------------------------
step "7. fio: ${runtime} s of 4k random read/write (70/30) on a file in the filesystem"
run fio --name=demo --filename="$mnt/fio.dat" --size=64M --ioengine=io_uring \
	--direct=1 --rw=randrw --rwmixread=70 --bs=4k --iodepth=16 \
	--runtime="$runtime" --time_based --lat_percentiles=1 \
	--output-format=json --output="$work/fio.json"
python3 - "$work/fio.json" <<'EOF' || fail "cannot read fio's output"
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
def p(s, q):
    d = s.get("lat_ns", {}).get("percentile") or s["clat_ns"]["percentile"]
    return d.get(q, 0) / 1000.0
for rw in ("read", "write"):
    s = j[rw]
    print("   %-5s %7.0f IOPS  %6.1f MB/s   latency p50 %7.0f us   p99 %7.0f us"
          % (rw, s["iops"], s["bw_bytes"] / 1e6, p(s, "50.000000"), p(s, "99.000000")))
print("   errors: %d   (ran %.1f s; a qemu VM without KVM is slow: compare "
      "with `make bench`, not with real hardware)" % (j["error"], j["job_runtime"] / 1000))
EOF

# --- 8 ----------------------------------------------------------------------
step "8. Clean up"
run umount "$mnt"
run shardctl unmap "$dev"
mapped=0
run shardctl rm default/demo
created=0
run shardctl ls
# the daemons and the module go in cleanup()
