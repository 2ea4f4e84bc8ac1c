#!/usr/bin/env bash
# Encrypt 4 KiB against keyraft, local-kms and OpenBao, side by side, in one
# run, with one load generator: the table of issue 18 and its ratios.
#
# Starts on loopback:
#   - keyraft: three `keyraft server -insecure` nodes built from this
#     checkout (auditing on, every Raft entry fsynced), initialised with one
#     share; Encrypt goes to the leader;
#   - local-kms: one process (no replication, no audit, no auth);
#   - OpenBao: three `bao server` nodes with integrated Raft storage and a
#     file audit device declared in their config, initialised with one
#     share, the two others joined with `bao operator raft join`, the
#     transit engine enabled; `transit/encrypt/<key>` goes to the active
#     node.
# Then for each client count and round it runs `keyraft bench` (closed
# loop, 4 KiB plaintext, one new key per run; -target openbao for OpenBao)
# against each system, rotating which goes first, with -server-pids naming
# all of that system's processes, and prints per round ops/s, p99, server
# CPU per request (all processes summed), the leader's (active node's) own
# CPU per request and the bench's; then the issue's targets as ratios of
# the means (keyraft ÷ local-kms, keyraft ÷ OpenBao).
#
# The peers are not part of this repository: build them elsewhere and name
# the binaries, e.g.
#   git clone https://github.com/nsmithuk/local-kms /tmp/local-kms
#   (cd /tmp/local-kms && go build -o /tmp/local-kms-bin .)
#   git clone https://github.com/openbao/openbao /tmp/openbao
#   (cd /tmp/openbao && GOTOOLCHAIN=go1.27.3 go build -o /tmp/bao-bin .)   # no UI; long
#   LOCAL_KMS=/tmp/local-kms-bin BAO=/tmp/bao-bin bench/peers.sh
#
# Environment (defaults in brackets):
#   LOCAL_KMS, BAO  the peers' binaries (each required if its system runs)
#   SYSTEMS ["keyraft local-kms openbao"]  which to run
#   ROUNDS [3]  DURATION [10s]  CLIENTS ["16 64"]  SIZE [4096]
#   BASE_PORT   first of the loopback ports used, BASE_PORT..BASE_PORT+81 [19400]
# Needs python3 and curl. Everything it starts is stopped by PID on exit;
# its files go to a temporary directory that is removed (KEEP=1 keeps it:
# each node's log, OpenBao's audit log, every run's JSON and stderr).
set -euo pipefail
# go.mod names go 1.27.3, which the installed go runs only when told to.
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SYSTEMS="${SYSTEMS:-keyraft local-kms openbao}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CLIENTS="${CLIENTS:-16 64}"
SIZE="${SIZE:-4096}"
BASE_PORT="${BASE_PORT:-19400}"

PEERS_NAME=peers
# shellcheck source=bench/peers-lib.sh
source bench/peers-lib.sh
has() { [[ " $SYSTEMS " == *" $1 "* ]]; }
for s in $SYSTEMS; do
	case "$s" in
	keyraft) ;;
	local-kms) need_binary LOCAL_KMS "${LOCAL_KMS:-}" ;;
	openbao) need_binary BAO "${BAO:-}" ;;
	*) die "SYSTEMS: unknown system $s (want keyraft, local-kms, openbao)" ;;
	esac
done
command -v python3 >/dev/null || die "python3 is needed for the JSON and the table"
has openbao && { command -v curl >/dev/null || die "curl is needed to probe OpenBao's health"; }

# keyraft bench drives every system, so it is built even when keyraft
# itself does not run.
build_keyraft
has keyraft && start_keyraft "$BASE_PORT"
has local-kms && start_local_kms $((BASE_PORT + 50))
# local-kms checks no signature, but the SDK signs: any key will do when
# keyraft has not exported its root credentials.
has keyraft || export AWS_ACCESS_KEY_ID=local-kms AWS_SECRET_ACCESS_KEY=local-kms AWS_REGION=us-east-1

