#!/usr/bin/env bash
# Drives the real `aws` CLI through the life of a key against `keyraft server -dev`:
# create-key, create-alias, encrypt with a context, decrypt by alias,
# rotate-key-on-demand, decrypt the old ciphertext, disable-key (decrypt fails
# with DisabledException), schedule-key-deletion, cancel-key-deletion.
# Usage: scripts/test-aws-cli.sh [path/to/keyraft]   (run by TestAWSCLIScript)
set -euo pipefail

KEYRAFT=${1:-bin/keyraft}
work=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$work/server.log" ] && tail -20 "$work/server.log" >&2; exit 1; }

ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r api cl rf gs <<<"$ports"
"$KEYRAFT" server -dev -api-addr 127.0.0.1:$api -cluster-addr 127.0.0.1:$cl -raft-addr 127.0.0.1:$rf \
	-gossip-addr 127.0.0.1:$gs >"$work/banner" 2>"$work/server.log" &
pid=$!
for _ in $(seq 100); do grep -q AWS_SECRET_ACCESS_KEY "$work/banner" && break; sleep 0.1; done
grep -q AWS_SECRET_ACCESS_KEY "$work/banner" || fail "dev server printed no credentials"
eval "$(grep '^export AWS_ACCESS_KEY_ID\|^export AWS_SECRET_ACCESS_KEY\|^export AWS_DEFAULT_REGION' "$work/banner")"
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1
endpoint=http://127.0.0.1:$api
kms() { aws --endpoint-url "$endpoint" --output text kms "$@"; }
expect_error() { # expect_error CODE aws-args...
	local code=$1; shift
	if out=$(aws --endpoint-url "$endpoint" kms "$@" 2>&1); then fail "aws kms $* succeeded; want $code"; fi
	grep -q "$code" <<<"$out" || fail "aws kms $*: $out; want $code"
}

printf 'attack at dawn' >"$work/plain"
key=$(kms create-key --description "cli lifecycle" --query KeyMetadata.KeyId)
kms create-alias --alias-name alias/cli-test --target-key-id "$key"
kms encrypt --key-id alias/cli-test --plaintext "fileb://$work/plain" --encryption-context app=cli,stage=test \
	--query CiphertextBlob | base64 -d >"$work/old.blob"
decrypt() {
	kms decrypt --key-id alias/cli-test --ciphertext-blob "fileb://$work/$1" \
		--encryption-context stage=test,app=cli --query Plaintext | base64 -d
}
[ "$(decrypt old.blob)" = "attack at dawn" ] || fail "decrypt by alias"
expect_error InvalidCiphertextException decrypt --ciphertext-blob "fileb://$work/old.blob" --encryption-context app=cli

kms rotate-key-on-demand --key-id "$key" >/dev/null
[ "$(kms list-key-rotations --key-id "$key" --query 'length(Rotations)')" = 1 ] || fail "one rotation listed"
kms encrypt --key-id "$key" --plaintext "fileb://$work/plain" --encryption-context app=cli,stage=test \
	--query CiphertextBlob | base64 -d >"$work/new.blob"
[ "$(decrypt old.blob)" = "attack at dawn" ] || fail "old ciphertext after rotation"
[ "$(decrypt new.blob)" = "attack at dawn" ] || fail "new ciphertext after rotation"

kms disable-key --key-id "$key"
[ "$(kms describe-key --key-id alias/cli-test --query KeyMetadata.KeyState)" = Disabled ] || fail "state after disable"
expect_error DisabledException decrypt --ciphertext-blob "fileb://$work/old.blob" --encryption-context app=cli,stage=test

[ "$(kms schedule-key-deletion --key-id "$key" --pending-window-in-days 7 --query KeyState)" = PendingDeletion ] || fail "schedule"
expect_error KMSInvalidStateException decrypt --ciphertext-blob "fileb://$work/old.blob" --encryption-context app=cli,stage=test
kms cancel-key-deletion --key-id "$key" >/dev/null
[ "$(kms describe-key --key-id "$key" --query KeyMetadata.KeyState)" = Disabled ] || fail "state after cancel"
kms enable-key --key-id "$key"
[ "$(decrypt old.blob)" = "attack at dawn" ] || fail "decrypt after cancel and enable"
echo "PASS: aws CLI key lifecycle"
