# Shell functions shared by bench/peers.sh and bench/peers-sign.sh, which
# source this file after `set -euo pipefail`, from the repository root, with
# PEERS_NAME set (their log prefix). Every process started is recorded in
# started and stopped by PID on exit, also on SIGINT or SIGTERM (SIGTERM,
# then SIGKILL after 15 s); the files go to $work, removed on exit unless
# KEEP=1. The globals have names no caller's local takes: a trap runs in
# the scope of the function it interrupts, so a local "pids" there would
# hide the list of what to stop.
# shellcheck shell=bash

work="$(mktemp -d)"
started=() # every pid to stop; not "pids", which callers name their locals

log() { printf '%s %(%T)T: %s\n' "${PEERS_NAME:-peers}" -1 "$*" >&2; }
die() {
	log "FAILED: $*"
	exit 1
}

cleanup() {
	local p deadline
	((${#started[@]})) && log "stopping pids ${started[*]}"
	for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
	deadline=$((SECONDS + 15))
	for p in "${started[@]}"; do
		while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
		if kill -0 "$p" 2>/dev/null; then
			log "pid $p ignored SIGTERM for 15 s: SIGKILL"
			kill -KILL "$p" 2>/dev/null || true
		fi
		wait "$p" 2>/dev/null || true
	done
	if [[ "${KEEP:-}" == 1 ]]; then log "kept $work (logs, data, results)"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for WHAT SECONDS CMD...: run CMD every WAIT_INTERVAL seconds (0.2)
# until it succeeds; give up with an error naming WHAT (and the logs to
# read) after SECONDS.
wait_for() {
	local what="$1" secs="$2" deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "gave up after ${secs}s waiting for $what (KEEP=1 keeps the logs)"
		sleep "${WAIT_INTERVAL:-0.2}"
	done
}

# need_free_ports PORT...: fail at once if something already listens on one.
need_free_ports() {
	local p
	for p in "$@"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			die "127.0.0.1:$p is in use (set BASE_PORT to move every port)"
		fi
	done
}

# need_binary NAME PATH: PATH must be an executable file.
need_binary() {
	[[ -x "$2" && -f "$2" ]] || die "$1=$2 is not an executable file (see the comment at the top of $0)"
}

# build_keyraft: sets kr to a keyraft binary built from this checkout.
build_keyraft() {
	log "building keyraft from $(git rev-parse --short HEAD 2>/dev/null || echo "this tree")"
	go build -o "$work/keyraft" ./cmd/keyraft || die "go build ./cmd/keyraft"
	kr="$work/keyraft"
}

# start_keyraft BASE: a three-node cluster on BASE..BASE+22 (`keyraft server
# -insecure`, auditing on, every Raft entry fsynced), initialised with one
# share and unsealed. Sets kr_api (the nodes' URLs), kr_pid (their pids, in
# the same order), kr_pids (comma-separated), leader and leader_pid, and
# exports the root credentials as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
start_keyraft() {
	local base="$1" i p a gossip=() join
	kr_api=() kr_pid=()
	for i in 0 1 2; do
		p=$((base + 10 * i))
		need_free_ports "$p" $((p + 1)) $((p + 2)) $((p + 3))
		kr_api+=("http://127.0.0.1:$p")
		gossip+=("127.0.0.1:$((p + 3))")
	done
	join="$(IFS=,; echo "${gossip[*]}")"
	for i in 0 1 2; do
		p=$((base + 10 * i))
		"$kr" server -node-id "n$((i + 1))" -data-dir "$work/n$((i + 1))" -insecure -log-level warn \
			-api-addr "127.0.0.1:$p" -cluster-addr "127.0.0.1:$((p + 1))" -raft-addr "127.0.0.1:$((p + 2))" \
			-gossip-addr "${gossip[$i]}" -bootstrap-expect 3 -join "$join" >"$work/n$((i + 1)).log" 2>&1 &
		started+=($!)
		kr_pid+=($!)
	done
	kr_pids="$(IFS=,; echo "${kr_pid[*]}")"
	for a in "${kr_api[@]}"; do
		wait_for "keyraft $a to answer (log $work/n*.log)" 60 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$kr" operator status -address "$a"
	done

	log "keyraft: initialising (1 share) and unsealing"
	wait_for "keyraft init" 60 _kr_init
	local share access secret
	read -r share access secret < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["unseal_keys_b64"][0], c["access_key_id"], c["secret_access_key"])' "$work/init.json")
	for a in "${kr_api[@]}"; do
		wait_for "keyraft $a to take its share" 60 "$kr" operator unseal -address "$a" "$share"
	done
	export AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1
	wait_for "a keyraft leader" 60 _kr_leader
	_kr_leader
	log "keyraft: leader $leader (pid $leader_pid), pids $kr_pids"
}

_kr_init() { "$kr" operator init -key-shares 1 -key-threshold 1 -format json -address "${kr_api[0]}" >"$work/init.json"; }

_kr_leader() {
	local i
	for i in "${!kr_api[@]}"; do
		if "$kr" operator status -format json -address "${kr_api[$i]}" 2>/dev/null | grep -q '"raft_state": *"Leader"'; then
			leader="${kr_api[$i]}" leader_pid="${kr_pid[$i]}"
			return 0
		fi
	done
	return 1
}

# start_local_kms PORT: one local-kms process ($LOCAL_KMS) on PORT with an
# empty seed. Sets lk_url and lk_pid.
start_local_kms() {
	local port="$1"
	need_free_ports "$port"
	mkdir -p "$work/local-kms"
	PORT="$port" KMS_DATA_PATH="$work/local-kms" KMS_SEED_PATH="$work/no-seed.yaml" KMS_REGION=us-east-1 \
		"$LOCAL_KMS" >"$work/local-kms.log" 2>&1 &
	lk_pid=$!
	started+=("$lk_pid")
	lk_url="http://127.0.0.1:$port"
	wait_for "local-kms on $lk_url (log $work/local-kms.log)" 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
	log "local-kms: $lk_url (pid $lk_pid)"
}

# load_avg: the 1/5/15-minute load averages.
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