# bao_code URL: the HTTP status of URL's sys/health (000 if it does not
# answer): 501 not initialised, 503 sealed, 200 active, 429 standby.
bao_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/v1/sys/health" || true; }
bao_is() { [[ "$(bao_code "$1")" == "$2" ]]; }
bao_standby() { local c; c="$(bao_code "$1")"; [[ "$c" == 429 || "$c" == 473 ]]; }
bao_voters() {
	"$BAO" operator raft list-peers -address="$bao_active" -format=json 2>/dev/null | python3 -c '
import json, sys
servers = json.load(sys.stdin)["data"]["config"]["servers"]
sys.exit(0 if sum(1 for s in servers if s["voter"]) == 3 else 1)'
}
bao_find_active() {
	local i
	for i in "${!bao_api[@]}"; do
		if bao_is "${bao_api[$i]}" 200; then
			bao_active="${bao_api[$i]}" bao_active_pid="${bao_pid[$i]}"
			return 0
		fi
	done
	return 1
}

# start_openbao BASE: three nodes on BASE..BASE+21, as the header says. Sets
# bao_api, bao_pid, bao_pids, bao_active, bao_active_pid and exports
# BAO_TOKEN (the root token) for the bao CLI and keyraft bench.
start_openbao() {
	local base="$1" i p
	bao_api=() bao_pid=()
	log "OpenBao: $("$BAO" version 2>&1 | head -n 1)"
	for i in 1 2 3; do
		p=$((base + 10 * (i - 1)))
		need_free_ports "$p" $((p + 1))
		mkdir -p "$work/bao$i"
		# The audit device is declared identically on every node (OpenBao
		# asks for that): whichever node is active writes the one file.
		cat >"$work/bao$i.hcl" <<-EOF
			storage "raft" {
			  path    = "$work/bao$i"
			  node_id = "bao$i"
			}
			listener "tcp" {
			  address         = "127.0.0.1:$p"
			  cluster_address = "127.0.0.1:$((p + 1))"
			  tls_disable     = true
			}
			api_addr      = "http://127.0.0.1:$p"
			cluster_addr  = "https://127.0.0.1:$((p + 1))"
			log_level     = "warn"
			audit "file" "file" {
			  options {
			    file_path = "$work/bao-audit.log"
			  }
			}
		EOF
		"$BAO" server -config="$work/bao$i.hcl" >"$work/bao$i.log" 2>&1 &
		started+=($!)
		bao_pid+=($!)
		bao_api+=("http://127.0.0.1:$p")
	done
	bao_pids="$(IFS=,; echo "${bao_pid[*]}")"
	for i in 0 1 2; do
		wait_for "OpenBao ${bao_api[$i]} to answer uninitialised (log $work/bao$((i + 1)).log)" 60 bao_is "${bao_api[$i]}" 501
	done

	log "OpenBao: initialising ${bao_api[0]} (1 share) and unsealing"
	"$BAO" operator init -address="${bao_api[0]}" -key-shares=1 -key-threshold=1 -format=json >"$work/bao-init.json" ||
		die "bao operator init (log $work/bao1.log)"
	local share token
	read -r share token < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["unseal_keys_b64"][0], c["root_token"])' "$work/bao-init.json")
	export BAO_TOKEN="$token"
	"$BAO" operator unseal -address="${bao_api[0]}" "$share" >/dev/null || die "bao operator unseal ${bao_api[0]}"
	wait_for "OpenBao ${bao_api[0]} to become active" 60 bao_is "${bao_api[0]}" 200
	for i in 1 2; do
		"$BAO" operator raft join -address="${bao_api[$i]}" "${bao_api[0]}" >/dev/null ||
			die "bao operator raft join on ${bao_api[$i]} (log $work/bao$((i + 1)).log)"
		wait_for "OpenBao ${bao_api[$i]} to take its share" 60 "$BAO" operator unseal -address="${bao_api[$i]}" "$share"
		wait_for "OpenBao ${bao_api[$i]} to stand by (log $work/bao$((i + 1)).log)" 60 bao_standby "${bao_api[$i]}"
	done
	wait_for "an active OpenBao node" 60 bao_find_active
	bao_find_active
	# Autopilot promotes a joined node to voter once it has been stable
	# for server_stabilization_time (10 s by default).
	wait_for "three OpenBao voters (bao operator raft list-peers)" 90 bao_voters
	"$BAO" secrets enable -address="$bao_active" transit >/dev/null || die "bao secrets enable transit"
	"$BAO" audit list -address="$bao_active" -format=json | grep -q '"file/"' ||
		die "OpenBao has no file/ audit device: the config's audit stanza was not applied (log $work/bao1.log)"
	log "OpenBao: active $bao_active (pid $bao_active_pid), pids $bao_pids, audit to $work/bao-audit.log"
}
has openbao && start_openbao $((BASE_PORT + 60))

