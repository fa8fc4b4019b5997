# shellcheck shell=bash
# Helpers for cluster tests: several simulated hosts in one VM. Each host
# hN is a network namespace shard-hN with a veth into a bridge in the root
# namespace (10.77.0.N/24; the bridge itself is 10.77.0.254, so the root
# namespace reaches every host) and runs its own etcd member, shard-mapd
# (cluster mode) and storage daemons. Source after shard_common.sh.
# Everything lives under $SHARD_T/hN and is torn down at exit.
#
#   _cluster_setup N          module + bridge + hosts h1..hN, teardown at exit
#   _cluster_etcd_start H     H's etcd member (data dir kept across restarts)
#   _cluster_etcd_wait SEC    until every member answers a quorum read
#   _cluster_etcd_leader      the host whose member leads etcd (raft)
#   _cluster_etcd_move_leader H   make H's member etcd's leader
#   _cluster_mapd_start H [MAPD_ARGS...]  H's shard-mapd; the arguments
#                             (e.g. --no-kernel) are remembered for restarts;
#                             --alone: without --etcd (alone until
#                             `shardctl cluster create|join`, then from
#                             its cluster.json). Its kernel's boot id is
#                             H's own ($SHARD_T/H/boot_id, through
#                             SHARD_MAPD_BOOT_ID_FILE): the hosts share
#                             one kernel
#   _cluster_daemon_spawn H NAME [SIZE]   start a shardd on H at port
#                             7400+10N+k (the k-th daemon of H), store
#                             $SHARD_T/H/NAME (SIZE default 4G); a known
#                             NAME restarts on its store
#   _cluster_daemon_wait H NAME   until it listens
#   _cluster_daemon_start H NAME [SIZE]   both
#   _cluster_kill H [WHAT [SIG]]  kill -SIG (default 9) H's process WHAT
#                             (etcd, mapd or a daemon NAME; default all of
#                             them at once) and reap it
#   _cluster_start_host H     etcd, mapd and daemons of H again, as before,
#                             with a new boot id (a host that starts again
#                             rebooted: the leader lifts its fence)
#   _cluster_ctl H ARGS...    shardctl against H's mapd
#   _cluster_get H EXPR [CMD...]    EXPR over H's JSON reply to CMD
#                             (default status), see below
#   _cluster_wait H SEC EXPR [CMD...]   poll until EXPR holds; prints the
#                             uptime at which it did; on timeout says on
#                             stderr what it last saw
#   _cluster_kernel_epoch     the kernel's map epoch
#   _cluster_epochs_start, _cluster_epochs_stop   record each new kernel
#                             epoch with the uptime it was first seen at
#                             (polled every 0.1 s) in kernel-epochs.txt,
#                             and every GET_STATUS that took over 1 s
#   _cluster_epoch_time E     when the kernel was first seen with epoch E
#                             or later
#   _cluster_slow_status      the slow GET_STATUS lines recorded, if any
#   _cluster_log_time H LOG ERE SINCE   uptime of the first line of
#                             $SHARD_T/H/LOG.log at or after SINCE matching
#                             ERE (logs are stamped as they are written)
#   _cluster_now              uptime in seconds (the clock of dmesg, the
#                             logs and everything above)
#   _cluster_secs T0 T1       T1 - T0 in seconds, one decimal
#   _cluster_mark MSG         "=== [uptime] MSG" into every log, to line
#                             them up afterwards
#   _cluster_finished         ktap_finished, noting that the test got there
#
# EXPR is Python evaluated with j = the reply and the helpers ids(H) (the
# daemon ids of host H, from status), up(ID), daemon(ID), pg(PGID) (from
# pg ls) and q(CMD[, HOST]) (the reply to another command, of this mapd or
# HOST's, e.g. q('pg ls p1'), q('status', 'h2')). It may span lines. E.g.
#   _cluster_wait h1 10 "not any(up(i) for i in ids('h3'))"
#   _cluster_get h1 "j['pgs'][0]['state']" pg ls p1
# One Python start costs seconds on the debug kernel under TCG: prefer
# one _cluster_wait with a compound EXPR (q() for other commands) to
# several.
#
# Logs: $SHARD_T/hN/{etcd,mapd,NAME}.log, each line stamped with the
# uptime. When the test fails (or dies before _cluster_finished) or
# SHARD_KEEP_LOGS is set, they are copied with each mapd's last status and
# state file, the kernel epochs seen and dmesg to
# $SHARD_OUT/results/TEST.logs/.

