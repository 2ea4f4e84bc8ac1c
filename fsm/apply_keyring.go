package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/seal"
)

// Refusals of the rekey and rotate commands.
var (
	// ErrRekeyInProgress: a rekey is already running; cancel it first.
	ErrRekeyInProgress = errors.New("a rekey is already in progress")
	// ErrNoRekey: no rekey runs under that nonce (none at all, or another).
	ErrNoRekey = errors.New("no rekey is in progress under this nonce")
	// ErrKeyringChanged: the keyring moved on (a rotation, another rekey)
	// since the leader built the command; nothing changed.
	ErrKeyringChanged = errors.New("the keyring changed while the command was built")
)

// Kinds of RotateResealItem.
const (
	SealedKeyMaterial uint32 = 1
	SealedAccessKey   uint32 = 2
	// SealedPendingImport is imported key material awaiting
	// RotateKeyOnDemand; its Id is "<key id>/<key material id>".
	SealedPendingImport uint32 = 3
)

// PendingImportRef is the re-seal id of a key's material awaiting rotation.
func PendingImportRef(keyID, materialID string) string { return keyID + "/" + materialID }

// SetKeyringObserver has fn told the init record's keyring upgrade records
// (a copy) whenever a command or a restore may have changed them, so that an
// unsealed node adds the new terms to its open keyring as the change
// applies. fn runs under the FSM's lock: it must not read the FSM.
func (f *FSM) SetKeyringObserver(fn func(upgrades [][]byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onKeyring = fn
}

func (f *FSM) keyringChangedLocked() {
	if f.onKeyring == nil || f.st.init == nil {
		return
	}
	ups := make([][]byte, len(f.st.init.KeyringUpgrades))
	for i, u := range f.st.init.KeyringUpgrades {
		ups[i] = bytes.Clone(u)
	}
	f.onKeyring(ups)
}

// keyringTerm is the newest keyring term of an init record.
func keyringTerm(in *fsmpb.Init) uint32 { return max(in.KeyringTerm, 1) }

func (f *FSM) applyRekeyStart(cmd *fsmpb.Command) error {
	var c fsmpb.RekeyConfig
	decodePayload(cmd, &c)
	in := f.st.init
	switch {
	case in == nil:
		return ErrNotInitialized
	case c.Nonce == "" || c.Threshold == 0 || c.Threshold > c.Shares || c.Shares > 255 || (c.Shares > 1 && c.Threshold < 2):
		return fmt.Errorf("%w: rekey parameters", ErrInvalidCommand)
	case len(c.PendingSealedKeyring) > 0 || c.VerificationNonce != "":
		return fmt.Errorf("%w: a rekey starts with nothing pending", ErrInvalidCommand)
	case in.Rekey != nil:
		return ErrRekeyInProgress
	}
	in.Rekey = &c
	return nil
}

func (f *FSM) applyRekeyCancel(cmd *fsmpb.Command) error {
	var c fsmpb.RekeyCancel
	decodePayload(cmd, &c)
	if _, err := f.rekey(c.Nonce); err != nil {
		return err
	}
	f.st.init.Rekey = nil
	return nil
}

// rekey is the rekey in progress under nonce.
func (f *FSM) rekey(nonce string) (*fsmpb.RekeyConfig, error) {
	in := f.st.init
	if in == nil {
		return nil, ErrNotInitialized
	}
	if in.Rekey == nil || nonce == "" || in.Rekey.Nonce != nonce {
		return nil, ErrNoRekey
	}
	return in.Rekey, nil
}

func (f *FSM) applyRekeyIssue(cmd *fsmpb.Command) error {
	var c fsmpb.RekeyIssue
	decodePayload(cmd, &c)
	rk, err := f.rekey(c.Nonce)
	if err != nil {
		return err
	}
	switch {
	case !rk.Verify || len(c.SealedKeyring) == 0 || c.VerificationNonce == "" || c.KeyringTerm == 0:
		return fmt.Errorf("%w: rekey issue incomplete", ErrInvalidCommand)
	case len(rk.PendingSealedKeyring) > 0:
		return ErrRekeyInProgress // issued once; verify or cancel it
	case c.KeyringTerm > keyringTerm(f.st.init):
		return ErrKeyringChanged
	}
	rk.PendingSealedKeyring, rk.PendingKeyringTerm, rk.VerificationNonce = c.SealedKeyring, c.KeyringTerm, c.VerificationNonce
	return nil
}

// applyRekeyCommit is the switch: from this entry on, only the new shares
// open the keyring. Upgrade records the new sealed keyring already holds
// are dropped; later ones (a rotation that committed after the leader
// built the keyring) stay and still chain from its newest term.
func (f *FSM) applyRekeyCommit(cmd *fsmpb.Command) error {
	var c fsmpb.RekeyCommit
	decodePayload(cmd, &c)
	rk, err := f.rekey(c.Nonce)
	if err != nil {
		return err
	}
	sealed, term := c.SealedKeyring, c.KeyringTerm
	if rk.Verify {
		if len(rk.PendingSealedKeyring) == 0 || len(sealed) > 0 {
			return fmt.Errorf("%w: a verified rekey commits its pending keyring once verified", ErrInvalidCommand)
		}
		sealed, term = rk.PendingSealedKeyring, rk.PendingKeyringTerm
	}
	in := f.st.init
	switch {
	case len(sealed) == 0 || term == 0:
		return fmt.Errorf("%w: rekey commit incomplete", ErrInvalidCommand)
	case term > keyringTerm(in):
		return ErrKeyringChanged
	}
	if in.ClusterId == "" {
		in.ClusterId = ClusterIdentity(in.SealedKeyring)
	}
	var kept [][]byte
	for _, u := range in.KeyringUpgrades {
		if t, _ := seal.UpgradeTerm(u); t > term {
			kept = append(kept, u)
		}
	}
	in.SealedKeyring, in.KeyringUpgrades = sealed, kept
	in.Shares, in.Threshold = rk.Shares, rk.Threshold
	in.Rekey = nil
	f.keyringChangedLocked()
	return nil
}

func (f *FSM) applyRotateKeyring(cmd *fsmpb.Command) error {
	var c fsmpb.RotateKeyring
	decodePayload(cmd, &c)
	in := f.st.init
	if in == nil {
		return ErrNotInitialized
	}
	if t, ok := seal.UpgradeTerm(c.Upgrade); !ok || t != c.Term {
		return fmt.Errorf("%w: upgrade record does not name term %d", ErrInvalidCommand, c.Term)
	}
	if c.Term != keyringTerm(in)+1 {
		return ErrKeyringChanged
	}
	in.KeyringUpgrades = append(in.KeyringUpgrades, c.Upgrade)
	in.KeyringTerm = c.Term
	f.keyringChangedLocked()
	return nil
}

// applyRotateReseal replaces each value that is still sealed under an
// older term than its replacement. The values it touches never change
// otherwise (key material and access key secrets are written once), so
// comparing terms is enough to keep a stale batch from undoing a newer one;
// a value gone (key or access key deleted) is skipped.
func (f *FSM) applyRotateReseal(cmd *fsmpb.Command) error {
	var c fsmpb.RotateReseal
	decodePayload(cmd, &c)
	in := f.st.init
	if in == nil {
		return ErrNotInitialized
	}
	newest := keyringTerm(in)
	for _, it := range c.Items {
		if nt, ok := seal.ValueTerm(it.Sealed); !ok || nt > newest {
			return fmt.Errorf("%w: re-sealed value under unknown term", ErrInvalidCommand)
		}
	}
	for _, it := range c.Items {
		nt, _ := seal.ValueTerm(it.Sealed)
		slot := f.sealedSlot(it)
		// An empty slot is imported key material deleted or expired since
		// the batch was built: re-sealing it would bring it back.
		if slot == nil || len(*slot) == 0 {
			continue
		}
		ot, ok := seal.ValueTerm(*slot)
		if ot >= nt {
			continue
		}
		*slot = it.Sealed
		if it.Kind == SealedAccessKey {
			// A key's values are reindexed with the key (keyToChange).
			e := sealedEntry{kind: SealedAccessKey, id: it.Id}
			if ok {
				f.st.index.removeSealed(ot, e)
			}
			f.st.index.addSealed(nt, e)
		}
	}
	return nil
}

// sealedSlot points at the sealed value an item replaces, or nil.
func (f *FSM) sealedSlot(it *fsmpb.RotateResealItem) *[]byte {
	switch it.Kind {
	case SealedKeyMaterial:
		if k, err := f.keyToChange(it.Id); err == nil {
			for _, m := range k.Material {
				if m.Version == it.Version {
					return &m.Sealed
				}
			}
		}
	case SealedAccessKey:
		if ak, ok := f.st.accessKeys[it.Id]; ok {
			return &ak.SealedSecret
		}
	case SealedPendingImport:
		keyID, materialID, _ := strings.Cut(it.Id, "/")
		if k, err := f.keyToChange(keyID); err == nil {
			if i := importIndex(k, materialID); i >= 0 && k.Imports[i].Version == 0 {
				return &k.Imports[i].SealedPending
			}
		}
	}
	return nil
}
