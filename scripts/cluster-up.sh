#!/usr/bin/env bash
# Start the three-node docker-compose cluster (docker-compose.yml), wait for a
# leader, initialise it once (5 shares, threshold 3), unseal every node and
# print the AWS CLI environment for it.
#
# First, a one-shot step makes the cluster's CA, node certificates and gossip
# key in the compose volume "tls" (keeping what it already holds), and copies
# the CA certificate to bin/cluster-ca.pem: the API is HTTPS, and the host CLI
# and the AWS CLI verify it with that file.
#
# Run through `make cluster-up`, which builds the image keyraft:dev and the host
# binary bin/keyraft first. Environment:
#   COMPOSE               compose command (default: `docker compose` if present, else docker-compose)
#   COMPOSE_PROJECT_NAME  compose project (default keyraft)
#   KEYRAFT_BIN           host keyraft binary for the operator commands (default bin/keyraft)
#   WAIT_SECONDS          how long each wait may take (default 120)
#
# The unseal shares and the first access key are printed once and written to
# bin/cluster-credentials.json (mode 600; bin/ is gitignored); the export lines
# also go to bin/cluster-env.sh, so a later shell can `. bin/cluster-env.sh`
# (with AWS_CA_BUNDLE and KEYRAFT_CACERT pointing at bin/cluster-ca.pem).
# On a cluster that is already initialised, init is skipped; nodes that are
# sealed (a restarted container) are unsealed with the shares from that file
# when it is there.
set -euo pipefail
# Every file this script writes (credentials, the env file) is the caller's
# alone; the ones it writes into are also chmod'ed 600 after writing, in case
# an earlier run left them wider.
umask 077

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-keyraft}"
if [[ -z "${COMPOSE:-}" ]]; then
	if docker compose version >/dev/null 2>&1; then
		COMPOSE="docker compose"
	elif command -v docker-compose >/dev/null 2>&1; then
		COMPOSE="docker-compose"
	else
		echo "cluster-up: neither \`docker compose\` nor docker-compose is installed" >&2
		exit 1
	fi
