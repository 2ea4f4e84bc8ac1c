package node

import (
	"github.com/keyraft/keyraft/internal/wipe"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// Seal drops every unsealed secret from memory on this node: the keyring,
// the key material cache and the SigV4 signing keys are zeroed, not merely
// dropped (docs/security.md says what remains best effort).
func (s *Server) Seal() {
	s.barrier.Seal()
	if s.operator != nil {
		s.operator.DropRekeyShares()
	}
	s.kms.DropSecrets()
	for _, v := range []*sigv4.Verifier{s.verifier, s.iamVerifier, s.operatorVerifier} {
		v.Forget()
	}
	// Then the copies no code here holds: request and answer buffers that
	// net/http, crypto/tls and encoding/json pool or dropped unzeroed
	// (node/scrub.go).
	s.forgetConnections()
	wipe.Heap()
	s.log.Info("node sealed")
}
