// Command keyraft is keyraft's one binary: the server, and the operator,
// iam, audit and bench commands an operator runs against a cluster.
package main

import (
	"fmt"
	"os"

	"github.com/keyraft/keyraft/internal/version"
)

const usage = `Usage: keyraft <command> [flags] [args]

Every command prints its own usage and flags with -h.

Commands:
  server                       run a keyraft node (-dev for a one-node, unsealed playground)
  operator init                initialise the cluster and print the unseal shares
  operator unseal [-all] SHARE give a node (or every node) one unseal share
  operator seal                seal a node: drop every unsealed secret from its memory
                               (signed with $AWS_ACCESS_KEY_ID: the root, or a user allowed keyraft:Seal)
  version                      print keyraft's version (also -version)
  operator health [-standbyok] [-sealedcode N ...]
                               exit 0 when the node is healthy (the unsealed leader, by default), 1 otherwise;
                               Vault's /v1/sys/health status-code overrides (for HEALTHCHECK and load balancers)
  operator status              seal status of a node (and, signed, its raft status and alarms)
  operator rekey -init -key-shares N -key-threshold T [-verify]
  operator rekey [-verify] [-nonce N] SHARE | -cancel | -status
                               new root key and shares, authorised by a threshold of the current shares
                               (signed likewise; keyraft:Rekey)
  operator rotate              a new keyring term; older values re-sealed in the background
                               (signed likewise; keyraft:RotateKeyring)
  operator raft list-peers     the raft configuration
  operator raft remove-peer ID remove a server from the raft configuration
                               (signed likewise; keyraft:RemovePeer)
  operator raft snapshot save|restore [-force]|inspect FILE
                               back up the cluster to FILE, restore it (on fresh servers: -force, then
                               unseal with the backup's shares), check a file and print what it holds
                               (save and restore signed likewise; keyraft:Snapshot)
  operator tls-gen -out DIR -nodes n1,n2,n3 [-hosts h1,h2]
                               a cluster CA and node certificates for mutual TLS (docs/tls.md)
  operator gossip-keygen [-out FILE]
                               a new -gossip-key
  bench [-op OP -c N -d DUR]   load-test a KMS endpoint through the AWS SDK; reports ops/s, latency, CPU/op
  audit tail [-f] [-n N]       the newest audit events, as JSON lines
  audit export [-since T] [-until T] [-key-id K] [-event-name OP] [-format jsonl]
  audit verify [-data-dir DIR] check the audit hash chain (of a stopped node's data dir)
                               (over the API, audit commands sign with $AWS_ACCESS_KEY_ID: the root,
                               or a user allowed keyraft:ReadAuditLog)
  iam create-user|delete-user|list-users|create-access-key|list-access-keys|delete-access-key|
      put-user-policy|get-user-policy|list-user-policies|delete-user-policy
                               principals, access keys and identity policies (signed with $AWS_ACCESS_KEY_ID)
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		return runServer(args[1:])
	case "operator":
		return runOperator(args[1:])
	case "bench":
		return runBench(args[1:])
	case "audit":
		return runAudit(args[1:])
	case "iam":
		return runIAM(args[1:])
	case "version", "-version", "--version":
		fmt.Printf("keyraft %s\n", version.String())
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "keyraft: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
