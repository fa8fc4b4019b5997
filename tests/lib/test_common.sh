# shellcheck shell=bash
# Helpers for shard's kselftest-style shell tests. Source it:
#
#   . "$(dirname "$0")/../../lib/test_common.sh"    (adjust the path)
#
# Conventions (as kselftest): exit 0 pass, 1 fail, 4 skip; KTAP on stdout.
#
#   ktap_plan N              "KTAP version 1" + "1..N"
#   ktap_ok NAME             ok N NAME
#   ktap_fail NAME [WHY]     not ok N NAME (+ "# WHY")
#   ktap_skip NAME REASON    ok N NAME # SKIP REASON
#   ktap_diag MSG...         # MSG
#   ktap_test NAME CMD...    run CMD: ok / not ok / skip (CMD exits 4)
#   ktap_skip_all REASON     "1..0 # SKIP REASON", exit 4
#   ktap_finished            check the plan, exit 0 / 1 / 4 (all skipped)
#
#   _on_cleanup CMD...       run CMD at exit (last registered runs first);
#                            a function named _cleanup, if the test defines
#                            one, runs after them
#   _require_root, _require_cmd CMD..., _require_module MOD [PARAMS...]
#                            skip the whole test when missing
#   _fio_verify DEV SIZE [FIO_ARGS...]   write SIZE, verify (crc32c)
#   _mkfs_mount_test DEV [ext4|xfs]      mkfs, mount, write, remount, check
#   _wait_for COND TIMEOUT   poll `eval COND` every 0.1 s for TIMEOUT seconds
#   _die MSG                 print to stderr and exit 1
#
# Variables: SHARD_REPO (repo root), SHARD_OUT (results dir shared with the
# host, set in the VM), SHARD_KVER (kernel release), SHARD_VM_KERNEL
# (stock|debug, set in the VM), SHARD_FIO_ENGINE (default libaio).

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

: "${SHARD_REPO:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SHARD_KVER:=$(uname -r)}"
export SHARD_REPO SHARD_KVER

_ktap_n=0 _ktap_fail=0 _ktap_skip=0 _ktap_plan=

_ktap_header() {
	[ -n "${_ktap_header_done:-}" ] && return
	_ktap_header_done=1
	echo "KTAP version 1"
}
ktap_plan() { _ktap_header; _ktap_plan=$1; echo "1..$1"; }
ktap_diag() { echo "# $*"; }
ktap_ok() { _ktap_n=$((_ktap_n + 1)); echo "ok $_ktap_n $1"; }
ktap_fail() {
	_ktap_n=$((_ktap_n + 1)) _ktap_fail=$((_ktap_fail + 1))
	echo "not ok $_ktap_n $1"
	[ $# -gt 1 ] && ktap_diag "$2"
	return 0
}
ktap_skip() {
	_ktap_n=$((_ktap_n + 1)) _ktap_skip=$((_ktap_skip + 1))
	echo "ok $_ktap_n $1 # SKIP ${2:-}"
}
ktap_test() {
	local name=$1 rc start=$SECONDS
	shift
	rc=0
	"$@" || rc=$?
	# Per-case times are what keeps the suite's length in check.
	ktap_diag "$name took $((SECONDS - start)) s"
	case $rc in
	0) ktap_ok "$name" ;;
	"$KSFT_SKIP") ktap_skip "$name" "exit $KSFT_SKIP" ;;
	*) ktap_fail "$name" "exit $rc: $*" ;;
	esac
	return 0
}
ktap_skip_all() {
	_ktap_header
	echo "1..0 # SKIP $*"
	exit "$KSFT_SKIP"
}
ktap_finished() {
	if [ -n "$_ktap_plan" ] && [ "$_ktap_n" -ne "$_ktap_plan" ]; then
		ktap_diag "planned $_ktap_plan tests, ran $_ktap_n"
		exit "$KSFT_FAIL"
	fi
	ktap_diag "Totals: pass:$((_ktap_n - _ktap_fail - _ktap_skip)) fail:$_ktap_fail skip:$_ktap_skip"
	[ "$_ktap_fail" -gt 0 ] && exit "$KSFT_FAIL"
	[ "$_ktap_n" -gt 0 ] && [ "$_ktap_skip" -eq "$_ktap_n" ] && exit "$KSFT_SKIP"
	exit "$KSFT_PASS"
}

_die() { echo "$(basename "$0"): $*" >&2; exit "$KSFT_FAIL"; }