fi
read -r -a compose <<<"$COMPOSE"
KEYRAFT_BIN="${KEYRAFT_BIN:-bin/keyraft}"
WAIT_SECONDS="${WAIT_SECONDS:-120}"
CREDS=bin/cluster-credentials.json
ENVFILE=bin/cluster-env.sh
CA_PEM=bin/cluster-ca.pem
ENDPOINT=https://127.0.0.1:8200
REGION=us-east-1
NODES=(n1 n2 n3)
declare -A ADDR=([n1]=https://127.0.0.1:8200 [n2]=https://127.0.0.1:8210 [n3]=https://127.0.0.1:8220)
# Every operator command below verifies the nodes' API certificates with it.
export KEYRAFT_CACERT="$PWD/$CA_PEM"

log() { printf 'cluster-up %(%T)T: %s\n' -1 "$*" >&2; }
die() { log "$*"; exit 1; }

[[ -x "$KEYRAFT_BIN" ]] || die "$KEYRAFT_BIN is missing; run \`make build\` (or \`make cluster-up\`)"
command -v python3 >/dev/null || die "python3 is needed to read the operator JSON"

# json FIELD: print one top-level field of the JSON object on stdin
# (true/false for booleans, empty for null or absent).
json() {
	python3 -c '
import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1"
}

# status NODE: that node's `operator status` JSON, or nothing (and failure).
# Who leads and the Raft state are for principals to see: the CLI signs with
# the cluster's root key once $CREDS holds it (and the node is unsealed);
# otherwise, or when that fails, it shows the public part (initialized,
# sealed, progress, threshold, version).
status() {
	if [[ -f "$CREDS" ]] && AWS_ACCESS_KEY_ID="$(json access_key_id <"$CREDS")" AWS_SECRET_ACCESS_KEY="$(json secret_access_key <"$CREDS")" 		"$KEYRAFT_BIN" operator status -format json -address "${ADDR[$1]}" 2>/dev/null; then
		return 0
	fi
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$KEYRAFT_BIN" operator status -format json -address "${ADDR[$1]}" 2>/dev/null
}

# field NODE FIELD: one field of NODE's status, empty when the node does not answer.
field() {
	local s
	s="$(status "$1")" || return 0
	json "$2" <<<"$s"
}

# wait_for WHAT CMD...: run CMD every second until it succeeds or WAIT_SECONDS pass.
wait_for() {
	local what="$1" deadline=$((SECONDS + WAIT_SECONDS))
	shift
	log "waiting for $what"
	until "$@"; do
		((SECONDS < deadline)) || die "gave up after ${WAIT_SECONDS}s waiting for $what (see \`$COMPOSE -p $COMPOSE_PROJECT_NAME logs\`)"
		sleep 1
	done
}

answers() { status "$1" >/dev/null; }
all_initialized() {
	local n
	for n in "${NODES[@]}"; do [[ "$(field "$n" initialized)" == true ]] || return 1; done
}
# any_initialized: a node that restarted reports initialized=false until the
# leader has caught it up, so one node saying true is enough.
any_initialized() {
	local n
	for n in "${NODES[@]}"; do [[ "$(field "$n" initialized)" == true ]] && return 0; done
	return 1
}
all_unsealed() {
	local n
	for n in "${NODES[@]}"; do [[ "$(field "$n" sealed)" == false ]] || return 1; done
}

# unseal_node NODE SHARE...: give NODE shares until it reports unsealed.
unseal_node() {
	local node="$1" share out
	shift
	for share in "$@"; do
		[[ "$(field "$node" sealed)" == false ]] && break
		out="$("$KEYRAFT_BIN" operator unseal -format json -address "${ADDR[$node]}" "$share" 2>&1)" ||
			die "unseal $node failed: $out"
	done
	[[ "$(field "$node" sealed)" == false ]] || die "$node is still sealed after ${#} shares: $(status "$node" | tr -d '\n ')"
	log "$node unsealed"
}

# print_env: the export lines for the AWS CLI and keyraft's CLI, from $CREDS.
print_env() {
	python3 - "$CREDS" "$KEYRAFT_CACERT" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
print("export AWS_ENDPOINT_URL=%s" % c["endpoint"])
print("export AWS_ACCESS_KEY_ID=%s" % c["access_key_id"])
print("export AWS_SECRET_ACCESS_KEY=%s" % c["secret_access_key"])
print("export AWS_DEFAULT_REGION=%s" % c["region"])
print("export AWS_CA_BUNDLE=%s" % sys.argv[2])
print("export KEYRAFT_ADDR=%s" % c["endpoint"])
print("export KEYRAFT_CACERT=%s" % sys.argv[2])
EOF
}

# The one-shot step: certificates and gossip key in the volume "tls" (both
# commands keep what is already there, so a second cluster-up reuses them).
log "making the cluster CA, node certificates and gossip key (volume tls)"
"${compose[@]}" run --rm tls-gen >&2
"${compose[@]}" run --rm tls-gen operator gossip-keygen -out /tls/gossip.key >&2

log "starting n1 n2 n3 with \`$COMPOSE\` (project $COMPOSE_PROJECT_NAME)"
"${compose[@]}" up -d

# The CA certificate (only it) to the host, from n1's read-only mount.
n1_container="$("${compose[@]}" ps -q n1)"
[[ -n "$n1_container" ]] || die "no container for n1"
docker cp "$n1_container:/tls/ca.pem" "$CA_PEM" >/dev/null || die "could not copy the CA certificate out of $n1_container"
log "CA certificate: $CA_PEM"

wait_for "n1 to answer at ${ADDR[n1]}" answers n1

fresh=false
init=""
if any_initialized; then
	log "the cluster is already initialised; skipping init"
else
	log "initialising: 5 key shares, threshold 3 (retried until a leader takes it)"
	deadline=$((SECONDS + WAIT_SECONDS))
	until init="$("$KEYRAFT_BIN" operator init -key-shares 5 -key-threshold 3 -format json -address "${ADDR[n1]}" 2>&1)"; do
		if [[ "$init" == *"already initialized"* ]]; then
			log "the cluster is already initialised ($init); skipping init"
			init=""
			break
		fi
		[[ "$init" == *"retry"* ]] && ((SECONDS < deadline)) || die "init failed: $init"
		sleep 1
	done
fi
if [[ -z "$init" ]]; then
	[[ -f "$CREDS" ]] || log "no $CREDS: unseal sealed nodes by hand with \`$KEYRAFT_BIN operator unseal -address URL SHARE\` (3 shares each)"
else
	INIT_JSON="$init" python3 - "$CREDS" "$ENDPOINT" "$REGION" <<'EOF' || die "could not save the init output"
import json, os, sys
path, endpoint, region = sys.argv[1:]
c = json.loads(os.environ["INIT_JSON"])
c.update(endpoint=endpoint, region=region)
with open(path, "w") as f:
    json.dump(c, f, indent=2)
    f.write("\n")
EOF
	chmod 600 "$CREDS"
	fresh=true
fi

if [[ -f "$CREDS" ]]; then
	mapfile -t shares < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["unseal_keys_b64"]))' "$CREDS")
	threshold="$(json unseal_threshold <"$CREDS")"
	# Every node has to have replicated the init before it can take a share.
	wait_for "every node to see the cluster initialised" all_initialized
	for node in "${NODES[@]}"; do
		if [[ "$(field "$node" sealed)" == false ]]; then
			log "$node is already unsealed"
			continue
		fi
		unseal_node "$node" "${shares[@]:0:$threshold}"
	done
	wait_for "all three nodes to report sealed: false" all_unsealed
	print_env >"$ENVFILE"
	chmod 600 "$ENVFILE"
fi

echo
for node in "${NODES[@]}"; do
	s="$(status "$node")" || { echo "$node (${ADDR[$node]}): not answering"; continue; }
	python3 -c '
import json, sys
s = json.loads(sys.argv[2])
print("%s (%s): sealed=%s leader=%s state=%s raft_index=%s term=%s" % (sys.argv[1], sys.argv[3],
      json.dumps(s.get("sealed")), s.get("leader_id"), s.get("raft_state"), s.get("raft_index"), s.get("term")))' "$node" "$s" "${ADDR[$node]}"
done
echo

if [[ ! -f "$CREDS" ]]; then
	exit 0
fi
echo "# AWS CLI environment for this cluster (also in $ENVFILE: \`. $ENVFILE\`):"
print_env
echo
if $fresh; then
	echo "# Unseal shares (threshold $threshold of ${#shares[@]}). They are shown only now; they are"
	echo "# also in $CREDS, which you should delete once they are stored somewhere safe."
	echo "# Every restarted node starts sealed and needs $threshold of them again:"
	echo "#   $KEYRAFT_BIN operator unseal -address https://127.0.0.1:PORT -ca-file $CA_PEM SHARE"
	for i in "${!shares[@]}"; do
		echo "#   share $((i + 1)): ${shares[$i]}"
	done
else
	echo "# The unseal shares were printed when the cluster was initialised; they are in $CREDS."
fi