SHARDCTL=$SHARD_BIN/tools/shardctl/shardctl
# Not a pyenv-style shim from PATH: under TCG its start-up costs seconds.
_cl_python=/usr/bin/python3
[ -x "$_cl_python" ] || _cl_python=python3
# Timing, scaled for the debug kernel (KASAN, lockdep, kmemleak under
# TCG run everything several times slower): etcd's heartbeat and election
# timeout (ms; its defaults, 100 and 1000, make members under TCG call
# elections all the time), shard-mapd's --grace (s; also its etcd lease
# TTL) and how often _cluster_wait polls (s).
SHARD_CLUSTER_ETCD_HEARTBEAT=${SHARD_CLUSTER_ETCD_HEARTBEAT:-$(_shard_scaled 250 500)}
SHARD_CLUSTER_ETCD_ELECTION=${SHARD_CLUSTER_ETCD_ELECTION:-$(_shard_scaled 2500 5000)}
SHARD_CLUSTER_GRACE=${SHARD_CLUSTER_GRACE:-$(_shard_scaled 5 10)}
SHARD_CLUSTER_POLL=${SHARD_CLUSTER_POLL:-$(_shard_scaled 0.1 0.5)}
# shard-mapd's --etcd-timeout (ms): one etcd request under TCG and KASAN
# can take longer than the default second.
SHARD_CLUSTER_ETCD_TIMEOUT=${SHARD_CLUSTER_ETCD_TIMEOUT:-$(_shard_scaled 1000 3000)}
_cl_n=0
declare -A _cl_pid _cl_dsize _cl_dport _cl_daemons _cl_mapd_args

_cluster_ip() { echo "10.77.0.${1#h}"; }

_cluster_endpoints() {
	local i eps=
	for ((i = 1; i <= _cl_n; i++)); do
		eps+=${eps:+,}http://10.77.0.$i:2379
	done
	echo "$eps"
}

_cluster_now() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}

_cluster_secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", b - a }'
}

_cluster_net() {
	local i h
	ip link add shardbr0 type bridge || return 1
	ip addr add 10.77.0.254/24 dev shardbr0 && ip link set shardbr0 up ||
		return 1
	for ((i = 1; i <= _cl_n; i++)); do
		h=h$i
		ip netns add "shard-$h" &&
		ip -n "shard-$h" link set lo up &&
		ip link add "shv-$h" type veth peer name eth0 netns "shard-$h" &&
		ip link set "shv-$h" master shardbr0 &&
		ip link set "shv-$h" up &&
		ip -n "shard-$h" addr add "10.77.0.$i/24" dev eth0 &&
		ip -n "shard-$h" link set eth0 up || return 1
	done
	for ((i = 1; i <= _cl_n; i++)); do
		_wait_for "_cluster_ping 10.77.0.$i" 10 || {
			echo "# host h$i does not answer ping" >&2
			return 1
		}
	done
}

_cluster_ping() { busybox ping -c1 -W1 "$1" >/dev/null 2>&1; }

_cluster_net_del() {
	local i
	for ((i = 1; i <= _cl_n; i++)); do
		ip netns del "shard-h$i" 2>/dev/null
		ip link del "shv-h$i" 2>/dev/null
	done
	ip link del shardbr0 2>/dev/null
	return 0
}

_cluster_setup() {
	local i
	_require_root
	_require_cmd etcd etcdctl ip python3 busybox
	_shard_require_built
	_cl_n=$1
	mkdir -p "$SHARD_T"
	_on_cleanup rm -rf "$SHARD_T"
	_shard_load
	_on_cleanup _cluster_teardown
	for ((i = 1; i <= _cl_n; i++)); do
		mkdir -p "$SHARD_T/h$i"
	done
	_cluster_net_del
	_cluster_net || _die "cannot build the test network"
}