# run SYSTEM CLIENTS: one bench run; "SYSTEM<TAB>LEADER_PID<TAB>JSON"
# appended to results (JSON {"failed": ...} if the bench printed nothing).
n=0
run() {
	local system="$1" c="$2" endpoint pids lpid out args=()
	case "$system" in
	keyraft) endpoint="$leader" pids="$kr_pids" lpid="$leader_pid" ;;
	local-kms) endpoint="$lk_url" pids="$lk_pid" lpid="$lk_pid" ;;
	openbao) endpoint="$bao_active" pids="$bao_pids" lpid="$bao_active_pid" args=(-target openbao) ;;
	esac
	n=$((n + 1))
	out="$("$kr" bench "${args[@]}" -endpoint "$endpoint" -op encrypt -size "$SIZE" -c "$c" -d "$DURATION" \
		-server-pids "$pids" -format json 2>"$work/bench-$n-$system-$c.err")" || true
	if [[ -z "$out" ]]; then
		out="$(grep -v '^bench: ' "$work/bench-$n-$system-$c.err" | tail -n 1 |
			python3 -c 'import json, sys; print(json.dumps({"clients": int(sys.argv[1]), "failed": sys.stdin.read().strip() or "no output"}))' "$c")"
	fi
	printf '%s\t%s\t%s\n' "$system" "$lpid" "$out" >>"$work/results"
	log "$system, $c clients: $out"
}

