#!/usr/bin/env bash
# Sign against keyraft and local-kms, side by side, in one run.
#
# Starts a three-node keyraft cluster on loopback (`keyraft server -insecure`,
# auditing on, every Raft entry fsynced) and one local-kms process, then for
# each key spec and round runs `keyraft bench -op sign` against the keyraft
# leader and against local-kms, alternating which goes first, and prints one
# line per run (ops/s, p50/p99, server CPU per op: all three keyraft
# processes summed, or the local-kms process) and the ratios of the means.
#
# local-kms (github.com/nsmithuk/local-kms) is not part of this repository:
# build it elsewhere and name the binary, e.g.
#   git clone https://github.com/nsmithuk/local-kms /tmp/local-kms
#   (cd /tmp/local-kms && go build -o /tmp/local-kms-bin .)
#   LOCAL_KMS=/tmp/local-kms-bin bench/peers-sign.sh
#
# Environment (defaults in brackets):
#   LOCAL_KMS   the local-kms binary (required)
#   SPECS       key specs ["ECC_NIST_P256 ECC_NIST_EDWARDS25519 RSA_2048"]
#   ROUNDS [3]  DURATION [10s]  CLIENTS [16]  SIZE [32] (message bytes, RAW)
#   BASE_PORT   first of the loopback ports used [19400]
# Everything it starts is stopped by PID on exit; its files go to a
# temporary directory that is removed (KEEP=1 keeps it, with the logs).
# The starting and stopping is bench/peers-lib.sh's, shared with peers.sh.
set -euo pipefail
# go.mod names go 1.27.3, which the installed go runs only when told to.
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOCAL_KMS="${LOCAL_KMS:?set LOCAL_KMS to a local-kms binary (see the comment at the top)}"
SPECS="${SPECS:-ECC_NIST_P256 ECC_NIST_EDWARDS25519 RSA_2048}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CLIENTS="${CLIENTS:-16}"
SIZE="${SIZE:-32}"
BASE_PORT="${BASE_PORT:-19400}"

PEERS_NAME=peers-sign
# shellcheck source=bench/peers-lib.sh
source bench/peers-lib.sh
need_binary LOCAL_KMS "$LOCAL_KMS"
need_free_ports $((BASE_PORT + 50))

build_keyraft
start_keyraft "$BASE_PORT"
start_local_kms $((BASE_PORT + 50))

log "load: $(load_avg) (1/5/15 min) before the runs; $(nproc) cores"

# run SYSTEM SPEC: one bench run, its JSON line appended to results.
run() {
	local system="$1" spec="$2" endpoint pids out rc=0
	if [[ "$system" == keyraft ]]; then endpoint="$leader" pids="$kr_pids"; else endpoint="$lk_url" pids="$lk_pid"; fi
	out="$("$kr" bench -endpoint "$endpoint" -op sign -key-spec "$spec" -size "$SIZE" -c "$CLIENTS" -d "$DURATION" \
		-server-pids "$pids" -format json 2>"$work/bench.err")" || rc=$?
	if [[ -z "$out" ]]; then
		out="$(tail -n 1 "$work/bench.err" | python3 -c 'import json, sys; print(json.dumps({"op": "sign", "key_spec": sys.argv[1], "failed": sys.stdin.read().strip()}))' "$spec")"
	fi
	printf '%s\t%s\n' "$system" "$out" >>"$work/results"
	printf '%s\t%s\n' "$system" "$out" >&2
}

for spec in $SPECS; do
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then run keyraft "$spec"; run local-kms "$spec"; else run local-kms "$spec"; run keyraft "$spec"; fi
	done
done
log "load: $(load_avg) (1/5/15 min) after the runs"

python3 - "$work/results" "$CLIENTS" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    system, js = line.rstrip("\n").split("\t", 1)
    r = json.loads(js)
    rows.setdefault(r["key_spec"], {}).setdefault(system, []).append(r)
def fmt(runs, key, f="{:,.0f}"):
    vals = [r.get(key) for r in runs if "failed" not in r]
    return " / ".join(f.format(v) for v in vals if v is not None) or "-"
def mean(runs, key):
    vals = [r[key] for r in runs if "failed" not in r and r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None
print(f"\nSign, {sys.argv[2]} clients, RAW messages; keyraft through its leader (3 nodes), local-kms 1 process")
print("| key spec | system | ops/s | p99 ms | server µs/op | errors |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
for spec, by in rows.items():
    for system in ("keyraft", "local-kms"):
        runs = by.get(system, [])
        failed = [r["failed"] for r in runs if "failed" in r]
        if failed:
            print(f"| {spec} | {system} | failed: {failed[0]} | | | |")
            continue
        print(f"| {spec} | {system} | {fmt(runs, 'ops_per_sec')} | {fmt(runs, 'p99_ms', '{:.1f}')} | "
              f"{fmt(runs, 'server_cpu_us_per_op')} | {sum(r['errors'] for r in runs)} |")
    k, l = by.get("keyraft", []), by.get("local-kms", [])
    ko, lo, kc, lc = mean(k, "ops_per_sec"), mean(l, "ops_per_sec"), mean(k, "server_cpu_us_per_op"), mean(l, "server_cpu_us_per_op")
    if ko and lo:
        print(f"| {spec} | keyraft ÷ local-kms | **{ko / lo:.2f}×** | | {kc / lc:.2f}× | |")
EOF
