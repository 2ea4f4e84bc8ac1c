package operator

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/kms"
)

// Rotate, as Vault's `operator rotate`: a new keyring term, under which
// every value sealed from then on is sealed. The new term's key travels
// in the init record sealed under the term before (seal.Keyring.NewUpgrade),
// so each unsealed node adds it to its open keyring as the command applies
// (fsm.SetKeyringObserver), and no root key is needed. Values sealed under
// older terms stay readable; the leader re-seals them to the newest term in
// the background (Reseal), in bounded batches through Raft.

// KeyStatus is the keyring part of status: the newest term and how many
// sealed values the re-seal still has to move to it.
type KeyStatus struct {
	Term            uint32 `json:"keyring_term"`
	ResealRemaining int    `json:"reseal_remaining"`
}

// KeyStatus reports the keyring term and the re-seal's progress, derived
// from the replicated state.
func (a *API) KeyStatus() KeyStatus {
	in, _ := a.State.Init()
	_, remaining := a.State.StaleSealed(0)
	return KeyStatus{Term: in.KeyringTerm, ResealRemaining: remaining}
}

func (a *API) handleRotate(w http.ResponseWriter, r *http.Request, from gateway.Origin, body []byte) {
	akid, refused := a.checkOperator(r, from, body, ActionRotateKeyring, a.clusterARN())
	if a.unauthenticated(r, akid, refused) {
		writeErr(w, refused.status, refused.msg)
		return
	}
	if refused != nil {
		_ = a.recordOperatorEvent(r.Context(), r, akid, "OperatorRotate", nil, refused)
		writeErr(w, refused.status, refused.msg)
		return
	}
	kr, err := a.Barrier.Keyring()
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "rotate: this node is sealed")
		return
	}
	in, _ := a.State.Init()
	if kr.Term() != in.KeyringTerm {
		writeErr(w, http.StatusServiceUnavailable, fmt.Sprintf("rotate: this leader's keyring (term %d) has not caught up with the cluster's (term %d); retry", kr.Term(), in.KeyringTerm))
		return
	}
	term, rec, err := kr.NewUpgrade(cryptorand.Reader)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "rotate: "+err.Error())
		return
	}
	err = a.proposeOperator(r.Context(), r, akid, "OperatorRotate", map[string]any{"term": term}, fsm.CmdRotateKeyring, &fsmpb.RotateKeyring{Term: term, Upgrade: rec})
	switch {
	case errors.Is(err, fsm.ErrKeyringChanged):
		writeErr(w, http.StatusConflict, "rotate: another rotation committed meanwhile; the keyring is at a newer term already")
		return
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, "rotate: could not commit; retry: "+err.Error())
		return
	}
	a.Log.Info("keyring rotated", "term", term)
	select {
	case a.reseal <- struct{}{}:
	default:
	}
	writeJSON(w, http.StatusOK, a.KeyStatus())
}

// RunReseal re-seals, while this node leads and is unsealed, every value
// still under an older keyring term: batch values a Raft entry, one entry
// every interval, so the background work stays bounded. It needs no
// progress of its own: what is left is what the state still holds under
// old terms, so a new leader picks up where the last one stopped. It also
// drops the rekey shares of a node that no longer leads. It returns when
// stop closes.
func (a *API) RunReseal(stop <-chan struct{}, batch int, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-a.reseal:
		}
		if !a.Node.IsLeader() {
			a.DropRekeyShares()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.resealBatch(ctx, batch); err != nil {
			a.Log.Warn("keyring re-seal", "error", err)
		}
		cancel()
	}
}

// resealBatch re-seals up to n values under the newest term.
func (a *API) resealBatch(ctx context.Context, n int) error {
	kr, err := a.Barrier.Keyring()
	if err != nil {
		return nil // a sealed leader hands off soon
	}
	in, ok := a.State.Init()
	if !ok {
		return nil
	}
	refs, total := a.State.StaleSealed(n)
	if total == 0 || kr.Term() != in.KeyringTerm {
		return nil
	}
	var items []*fsmpb.RotateResealItem
	for _, ref := range refs {
		path := iam.SecretPath(ref.ID)
		switch ref.Kind {
		case fsm.SealedKeyMaterial:
			path = kms.MaterialPath(ref.ID, ref.Version)
		case fsm.SealedPendingImport:
			keyID, materialID, _ := strings.Cut(ref.ID, "/")
			path = kms.PendingMaterialPath(keyID, materialID)
		}
		pt, err := kr.Open(path, ref.Sealed)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		sealed, err := kr.Seal(path, pt, cryptorand.Reader)
		clear(pt)
		if err != nil {
			return err
		}
		items = append(items, &fsmpb.RotateResealItem{Kind: ref.Kind, Id: ref.ID, Version: ref.Version, Sealed: sealed})
	}
	cmd, err := fsm.NewCommand(fsm.CmdRotateReseal, &fsmpb.RotateReseal{Items: items}, a.Now())
	if err != nil {
		return err
	}
	if _, err := a.Node.Apply(ctx, cmd); err != nil {
		return err
	}
	if len(items) == total {
		a.Log.Info("keyring re-seal complete", "term", in.KeyringTerm)
	}
	return nil
}