read -ra systems <<<"$SYSTEMS"
load_before="$(load_avg)"
log "load: $load_before (1/5/15 min) before the runs; $(nproc) cores"
for c in $CLIENTS; do
	for ((r = 0; r < ROUNDS; r++)); do
		for ((k = 0; k < ${#systems[@]}; k++)); do
			run "${systems[$(((r + k) % ${#systems[@]}))]}" "$c"
		done
	done
done
load_after="$(load_avg)"
log "load: $load_after (1/5/15 min) after the runs"
if has openbao; then
	[[ -s "$work/bao-audit.log" ]] || die "OpenBao's audit log $work/bao-audit.log is empty: it did not audit"
	log "OpenBao audit log: $(wc -l <"$work/bao-audit.log") lines"
fi

python3 - "$work/results" "$ROUNDS" "$DURATION" "$SIZE" "$load_before" "$load_after" "$(nproc)" <<'EOF'
import json, sys
path, rounds, duration, size, before, after, cores = sys.argv[1:]
runs = {}  # (system, clients) -> [(leader_pid, result)]
for line in open(path):
    system, lpid, js = line.rstrip("\n").split("\t", 2)
    r = json.loads(js)
    runs.setdefault((system, r["clients"]), []).append((lpid, r))
systems = [s for s in ("keyraft", "local-kms", "openbao") if any(k[0] == s for k in runs)]
clients = sorted({k[1] for k in runs})
head = {"keyraft": "keyraft, 3 nodes, replicated fsynced fail-closed audit",
        "local-kms": "local-kms (1 process, no replication, no audit, no auth)",
        "openbao": "OpenBao 3 nodes, Raft, file audit (transit)"}

def ok(rs):
    return [(p, r) for p, r in rs if "failed" not in r]

def vals(system, c, f):
    return [f(p, r) for p, r in ok(runs.get((system, c), []))]

def leader_cpu(p, r):
    return (r.get("server_cpu_us_per_op_by_pid") or {}).get(p)

metrics = [
    ("ops/s", lambda p, r: r["ops_per_sec"], "{:,.0f}"),
    ("p99 ms", lambda p, r: r["p99_ms"], "{:.1f}"),
    ("server CPU µs/request (all processes)", lambda p, r: r.get("server_cpu_us_per_op"), "{:.0f}"),
    ("leader's (active node's) CPU µs/request", leader_cpu, "{:.0f}"),
    ("bench's CPU µs/request", lambda p, r: r.get("client_cpu_us_per_op"), "{:.0f}"),
]

def cell(system, c, f, fmt, first):
    rs = runs.get((system, c), [])
    bad = [r["failed"] for p, r in rs if "failed" in r]
    v = [x for x in vals(system, c, f) if x is not None]
    s = " / ".join(fmt.format(x) for x in v) or "-"
    if bad and first:
        s += f" ({len(bad)} failed: {bad[0][:100]})"
    return s

def mean(system, c, f):
    v = [x for x in vals(system, c, f) if x is not None]
    return sum(v) / len(v) if v else None

print(f"\nEncrypt {size} B, keyraft bench closed-loop, {rounds} rounds of {duration} per cell (one value per round, "
      f"in run order); {cores} cores, load {before} before, {after} after")
print("| | " + " | ".join(head[s] for s in systems) + " |")
print("| --- |" + " --- |" * len(systems))
for c in clients:
    for i, (name, f, fmt) in enumerate(metrics):
        print(f"| {c} clients, {name} | " + " | ".join(cell(s, c, f, fmt, i == 0) for s in systems) + " |")
    errs = [sum(r.get("errors", 0) for p, r in runs.get((s, c), [])) for s in systems]
    print(f"| {c} clients, errors | " + " | ".join(str(e) for e in errs) + " |")

ops = lambda p, r: r["ops_per_sec"]
p99 = lambda p, r: r["p99_ms"]
cpu = lambda p, r: r.get("server_cpu_us_per_op")
targets = [
    ("64 clients ops/s, keyraft ÷ local-kms", 64, ops, "local-kms", "≥ 1.0×", lambda x: x >= 1.0),
    ("16 clients ops/s, keyraft ÷ OpenBao", 16, ops, "openbao", "≥ 1.5×", lambda x: x >= 1.5),
    ("16 clients p99, keyraft ÷ local-kms", 16, p99, "local-kms", "≤ 1.0×", lambda x: x <= 1.0),
    ("64 clients server CPU/request (all nodes), keyraft ÷ local-kms", 64, cpu, "local-kms", "≤ 1.0×", lambda x: x <= 1.0),
]
rows = []
for name, c, f, peer, goal, met in targets:
    k, o = mean("keyraft", c, f), mean(peer, c, f)
    if k is None or o is None or o == 0:
        continue
    rows.append(f"| {name} | {k:,.1f} | {o:,.1f} | **{k / o:.2f}×** | {goal} | {'yes' if met(k / o) else 'no'} |")
lc = mean("keyraft", 64, leader_cpu)
if lc is not None:
    rows.append(f"| 64 clients keyraft leader's own CPU/request | {lc:.0f} µs | | | ≤ 150 µs | {'yes' if lc <= 150 else 'no'} |")
if "keyraft" in systems:
    errs = sum(r.get("errors", 0) for (s, c), rs in runs.items() if s == "keyraft" for p, r in rs)
    failed = sum(1 for (s, c), rs in runs.items() if s == "keyraft" for p, r in rs if "failed" in r)
    rows.append(f"| keyraft errors, failed runs (all runs) | {errs}, {failed} | | | 0 | {'yes' if errs == 0 and failed == 0 else 'no'} |")
if rows:
    print("\n| issue 18 target (means of the rounds) | keyraft | peer | ratio | goal | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    print("\n".join(rows))
EOF
