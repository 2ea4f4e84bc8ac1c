package node

import (
	"context"

	"github.com/keyraft/keyraft/kms"
)

// SeedKey creates one key of a `server -dev -seed` file through the
// replicated commands (kms.Service.Seed) and audits it as a setup event,
// as the dev process's own unseal is. The event names the key, never its
// material: only whether the material was fixed by the file.
func (s *Server) SeedKey(ctx context.Context, k kms.SeedKey) error {
	fixed := k.Material != nil
	if e := s.kms.Seed(ctx, k); e != nil {
		return e
	}
	params := map[string]any{"keyId": k.KeyID, "fixedMaterial": fixed, "dev": true}
	if len(k.Aliases) > 0 {
		params["aliases"] = k.Aliases
	}
	return s.RecordSetup(ctx, "SeedKey", params)
}
