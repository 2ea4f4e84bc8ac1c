#!/usr/bin/env bash
# Issue 18's scale targets, measured in one run on one cluster.
#
# Starts a three-node keyraft cluster on loopback (`keyraft server -insecure`,
# auditing on, every Raft entry fsynced), measures Encrypt on it empty, fills
# it through its API with `keyraft bench populate` (KEYS keys, USERS IAM users,
# GRANTS grants on one key: every one a Raft entry with its audit event), and
# then measures, on the full cluster:
#   - Encrypt ops/s against the same cluster empty (same run, same settings);
#   - Decrypt authorised by a grant (a user with no policy but one of the
#     GRANTS grants on the key) against Decrypt authorised by an IAM policy,
#     on the grant key, alternating which goes first;
#   - each node's resident memory (/proc/PID/status: VmRSS, and its anonymous
#     and file-backed parts: raft-boltdb maps its log file);
#   - the Raft snapshots: those taken while populating and one the leader
#     takes on demand (`operator raft snapshot save`), timed from raft's own
#     "starting snapshot" to "snapshot complete" log lines (the FSM's capture
#     before them is BenchmarkScaleCapture in package fsm), and the save end to
#     end (which also streams the backup, audit log included);
#   - restart to serving of a follower, then of the leader: kill -9, start the
#     same command line, unseal, and time until /v1/sys/health answers 200 or
#     429 and a DescribeKey through that node is answered;
#   - ListKeys paging through every key, 1000 and 100 (AWS's default) a page.
# It prints a table with the targets.
#
# Environment (defaults in brackets):
#   KEYS [100000]  USERS [10000]  GRANTS [50000]  POP_CLIENTS [64]
#   ROUNDS [3]  DURATION [10s]  CLIENTS [16]  SIZE [4096]
#   BASE_PORT   first of the loopback ports used [19600]
#   SERVER_FLAGS  more `keyraft server` flags for every node, e.g.
#               "-disable-mlock" or "-raft-snapshot-interval 10s" []
# Everything it starts is stopped by PID on exit; its files go to a
# temporary directory that is removed (KEEP=1 keeps it, with the logs).
# Starting, waiting and stopping are bench/peers-lib.sh's; the nodes are
# started here, one by one, since two of them are restarted.
set -euo pipefail
# go.mod names go 1.27.3, which the installed go runs only when told to.
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PEERS_NAME=scale
# shellcheck source=bench/peers-lib.sh
source bench/peers-lib.sh

KEYS="${KEYS:-100000}"
USERS="${USERS:-10000}"
GRANTS="${GRANTS:-50000}"
POP_CLIENTS="${POP_CLIENTS:-64}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CLIENTS="${CLIENTS:-16}"
SIZE="${SIZE:-4096}"
BASE_PORT="${BASE_PORT:-19600}"
read -r -a server_flags <<<"${SERVER_FLAGS:-}"

pid_of=() # the nodes' pids, by node index
now() { date +%s.%N; }
since() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$1" "$(now)"; }
load() { load_avg; }
# poll WHAT SECONDS CMD...: wait_for, trying every 50 ms, for the timed waits.
poll() { WAIT_INTERVAL=0.05 wait_for "$@"; }

build_keyraft

api=() gossip=()
for i in 0 1 2; do
	p=$((BASE_PORT + 10 * i))
	need_free_ports "$p" $((p + 1)) $((p + 2)) $((p + 3)) $((p + 5))
	api+=("http://127.0.0.1:$p")
	gossip+=("127.0.0.1:$((p + 3))")
done
join="$(IFS=,; echo "${gossip[*]}")"
# start N: start node N (0-2), appending to its log.
start() {
	local i="$1" p=$((BASE_PORT + 10 * $1))
	"$kr" server -node-id "n$((i + 1))" -data-dir "$work/n$((i + 1))" -insecure -log-level info -log-format json \
		-api-addr "127.0.0.1:$p" -cluster-addr "127.0.0.1:$((p + 1))" -raft-addr "127.0.0.1:$((p + 2))" \
		-gossip-addr "${gossip[$i]}" -bootstrap-expect 3 -join "$join" -pprof-addr "127.0.0.1:$((p + 5))" \
		"${server_flags[@]}" >>"$work/n$((i + 1)).log" 2>&1 &
	pid_of[i]=$!
	started+=($!)
}
pids() { local IFS=,; echo "${pid_of[*]}"; }
for i in 0 1 2; do start "$i"; done
for a in "${api[@]}"; do wait_for "$a" 30 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$kr" operator status -address "$a"; done

