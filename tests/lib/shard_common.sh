# shellcheck shell=bash
# Helpers for tests that run shard itself in the VM: load the module,
# start a map manager and storage daemons, create and map volumes.
# Source after test_common.sh. Everything lives under $SHARD_T (a fresh
# directory per test) and is torn down at exit.
#
#   _shard_setup             module + mapd (+ cleanup of all of it)
#   _shard_daemon NAME [ARGS]  start (or restart) daemon NAME, wait until
#                            the kernel is connected to it
#   _shard_kill NAME [SIG]   kill daemon NAME (default -9), wait for it
#   _shardctl ARGS...        shardctl against this test's mapd
#   _shard_wait_daemons N [SEC]  wait until N daemons are up in the map
#   _shard_volume POOL/VOL SIZE   create and map, print the device
#   _shard_connected ID      true when the kernel has a link to daemon ID

: "${SHARD_T:=/tmp/shard-test.$$}"
SHARD_BIN=$SHARD_REPO
SHARD_SOCK=$SHARD_T/mapd.sock
SHARDNL=$SHARD_REPO/tests/tools/shardnl
export SHARD_T SHARD_SOCK SHARDNL

declare -A _shard_pid _shard_port

# KASAN and lockdep make I/O several times slower: tests that move a lot
# of data use SIZE_STOCK on the stock kernel and SIZE_DEBUG on the debug one.
_shard_scaled() {
	if [ "${SHARD_VM_KERNEL:-}" = debug ]; then echo "$2"; else echo "$1"; fi
}

_shard_require_built() {
	local ko=$SHARD_REPO/build/kmod-$SHARD_KVER/shard.ko f
	[ -f "$ko" ] || ktap_skip_all "module not built for $SHARD_KVER ($ko)"
	for f in userspace/shardd/shardd userspace/mapd/shard-mapd \
		 tools/shardctl/shardctl tests/tools/shardnl; do
		[ -x "$SHARD_REPO/$f" ] || ktap_skip_all "$f not built"
	done
}

_shard_load() {
	_shard_require_built
	[ -d /sys/module/shard ] && return 0
	modprobe libcrc32c 2>/dev/null
	insmod "$SHARD_REPO/build/kmod-$SHARD_KVER/shard.ko" "$@" ||
		_die "cannot load shard.ko"
	_on_cleanup rmmod shard
}

_shard_mapd() {
	# A mapd killed with -9 leaves its socket behind: waiting for it to
	# exist would not wait for the new one.
	rm -f "$SHARD_SOCK"
	"$SHARD_BIN/userspace/mapd/shard-mapd" --state "$SHARD_T/state.json" \
		--socket "$SHARD_SOCK" --foreground >>"$SHARD_T/mapd.log" 2>&1 &
	_shard_pid[mapd]=$!
	_wait_for '[ -S "$SHARD_SOCK" ]' 30 || _die "shard-mapd did not start"
}

_shard_setup() {
	_require_root
	_shard_require_built
	mkdir -p "$SHARD_T"
	_on_cleanup rm -rf "$SHARD_T"
	_shard_load
	_on_cleanup _shard_stop_all
	_shard_mapd
}

# Unmaps everything and stops every process this test started.
_shard_stop_all() {
	local d n
	for d in /sys/block/shard*; do
		[ -e "$d" ] || continue
		n=${d##*/shard}
		"$SHARDNL" remove-dev "index:u32:$n" force:flag >/dev/null 2>&1
	done
	for n in "${!_shard_pid[@]}"; do
		kill -9 "${_shard_pid[$n]}" 2>/dev/null
		wait "${_shard_pid[$n]}" 2>/dev/null
	done
	if [ -n "${SHARD_KEEP_LOGS:-}" ] && [ -n "${SHARD_OUT:-}" ]; then
		cp "$SHARD_T"/*.log "$SHARD_OUT/" 2>/dev/null
	fi
	return 0
}

_shardctl() {
	"$SHARD_BIN/tools/shardctl/shardctl" --socket "$SHARD_SOCK" "$@"
}

# Starts daemon NAME on a 4 GiB sparse store (or restarts it on its store).
_shard_daemon() {
	local name=$1 port
	shift
	port=${_shard_port[$name]:-$((7410 + ${#_shard_port[@]}))}
	_shard_port[$name]=$port
	mkdir -p "$SHARD_T/$name"
	# SHARD_DAEMON_ARGS: options for every daemon (experiments).
	# shellcheck disable=SC2086
	"$SHARD_BIN/userspace/shardd/shardd" --store "$SHARD_T/$name" \
		--size 4G --listen 127.0.0.1 --port "$port" \
		--mapd "$SHARD_SOCK" --foreground ${SHARD_DAEMON_ARGS:-} "$@" \
		>>"$SHARD_T/$name.log" 2>&1 &
	_shard_pid[$name]=$!
	_wait_for "_shard_port_open $port" 20 ||
		_die "daemon $name did not start: $(tail -3 "$SHARD_T/$name.log")"
}

# Waits until N daemons are registered and up in mapd's map (a volume
# created before a daemon registers keeps its PGs off that daemon).
_shard_wait_daemons() {
	_wait_for "[ \"\$(_shardctl --json daemon ls 2>/dev/null |
		grep -o '\"up\": *true' | wc -l)\" -ge $1 ]" "${2:-30}"
}

_shard_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_shard_kill() {
	local name=$1 sig=${2:-9}
	kill "-$sig" "${_shard_pid[$name]}" 2>/dev/null
	wait "${_shard_pid[$name]}" 2>/dev/null
	unset "_shard_pid[$name]"
}

# Connected link count the kernel reports for daemon ID.
_shard_links() {
	"$SHARDNL" get-status 2>/dev/null | awk -v id="$1" '
		/^  3/ { inblk = 1; got = ""; links = 0; next }
		inblk && /^    1 u32/ { got = $3 }
		inblk && /^    5 u32/ { links = $3; if (got == id) print links }'
}

_shard_connected() {
	local n
	n=$(_shard_links "$1")
	[ -n "$n" ] && [ "$n" -gt 0 ]
}

_shard_volume() {
	local vol=$1 size=$2 dev
	_shardctl create "$vol" --size "$size" >/dev/null ||
		_die "shardctl create $vol failed"
	dev=$(_shardctl map "$vol") || _die "shardctl map $vol failed"
	_wait_for "[ -b $dev ]" 10 || _die "$dev did not appear"
	echo "$dev"
}
