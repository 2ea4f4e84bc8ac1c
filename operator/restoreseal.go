package operator

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/keyraft/keyraft/fsm"
)

// sealConfig is what a restore must not change under a live cluster: the
// keyring sealed under the root key (a rekey replaces it), the newest
// keyring term (a rotation raises it) and any rekey in progress.
//
// Every unsealed node holds the keyring in memory and seals new material
// under its newest term. A backup from before a rotation would take away
// the record of that term while the nodes go on sealing under it: keys
// created after the restore are lost at the next unseal. A backup from
// before a rekey would bring back the old shares (the very shares a rekey
// after a leak retires), and one taken during a rekey would bring back a
// rekey that was cancelled since. Such a backup can still be restored into
// a fresh cluster, which has no keyring in memory and whose holders unseal
// it with the backup's shares.
type sealConfig struct {
	initialized   bool
	sealedKeyring []byte
	term          uint32
	rekeyPending  bool
}

func sealConfigOf(q fsm.Query) sealConfig {
	rec, ok := q.Init()
	if !ok {
		return sealConfig{}
	}
	_, rekey := q.Rekey()
	return sealConfig{initialized: true, sealedKeyring: rec.SealedKeyring, term: rec.KeyringTerm, rekeyPending: rekey}
}

// restorableOver says whether the backup's seal configuration b may
// replace the live one, c.
func (c sealConfig) restorableOver(b sealConfig) error {
	const fresh = "; restore it into a fresh cluster instead (docs/operations.md, \"Backup and restore\")"
	switch {
	case !b.initialized:
		return errors.New("the backup holds no init record")
	case b.rekeyPending:
		return errors.New("the backup was taken during a rekey: restoring it would bring back a rekey this cluster may have cancelled or finished" + fresh)
	case !bytes.Equal(b.sealedKeyring, c.sealedKeyring):
		return errors.New("the backup predates a rekey of this cluster: restoring it would bring back the shares the rekey retired" + fresh)
	case b.term != c.term:
		return fmt.Errorf("the backup's keyring term is %d and this cluster's is %d (a rotation since): every node seals under term %d, which the backup does not hold, so keys created after the restore would be lost"+fresh,
			b.term, c.term, c.term)
	}
	return nil
}
