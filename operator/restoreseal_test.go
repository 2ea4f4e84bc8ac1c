package operator

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// TestRestoreKeepsTheSealConfiguration: a backup replaces a live cluster's
// state only when it holds the same root-sealed keyring and keyring term
// and no rekey in progress.
func TestRestoreKeepsTheSealConfiguration(t *testing.T) {
	live := sealConfig{initialized: true, sealedKeyring: []byte("kr-after-rekey"), term: 3}
	for _, tc := range []struct {
		name   string
		backup sealConfig
		want   string // "" restores
	}{
		{"same", live, ""},
		{"uninitialised", sealConfig{}, "no init record"},
		{"before a rekey", sealConfig{initialized: true, sealedKeyring: []byte("kr-before"), term: 3}, "predates a rekey"},
		{"during a rekey", sealConfig{initialized: true, sealedKeyring: live.sealedKeyring, term: 3, rekeyPending: true}, "during a rekey"},
		{"before a rotation", sealConfig{initialized: true, sealedKeyring: live.sealedKeyring, term: 2}, "keyring term is 2 and this cluster's is 3"},
		{"after a rotation", sealConfig{initialized: true, sealedKeyring: live.sealedKeyring, term: 4}, "keyring term is 4"},
	} {
		err := live.restorableOver(tc.backup)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// TestSealChangesWaitForARestore: while a restore runs (it holds the lock
// between its seal check and raft's restore), a rekey or rotate step is
// refused before anything is proposed.
func TestSealChangesWaitForARestore(t *testing.T) {
	a := &API{}
	a.restoring.Lock()
	err := a.proposeOperator(t.Context(), nil, "", "OperatorRotate", nil, fsm.CmdRotateKeyring, &fsmpb.RotateKeyring{Term: 2})
	if !errors.Is(err, errRestoreRunningNow) {
		t.Fatalf("rotate during a restore: %v", err)
	}
}
