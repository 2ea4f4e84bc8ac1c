package fsm

import (
	"unique"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// The strings most records share are held once: every key created
// without a policy carries AWS's default key policy (about 400 bytes),
// and 50,000 grants on one key name that key, the issuing account and
// the same few operations. Each record decoded from the log or a snapshot
// has its own copy; with 100,000 keys and 50,000 grants those copies were
// a third of a replica's heap (BenchmarkScaleMemory, docs/performance.md
// "Scale"). unique.Make keeps one copy of each value for as long as a
// record uses it.
func intern(s string) string { return unique.Make(s).Value() }

// internKey is called on a key record as it enters the state.
func internKey(k *fsmpb.Key) {
	k.Policy, k.KeyUsage, k.KeySpec = intern(k.Policy), intern(k.KeyUsage), intern(k.KeySpec)
	k.KeyState, k.Origin = intern(k.KeyState), intern(k.Origin)
}

// internGrant is called on a grant record as it enters the state.
func internGrant(g *fsmpb.Grant) {
	g.KeyId, g.IssuingAccount = intern(g.KeyId), intern(g.IssuingAccount)
	g.GranteePrincipal, g.GranteePrincipalId = intern(g.GranteePrincipal), intern(g.GranteePrincipalId)
	g.RetiringPrincipal, g.RetiringPrincipalId = intern(g.RetiringPrincipal), intern(g.RetiringPrincipalId)
	for i, op := range g.Operations {
		g.Operations[i] = intern(op)
	}
}