# Starts CMD in H's namespace, its output appended to LOG with the uptime
# in front of each line; CMD's pid in _cl_last (ip netns exec execs CMD).
# Disowned: the shell reaps it without a "Killed" line in the test's
# output.
_cluster_bg() {
	local h=$1 log=$2
	shift 2
	ip netns exec "shard-$h" "$@" </dev/null > >(_cluster_stamp >>"$log") 2>&1 &
	_cl_last=$!
	disown "$_cl_last"
}

_cluster_stamp() {
	local l up _
	while IFS= read -r l; do
		read -r up _ </proc/uptime
		printf '[%s] %s\n' "$up" "$l"
	done
}

_cluster_etcd_start() {
	local h=$1 ip i peers=
	ip=$(_cluster_ip "$h")
	for ((i = 1; i <= _cl_n; i++)); do
		peers+=${peers:+,}h$i=http://10.77.0.$i:2380
	done
	_cluster_bg "$h" "$SHARD_T/$h/etcd.log" etcd --name "$h" \
		--data-dir "$SHARD_T/$h/etcd" \
		--listen-client-urls "http://$ip:2379" \
		--advertise-client-urls "http://$ip:2379" \
		--listen-peer-urls "http://$ip:2380" \
		--initial-advertise-peer-urls "http://$ip:2380" \
		--initial-cluster "$peers" --initial-cluster-state new \
		--initial-cluster-token shard-test \
		--heartbeat-interval "$SHARD_CLUSTER_ETCD_HEARTBEAT" \
		--election-timeout "$SHARD_CLUSTER_ETCD_ELECTION"
	_cl_pid[$h/etcd]=$_cl_last
}

# True when every member in ENDPOINTS (default all) serves a quorum read.
_cluster_etcd_healthy() {
	etcdctl --endpoints "${1:-$(_cluster_endpoints)}" --dial-timeout 2s \
		--command-timeout 3s endpoint health >/dev/null 2>&1
}

_cluster_etcd_wait() {
	_wait_for _cluster_etcd_healthy "$1" && return 0
	etcdctl --endpoints "$(_cluster_endpoints)" --dial-timeout 2s \
		--command-timeout 3s endpoint health 2>&1 | sed 's/^/# /' >&2
	return 1
}

_cluster_etcd_leader() {
	etcdctl --endpoints "$(_cluster_endpoints)" --dial-timeout 2s \
		--command-timeout 3s endpoint status 2>/dev/null |
		awk -F', ' '$5 == "true" {
			sub("^http://10[.]77[.]0[.]", "h", $1); sub(":2379$", "", $1)
			print $1; exit }'
}

_cluster_etcd_move_leader() {
	local cur id want=$1
	cur=$(_cluster_etcd_leader)
	[ -n "$cur" ] || return 1
	[ "$cur" = "$want" ] && return 0
	id=$(etcdctl --endpoints "http://$(_cluster_ip "$want"):2379" \
		--command-timeout 3s endpoint status 2>/dev/null |
		awk -F', ' '{ print $2 }')
	[ -n "$id" ] || return 1
	etcdctl --endpoints "http://$(_cluster_ip "$cur"):2379" \
		--command-timeout 10s move-leader "$id" >/dev/null &&
		_wait_for '[ "$(_cluster_etcd_leader)" = "$want" ]' 10
}

# H's boot id: a new one for each start of the host.
_cluster_new_boot_id() {
	cat /proc/sys/kernel/random/uuid >"$SHARD_T/$1/boot_id"
}

