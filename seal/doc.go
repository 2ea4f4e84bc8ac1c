// Package seal holds the root key, its Shamir shares, a node's unseal progress,
// and the barrier keyring that encrypts key material at rest.
//
// Nothing here touches disk or the network. The sealed keyring and the share
// threshold live in the replicated init record; the caller passes them in. The
// shares and the root key never leave this package's memory and never appear in
// error messages. See DESIGN.md.
package seal