# --- cleanup ----------------------------------------------------------------
_cleanup_cmds=()
_on_cleanup() { _cleanup_cmds+=("$(printf '%q ' "$@")"); }
_cleanup_run() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_cmds[i]}" || true
	done
	if declare -F _cleanup >/dev/null; then _cleanup || true; fi
	exit "$rc"
}
trap _cleanup_run EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- requirements (skip the whole test) --------------------------------------
_require_root() { [ "$(id -u)" = 0 ] || ktap_skip_all "needs root"; }
_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || ktap_skip_all "needs $c"
	done
}
# Loads MOD (with PARAMS) unless already there or built in.
_require_module() {
	local m=$1
	shift
	[ -d "/sys/module/${m//-/_}" ] && return 0
	modprobe "$m" "$@" 2>/dev/null || ktap_skip_all "cannot load module $m"
}

# --- I/O helpers ------------------------------------------------------------
# _fio_verify DEV SIZE [FIO_ARGS...]: random 4k writes over SIZE bytes of DEV
# (O_DIRECT, QD16) with crc32c verification; later FIO_ARGS override the
# defaults (e.g. --bs=64k --rw=write). Fails on any I/O or verify error.
_fio_verify() {
	local dev=$1 size=$2 log rc
	shift 2
	log=$(mktemp "${TMPDIR:-/tmp}/fio.XXXXXX")
	rc=0
	fio --name=verify --filename="$dev" --size="$size" \
		--ioengine="${SHARD_FIO_ENGINE:-libaio}" --direct=1 --iodepth=16 \
		--rw=randwrite --bs=4k --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --verify_backlog=0 --randrepeat=0 \
		--group_reporting=1 "$@" >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ] || grep -qE 'err= *[1-9]|verify: bad|fio: (pid|io_u error)' "$log"; then
		sed 's/^/# fio: /' "$log"
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
	return 0
}

# _mkfs_mount_test DEV [FSTYPE]: make a filesystem (ext4 default, or xfs),
# mount it, write files, unmount, fsck/mount again and compare checksums.
_mkfs_mount_test() {
	local dev=$1 fs=${2:-ext4} mnt sum1 sum2 rc=1
	mnt=$(mktemp -d "${TMPDIR:-/tmp}/mnt.XXXXXX")
	case $fs in
	ext4) mkfs.ext4 -q -F "$dev" >/dev/null ;;
	xfs) mkfs.xfs -q -f "$dev" >/dev/null ;;
	*) mkfs -t "$fs" "$dev" >/dev/null ;;
	esac || { echo "# mkfs.$fs $dev failed"; rmdir "$mnt"; return 1; }
	if mount -t "$fs" "$dev" "$mnt"; then
		mkdir -p "$mnt/d" &&
		dd if=/dev/urandom of="$mnt/d/big" bs=1M count=8 status=none &&
		for i in $(seq 1 50); do echo "file $i" >"$mnt/d/f$i"; done &&
		sum1=$(cd "$mnt" && find d -type f | sort | xargs sha256sum) &&
		umount "$mnt" &&
		case $fs in
		ext4) fsck.ext4 -n -f "$dev" >/dev/null 2>&1 ;;
		xfs) xfs_repair -n "$dev" >/dev/null 2>&1 ;;
		*) true ;;
		esac &&
		mount -t "$fs" "$dev" "$mnt" &&
		sum2=$(cd "$mnt" && find d -type f | sort | xargs sha256sum) &&
		[ "$sum1" = "$sum2" ] && rc=0
		[ $rc -eq 0 ] || echo "# _mkfs_mount_test $dev $fs failed"
		mountpoint -q "$mnt" && umount "$mnt"
	else
		echo "# mount $dev failed"
	fi
	rmdir "$mnt"
	return $rc
}

# _wait_for COND TIMEOUT: true once `eval COND` succeeds; false after
# TIMEOUT seconds (fractions allowed, e.g. 0.5).
_wait_for() {
	local cond=$1 t=$2 frac us end
	frac=000000
	[[ $t == *.* ]] && frac=${t#*.}000000
	us=$((10#${t%%.*} * 1000000 + 10#${frac:0:6}))
	end=$((${EPOCHREALTIME/./} + us))
	while :; do
		eval "$cond" && return 0
		[ "${EPOCHREALTIME/./}" -ge "$end" ] && return 1
		sleep 0.1
	done
}