_cluster_mapd_start() {
	local h=$1 args etcd=() a
	shift
	[ $# -gt 0 ] && _cl_mapd_args[$h]="$*"
	[ -s "$SHARD_T/$h/boot_id" ] || _cluster_new_boot_id "$h"
	read -ra args <<<"${_cl_mapd_args[$h]:-}"
	etcd=(--etcd "$(_cluster_endpoints)" --name "$h")
	for a in "${!args[@]}"; do
		if [ "${args[$a]}" = --alone ]; then
			unset "args[$a]"
			etcd=()
		fi
	done
	_cluster_bg "$h" "$SHARD_T/$h/mapd.log" \
		env SHARD_MAPD_BOOT_ID_FILE="$SHARD_T/$h/boot_id" \
		"$SHARD_BIN/userspace/mapd/shard-mapd" "${etcd[@]}" \
		--state "$SHARD_T/$h/state.json" \
		--socket "$SHARD_T/$h/mapd.sock" --grace "$SHARD_CLUSTER_GRACE" \
		--etcd-timeout "$SHARD_CLUSTER_ETCD_TIMEOUT" \
		--foreground "${args[@]}"
	_cl_pid[$h/mapd]=$_cl_last
	_wait_for "_cluster_ctl $h status >/dev/null 2>&1" 30 ||
		_die "shard-mapd on $h did not start: $(tail -3 "$SHARD_T/$h/mapd.log")"
}

_cluster_port_open() {
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

_cluster_daemon_spawn() {
	local h=$1 name=$2 size=${3:-4G} n k=0
	if [ -z "${_cl_dport[$h/$name]:-}" ]; then
		for n in ${_cl_daemons[$h]:-}; do k=$((k + 1)); done
		_cl_dport[$h/$name]=$((7400 + 10 * ${h#h} + k + 1))
		_cl_dsize[$h/$name]=$size
		_cl_daemons[$h]+=" $name"
	fi
	mkdir -p "$SHARD_T/$h/$name"
	_cluster_bg "$h" "$SHARD_T/$h/$name.log" \
		"$SHARD_BIN/userspace/shardd/shardd" \
		--store "$SHARD_T/$h/$name" --size "${_cl_dsize[$h/$name]}" \
		--listen "$(_cluster_ip "$h")" --port "${_cl_dport[$h/$name]}" \
		--mapd "$SHARD_T/$h/mapd.sock" --host "$h" --foreground
	_cl_pid[$h/$name]=$_cl_last
}

_cluster_daemon_wait() {
	local h=$1 name=$2
	_wait_for "_cluster_port_open $(_cluster_ip "$h") ${_cl_dport[$h/$name]}" 30 ||
		_die "daemon $h/$name did not start: $(tail -3 "$SHARD_T/$h/$name.log")"
}

_cluster_daemon_start() {
	_cluster_daemon_spawn "$@"
	_cluster_daemon_wait "$1" "$2"
}

_cluster_kill() {
	local h=$1 what=${2:-} sig=${3:-9} k keys=()
	for k in "${!_cl_pid[@]}"; do
		[[ $k == "$h/"* ]] || continue
		[ -z "$what" ] || [ "$k" = "$h/$what" ] || continue
		keys+=("$k")
	done
	# All first, then reap: a host dies at once, not process by process.
	for k in "${keys[@]}"; do
		kill "-$sig" "${_cl_pid[$k]}" 2>/dev/null
	done
	for k in "${keys[@]}"; do
		_cluster_reap "${_cl_pid[$k]}"
		unset "_cl_pid[$k]"
	done
	return 0
}

# Waits (at most 20 s in all) for the killed PIDs to exit and reaps them:
# a bare wait would hang the test on a process stuck in the kernel.
_cluster_reap() {
	local p left _reap=("$@")
	# (the condition runs inside _wait_for: no "$@" there)
	_wait_for '
		left=
		for p in "${_reap[@]}"; do _cluster_gone "$p" || left+=" $p"; done
		[ -z "$left" ]' 20 ||
		for p in $left; do
			echo "# pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) does not exit" >&2
		done
	for p in "$@"; do
		_cluster_gone "$p" && wait "$p" 2>/dev/null
	done
	return 0
}

# True when PID is a zombie or gone.
_cluster_gone() {
	[ ! -e "/proc/$1" ] ||
		[ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = Z ]
}

_cluster_start_host() {
	local h=$1 name
	_cluster_new_boot_id "$h"
	_cluster_etcd_start "$h"
	_cluster_mapd_start "$h"
	for name in ${_cl_daemons[$h]:-}; do
		_cluster_daemon_spawn "$h" "$name"
	done
	for name in ${_cl_daemons[$h]:-}; do
		_cluster_daemon_wait "$h" "$name"
	done
}

_cluster_ctl() {
	local h=$1
	shift
	"$SHARDCTL" --socket "$SHARD_T/$h/mapd.sock" "$@"
}

# The poller: argv = shardctl socket mode(get|wait) timeout expr cmd...
_cl_py='
import json, os, subprocess, sys, time
ctl, sock, mode, timeout, expr = sys.argv[1:6]
cmd = sys.argv[6:] or ["status"]

def uptime():
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])

end = uptime() + float(timeout)

def run(args, sock=sock):
    p = subprocess.run([ctl, "--socket", sock, "--json"] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise RuntimeError("shardctl %s: %s" % (" ".join(args),
                           (p.stderr.strip() or "no reply")[:600]))

def summary(j):
    if isinstance(j, dict) and "daemons" in j:
        ds = " ".join("%s@%s:%s" % (d["id"], d["host"],
                      "up" if d["up"] else "down") for d in j["daemons"])
        return "epoch %s leader %s etcd %s kernel %s; daemons %s" % (
            j.get("epoch"), j.get("leader"), json.dumps(j.get("etcd")),
            json.dumps(j.get("kernel")), ds)
    if isinstance(j, dict) and "pgs" in j:
        return " ".join("%s:%s:%s" % (p["pgid"], ",".join(
            "-" if a is None else str(a) for a in p["acting"]), p["state"])
            for p in j["pgs"])
    return json.dumps(j)[:800]

def ns(j):
    cache = {}
    def q(c, host=None):
        if (c, host) not in cache:
            if host:
                cache[c, host] = run(c.split(), os.path.join(
                    os.path.dirname(os.path.dirname(sock)), host, "mapd.sock"))
            else:
                cache[c, host] = run(c.split())
        return cache[c, host]
    def st():
        return j if "daemons" in j else q("status")
    def ids(h):
        return (st().get("hosts", {}).get(h) or {}).get("ids", [])
    def daemon(i):
        return next((d for d in st()["daemons"] if d["id"] == i), None)
    def up(i):
        d = daemon(i)
        return bool(d and d["up"])
    def pg(pgid):
        return next((p for p in j["pgs"] if p["pgid"] == pgid), None)
    return {"j": j, "q": q, "ids": ids, "daemon": daemon, "up": up, "pg": pg}

last = "no reply"
while True:
    r = None
    try:
        j = run(cmd)
        last = summary(j)
        r = eval("(" + expr + "\n)", ns(j))
    except Exception as e:
        last = ("%s: %s" % (type(e).__name__, e))[:800]
    if mode == "get":
        if r is None:
            print("# %s: %s" % (expr, last), file=sys.stderr)
            sys.exit(1)
        print(r if isinstance(r, str) else json.dumps(r))
        sys.exit(0)
    if r:
        print("%.2f" % uptime())
        sys.exit(0)
    if uptime() >= end:
        print("# waited %s s for %s (%s)\n# last: %s" % (timeout, expr,
              " ".join(cmd), last), file=sys.stderr)
        sys.exit(1)
    time.sleep(float(os.environ.get("SHARD_CLUSTER_POLL", "0.1")))
'

_cluster_get() {
	local h=$1 expr=$2
	shift 2
	"$_cl_python" -c "$_cl_py" "$SHARDCTL" "$SHARD_T/$h/mapd.sock" get 0 \
		"$expr" "$@"
}

_cluster_wait() {
	local h=$1 t=$2 expr=$3
	shift 3
	SHARD_CLUSTER_POLL=$SHARD_CLUSTER_POLL "$_cl_python" -c "$_cl_py" "$SHARDCTL" "$SHARD_T/$h/mapd.sock" wait \
		"$t" "$expr" "$@"
}

_cluster_kernel_epoch() {
	"$SHARDNL" get-status 2>/dev/null | awk '/^1 u64/ { print $3; exit }'
}

_cluster_epochs_start() {
	(
		last=
		while :; do
			t0=$(_cluster_now)
			e=$(_cluster_kernel_epoch)
			t1=$(_cluster_now)
			# (uptime has two decimals: hundredths as integers)
			if [ $((${t1/./} - ${t0/./})) -gt 100 ]; then
				echo "$t1 ${e:-?} get-status took $((${t1/./} - ${t0/./}))0 ms"
			elif [ -n "$e" ] && [ "$e" != "$last" ]; then
				echo "$t1 $e"
			fi
			[ -n "$e" ] && last=$e
			sleep 0.1
		done
	) >>"$SHARD_T/kernel-epochs.txt" 2>/dev/null &
	_cl_pid[epochs]=$!
	disown "$!"
}

_cluster_epochs_stop() {
	[ -n "${_cl_pid[epochs]:-}" ] || return 0
	kill -9 "${_cl_pid[epochs]}" 2>/dev/null
	_cluster_reap "${_cl_pid[epochs]}"
	unset "_cl_pid[epochs]"
}

_cluster_epoch_time() {
	awk -v e="$1" '$2 >= e { print $1; exit }' "$SHARD_T/kernel-epochs.txt" 2>/dev/null
}

_cluster_slow_status() {
	grep 'get-status took' "$SHARD_T/kernel-epochs.txt" 2>/dev/null
}

_cluster_log_time() {
	awk -v re="$3" -v since="$4" '
		/^\[[0-9.]+\] / {
			t = substr($1, 2, length($1) - 2) + 0
			if (t >= since && $0 ~ re) { print t; exit }
		}' "$SHARD_T/$1/$2.log" 2>/dev/null
}

_cluster_mark() {
	local f up
	up=$(_cluster_now)
	for f in "$SHARD_T"/h*/*.log; do
		[ -f "$f" ] && echo "=== [$up] $*" >>"$f"
	done
	return 0
}

_cluster_finished() {
	_cl_finished=1
	ktap_finished
}

_cluster_save_logs() {
	local dir h f
	dir=$SHARD_OUT/results/$(basename "$0" .sh).logs
	mkdir -p "$dir" || return 0
	for h in "$SHARD_T"/h*; do
		[ -d "$h" ] || continue
		mkdir -p "$dir/${h##*/}"
		for f in "$h"/*.log "$h"/state.json "$h"/status.json; do
			[ -f "$f" ] && cp "$f" "$dir/${h##*/}/"
		done
	done
	for f in "$SHARD_T"/*.log "$SHARD_T"/kernel-epochs.txt; do
		[ -f "$f" ] && cp "$f" "$dir/"
	done
	dmesg >"$dir/dmesg.txt" 2>/dev/null
	echo "# logs saved in $dir" >&2
}

# Saves the logs if wanted (first: when the test was killed by its timeout
# there is little time left), unmaps every device, stops every process of
# the test and removes the network.
_cluster_teardown() {
	local d n k save="" pids
	if [ -n "${SHARD_KEEP_LOGS:-}" ] || [ -z "${_cl_finished:-}" ] ||
	   [ "${_ktap_fail:-0}" -gt 0 ]; then
		save=1
	fi
	if [ -n "$save" ]; then
		for ((n = 1; n <= _cl_n; n++)); do
			[ -n "${_cl_pid[h$n/mapd]:-}" ] || continue
			timeout 5 "$SHARDCTL" --socket "$SHARD_T/h$n/mapd.sock" \
				--json status >"$SHARD_T/h$n/status.json" 2>&1
		done
		[ -n "${SHARD_OUT:-}" ] && _cluster_save_logs
	fi
	for d in /sys/block/shard*; do
		[ -e "$d" ] || continue
		n=${d##*/shard}
		"$SHARDNL" remove-dev "index:u32:$n" force:flag >/dev/null 2>&1
	done
	# Every process of the test, and whatever else it left in the
	# background (fio).
	pids=("${_cl_pid[@]}")
	# shellcheck disable=SC2207
	pids+=($(jobs -p))
	for k in "${pids[@]}"; do
		kill -9 "$k" 2>/dev/null
	done
	_cluster_reap "${pids[@]}"
	_cluster_net_del
}