log "initialising (1 share) and unsealing"
init_json() { "$kr" operator init -key-shares 1 -key-threshold 1 -format json -address "${api[0]}" >"$work/init.json"; }
wait_for "init" 30 init_json
read -r share access secret < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c["unseal_keys_b64"][0], c["access_key_id"], c["secret_access_key"])' "$work/init.json")
for a in "${api[@]}"; do
	wait_for "$a to take its share" 30 "$kr" operator unseal -address "$a" "$share"
done
export AWS_REGION=us-east-1
root=(env AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret")
leader="" leader_i=""
find_leader() {
	local i
	for i in 0 1 2; do
		# Status shows the Raft state only to a signed request.
		if [[ "$("${root[@]}" "$kr" operator status -format json -address "${api[$i]}" 2>/dev/null)" =~ \"raft_state\":\ *\"Leader\" ]]; then
			leader="${api[$i]}" leader_i="$i"
			return 0
		fi
	done
	return 1
}
wait_for "a leader" 30 find_leader
find_leader
log "leader: $leader (pids $(pids)); load $(load)"

# run_bench LABEL CREDS-ENV... -- ARGS: one `keyraft bench` run, its JSON line
# appended to results with LABEL.
run_bench() {
	local label="$1" out rc=0
	shift
	local envs=()
	while [[ "$1" != -- ]]; do envs+=("$1"); shift; done
	shift
	out="$(env "${envs[@]}" "$kr" bench -endpoint "$leader" -c "$CLIENTS" -d "$DURATION" -size "$SIZE" \
		-server-pids "$(pids)" -format json "$@" 2>"$work/bench.err")" || rc=$?
	if [[ -z "$out" ]]; then
		out="$(tail -n 1 "$work/bench.err" | python3 -c 'import json, sys; print(json.dumps({"failed": sys.stdin.read().strip()}))')"
	fi
	printf '%s\t%s\n' "$label" "$out" >>"$work/results"
	printf '%s\t%s\n' "$label" "$out" >&2
}

for ((r = 1; r <= ROUNDS; r++)); do run_bench encrypt-empty AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" -- -op encrypt; done

log "populating: $USERS users, $KEYS keys, $GRANTS grants on one key, $POP_CLIENTS in flight; load $(load)"
t0="$(now)"
"${root[@]}" "$kr" bench populate -endpoint "$leader" -keys "$KEYS" -users "$USERS" -grants "$GRANTS" -c "$POP_CLIENTS" >"$work/pop.json"
printf 'populate\t%s\n' "$(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); print(json.dumps({k: v for k, v in p.items() if k.endswith("seconds") or k in ("keys", "users", "grants")}))' "$work/pop.json")" >>"$work/results"
log "populated in $(since "$t0") s; load $(load)"
read -r grant_key pol_ak pol_sk gr_ak gr_sk < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(p["grant_key_id"], p["policy_user"]["access_key_id"], p["policy_user"]["secret_access_key"],
      p["grantee_user"]["access_key_id"], p["grantee_user"]["secret_access_key"])' "$work/pop.json")
find_leader

for ((r = 1; r <= ROUNDS; r++)); do run_bench encrypt-full AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" -- -op encrypt; done
for ((r = 1; r <= ROUNDS; r++)); do
	pol=(decrypt-policy AWS_ACCESS_KEY_ID="$pol_ak" AWS_SECRET_ACCESS_KEY="$pol_sk" -- -op decrypt -key-id "$grant_key")
	gr=(decrypt-grant AWS_ACCESS_KEY_ID="$gr_ak" AWS_SECRET_ACCESS_KEY="$gr_sk" -- -op decrypt -key-id "$grant_key")
	if ((r % 2)); then run_bench "${pol[@]}"; run_bench "${gr[@]}"; else run_bench "${gr[@]}"; run_bench "${pol[@]}"; fi
done

# rss N: node N's VmRSS, RssAnon and RssFile, its Go heap in use and
# held (from its pprof endpoint), and its raft.db, in MiB.
rss() {
	awk '/^VmRSS:|^RssAnon:|^RssFile:/ {printf "%s %.0f ", $1, $2 / 1024}' "/proc/${pid_of[$1]}/status"
	curl -s "http://127.0.0.1:$((BASE_PORT + 10 * $1 + 5))/debug/pprof/heap?debug=1" |
		awk '/^# HeapInuse =|^# HeapSys =/ {printf "%s %.0f ", $2, $4 / 1048576}'
	printf 'raft.db %.0f' "$(($(stat -c %s "$work/n$(($1 + 1))/raft.db") / 1048576))"
}
for i in 0 1 2; do
	role=follower
	[[ "$i" == "$leader_i" ]] && role=leader
	printf 'rss\t{"node": "n%d", "role": "%s", "mib": "%s"}\n' $((i + 1)) "$role" "$(rss "$i")" >>"$work/results"
done

log "snapshot on demand (operator raft snapshot save)"
t0="$(now)"
"${root[@]}" "$kr" operator raft snapshot save -address "$leader" "$work/backup.snap" >/dev/null
printf 'snapshot-save\t{"seconds": %s, "bytes": %d}\n' "$(since "$t0")" "$(stat -c %s "$work/backup.snap")" >>"$work/results"
rm -f "$work/backup.snap"
# Raft's own lines on the leader: every snapshot taken so far, timed.
python3 - "$work/n$((leader_i + 1)).log" >>"$work/results" <<'EOF'
import json, sys
from datetime import datetime
start = None
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    msg, ts = r.get("@message", ""), r.get("@timestamp")
    if not ts:
        continue
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if msg == "starting snapshot up to":
        start, compact = (t, r.get("index")), None
    elif msg == "compacting logs" and start:
        compact = (t, r.get("to", 0) - r.get("from", 0) + 1)
    elif msg == "snapshot complete up to" and start:
        s = {"index": start[1], "seconds": round((t - start[0]).total_seconds(), 3)}
        if compact:
            s["written_s"] = round((compact[0] - start[0]).total_seconds(), 3)
            s["compacted_entries"] = compact[1]
        print("raft-snapshot\t" + json.dumps(s))
        start = None
EOF

# served N: node N answers health 200/429 and serves a DescribeKey.
served() {
	local code
	code="$(curl -s -o /dev/null -w '%{http_code}' "${api[$1]}/v1/sys/health")"
	[[ "$code" == 200 || "$code" == 429 ]] || return 1
	curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:kms" --user "$access:$secret" \
		-H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: TrentService.DescribeKey' \
		-d "{\"KeyId\": \"$grant_key\"}" "${api[$1]}/"
}
# restart N ROLE: kill -9 node N, start it again and time it to serving.
restart() {
	local i="$1" role="$2" t0 up healthy
	log "restarting $role n$((i + 1)) (kill -9); load $(load)"
	kill -9 "${pid_of[$i]}"
	wait "${pid_of[$i]}" 2>/dev/null || true
	t0="$(now)"
	start "$i"
	poll "n$((i + 1)) to answer" 60 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$kr" operator status -address "${api[$i]}"
	up="$(since "$t0")"
	poll "n$((i + 1)) to take its share" 60 "$kr" operator unseal -address "${api[$i]}" "$share"
	poll "n$((i + 1)) to serve" 120 served "$i"
	healthy="$(since "$t0")"
	printf 'restart\t{"node": "n%d", "role": "%s", "answering_s": %s, "serving_s": %s}\n' $((i + 1)) "$role" "$up" "$healthy" >>"$work/results"
}
follower_i=$(((leader_i + 1) % 3))
restart "$follower_i" follower
old_leader="$leader_i"
restart "$old_leader" leader
find_leader

log "ListKeys through every key; load $(load)"
for limit in 1000 100; do
	out="$("${root[@]}" "$kr" bench list-keys -endpoint "$leader" -limit "$limit")"
	printf 'list-keys\t%s\n' "$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d["limit"] = int(sys.argv[2]); print(json.dumps(d))' "$out" "$limit")" >>"$work/results"
done
log "load: $(load) (1/5/15 min) at the end; $(nproc) cores"
cp "$work/results" "${RESULTS:-/dev/null}" 2>/dev/null || true

python3 - "$work/results" "$KEYS" "$GRANTS" "$USERS" "$CLIENTS" "$SIZE" "${SERVER_FLAGS:-}" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    label, js = line.rstrip("\n").split("\t", 1)
    rows.setdefault(label, []).append(json.loads(js))
keys, grants, users, clients, size = sys.argv[2:7]
def ok(label):
    return [r for r in rows.get(label, []) if "failed" not in r]
def mean(label, key):
    v = [r[key] for r in ok(label) if r.get(key) is not None]
    return sum(v) / len(v) if v else float("nan")
def runs(label, key="ops_per_sec"):
    bad = [r["failed"] for r in rows.get(label, []) if "failed" in r]
    s = " / ".join(f"{r[key]:,.0f}" for r in ok(label))
    errs = sum(r.get("errors", 0) for r in ok(label))
    return s + (f" (failed: {bad[0]})" if bad else "") + (f", {errs} errors" if errs else "")
print(f"\nScale{' (' + sys.argv[7] + ')' if sys.argv[7] else ''}: {int(keys):,} keys, {int(grants):,} grants on one key, {int(users):,} users; 3 nodes, "
      f"{clients} clients, {size}-byte plaintexts")
print("| measure | figures | result | target |")
print("| --- | --- | --- | --- |")
e, f = mean("encrypt-empty", "ops_per_sec"), mean("encrypt-full", "ops_per_sec")
print(f"| Encrypt ops/s, empty → full | {runs('encrypt-empty')} → {runs('encrypt-full')} | **{f / e:.2f}×** | ≥ 0.90× |")
print(f"| Encrypt server µs/op, empty → full | {runs('encrypt-empty', 'server_cpu_us_per_op')} → {runs('encrypt-full', 'server_cpu_us_per_op')} | "
      f"{mean('encrypt-full', 'server_cpu_us_per_op') / mean('encrypt-empty', 'server_cpu_us_per_op'):.2f}× | |")
p, g = mean("decrypt-policy", "ops_per_sec"), mean("decrypt-grant", "ops_per_sec")
print(f"| Decrypt ops/s, policy → grant | {runs('decrypt-policy')} → {runs('decrypt-grant')} | **{g / p:.2f}×** | ≥ 0.90× |")
print(f"| Decrypt server µs/op, policy → grant | {runs('decrypt-policy', 'server_cpu_us_per_op')} → {runs('decrypt-grant', 'server_cpu_us_per_op')} | "
      f"{mean('decrypt-grant', 'server_cpu_us_per_op') / mean('decrypt-policy', 'server_cpu_us_per_op'):.2f}× | |")
for r in rows.get("rss", []):
    v = dict(zip(r["mib"].split()[0::2], r["mib"].split()[1::2]))
    target = "≤ 512 MiB" if r["role"] == "leader" else ""
    res = f"**{v.get('VmRSS:')} MiB**" if r["role"] == "leader" else f"{v.get('VmRSS:')} MiB"
    print(f"| resident memory, {r['role']} {r['node']} | anon {v.get('RssAnon:')} + file {v.get('RssFile:')} MiB; "
          f"Go heap {v.get('HeapInuse')} in use, {v.get('HeapSys')} held; raft.db {v.get('raft.db')} MiB | {res} | {target} |")
snaps = rows.get("raft-snapshot", [])
def snap(s):
    written = s.get("written_s", s["seconds"])
    return f"{written} + {s['seconds'] - written:.3f} ({s.get('compacted_entries', 0):,})"
if snaps:
    print(f"| Raft snapshots on the leader: written + log compacted (entries), s | {' / '.join(snap(s) for s in snaps)} | "
          f"**{max(s['seconds'] for s in snaps):.2f} s** max | ≤ 2 s |")
for s in rows.get("snapshot-save", []):
    print(f"| `operator raft snapshot save`, end to end | {s['bytes'] / 2**20:,.0f} MiB file | {s['seconds']} s | |")
for r in rows.get("restart", []):
    print(f"| restart to serving, {r['role']} {r['node']} (kill -9) | answering {r['answering_s']} s | **{r['serving_s']} s** | ≤ 10 s |")
for r in rows.get("list-keys", []):
    print(f"| ListKeys, every key, {r['limit']} a page | {r['keys']:,} keys, {r['pages']} pages | **{r['seconds']:.2f} s** | ≤ 10 s |")
for r in rows.get("populate", []):
    print(f"| populating (users, keys, grants), s | {r['users_seconds']:.0f} / {r['keys_seconds']:.0f} / {r['grants_seconds']:.0f} | "
          f"{r['keys'] / r['keys_seconds']:,.0f} keys/s, {r['grants'] / r['grants_seconds']:,.0f} grants/s | |")
EOF
