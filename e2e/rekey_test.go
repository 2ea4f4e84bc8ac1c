package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

type rekeyState struct {
	Started              bool     `json:"started"`
	Nonce                string   `json:"nonce"`
	Progress             int      `json:"progress"`
	Required             int      `json:"required"`
	NewShares            int      `json:"new_shares"`
	NewThreshold         int      `json:"new_threshold"`
	VerificationRequired bool     `json:"verification_required"`
	VerificationNonce    string   `json:"verification_nonce"`
	Complete             bool     `json:"complete"`
	Keys                 []string `json:"keys_base64"`
}

type keyringStatus struct {
	Sealed          bool   `json:"sealed"`
	Threshold       int    `json:"threshold"`
	Shares          int    `json:"shares"`
	LeaderID        string `json:"leader_id"`
	KeyringTerm     uint32 `json:"keyring_term"`
	ResealRemaining int    `json:"reseal_remaining"`
}

func keyringOf(t *testing.T, p *proc) (keyringStatus, error) {
	var st keyringStatus
	err := operator(t, p.api, &st, "status")
	return st, err
}

// TestRekeyAndRotateAcrossLeaderKill rekeys a 3/2 cluster to 5/3 with
// verification, killing the leader after the nonce and a share; restarts
// every node and checks that only the new shares unseal and old
// ciphertexts still decrypt; then rotates the keyring, kills the leader
// while it re-seals, and checks that the next leader finishes.
func TestRekeyAndRotateAcrossLeaderKill(t *testing.T) {
	// One value re-sealed per entry, 300 ms apart: the re-seal of the ~8
	// values below takes a few seconds, long enough to kill its leader.
	c := startUnsealedCluster(t, "-test-reseal-batch", "1", "-test-reseal-interval", "300ms")
	leader := c.waitLeader(15*time.Second, "")
	var keys []string
	for range 6 {
		keys = append(keys, createKey(t, c, leader))
	}
	ctx := ctx10(t)
	enc, err := kmsClient(leader.api, c.creds, 3).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keys[0]), Plaintext: []byte("before rekey")})
	if err != nil {
		t.Fatal(err)
	}
	decrypts := func(p *proc, what string) {
		t.Helper()
		out, err := kmsClient(p.api, c.creds, 3).Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		if err != nil || !bytes.Equal(out.Plaintext, []byte("before rekey")) {
			t.Fatalf("%s: old ciphertext through %s: %v", what, p.id, err)
		}
	}
	oldKeys := append([]string(nil), c.creds.Keys...)

	var newKeys []string
	t.Run("rekey", func(t *testing.T) {
		var st rekeyState
		if err := operator(t, leader.api, &st, "rekey", "-init", "-key-shares", "5", "-key-threshold", "3", "-verify"); err != nil {
			t.Fatal(err)
		}
		if !st.Started || st.Nonce == "" || st.Required != 2 || st.NewShares != 5 || st.NewThreshold != 3 {
			t.Fatalf("rekey init: %+v", st)
		}
		nonce := st.Nonce
		if err := operator(t, leader.api, &st, "rekey", "-nonce", nonce, oldKeys[0]); err != nil || st.Progress != 1 {
			t.Fatalf("first share: %+v %v", st, err)
		}
		// Unsigned, a share does nothing: the shares authorise only with a principal.
		if err := operatorAs(t, leader.api, initOutput{}, nil, "rekey", "-nonce", nonce, oldKeys[1]); err == nil {
			t.Fatal("an unsigned rekey share was accepted")
		}
		leader.kill()
		next := c.waitLeader(20*time.Second, leader.id)
		var again rekeyState
		if err := operator(t, next.api, &again, "rekey", "-status"); err != nil {
			t.Fatal(err)
		}
		if !again.Started || again.Nonce != nonce || again.Progress != 0 || !again.VerificationRequired {
			t.Fatalf("the new leader's rekey: %+v (want nonce %s, progress 0: shares stay with the old leader)", again, nonce)
		}
		follower := c.follower(leader)
		if follower == next {
			for _, p := range c.nodes {
				if p != leader && p != next {
					follower = p
				}
			}
		}
		// Holders submit again, through a follower, which forwards to the leader.
		if err := operator(t, follower.api, &st, "rekey", oldKeys[0]); err != nil || st.Progress != 1 {
			t.Fatalf("resubmitted share: %+v %v", st, err)
		}
		if err := operator(t, follower.api, &st, "rekey", oldKeys[1]); err != nil {
			t.Fatal(err)
		}
		if len(st.Keys) != 5 || st.VerificationNonce == "" || !st.VerificationRequired {
			t.Fatalf("threshold of current shares: %d keys, %+v", len(st.Keys), st)
		}
		newKeys = st.Keys
		// Not switched yet: the init record still says 3/2.
		if s, err := keyringOf(t, next); err != nil || s.Threshold != 2 {
			t.Fatalf("switched before verification: %+v %v", s, err)
		}
		if err := operator(t, next.api, &st, "rekey", "-verify", "-nonce", "wrong", newKeys[0]); err == nil {
			t.Fatal("verification under a wrong nonce accepted")
		}
		for i, k := range newKeys[:3] {
			if err := operator(t, next.api, &st, "rekey", "-verify", k); err != nil {
				t.Fatalf("verify share %d: %v", i+1, err)
			}
		}
		if !st.Complete {
			t.Fatalf("verification did not complete: %+v", st)
		}
		if err := operator(t, next.api, &st, "rekey", "-status"); err != nil || st.Started {
			t.Fatalf("rekey still in progress after it completed: %+v %v", st, err)
		}
		events := auditEvents(t, next.api, "event_name=OperatorRekeyCommit")
		if len(events) != 1 || strings.Contains(fmt.Sprint(events), newKeys[0]) || strings.Contains(fmt.Sprint(events), oldKeys[0]) {
			t.Fatalf("rekey commit events: %d (or a share in one)", len(events))
		}
	})
	if t.Failed() {
		return
	}
	c.creds.Keys, c.creds.Threshold, c.creds.Shares = newKeys, 3, 5

	t.Run("restart-unseal", func(t *testing.T) {
		for _, p := range c.nodes {
			if p != leader {
				p.kill()
			}
		}
		for _, p := range c.nodes {
			p.start(c.seeds())
		}
		c.waitUp(20 * time.Second)
		for _, p := range c.nodes {
			// Wait until p applied the switch (its init record says
			// threshold 3), then old shares must fail and new ones open it.
			waitFor(t, 30*time.Second, p.id+" to apply the rekey", func() (bool, error) {
				st, err := keyringOf(t, p)
				return err == nil && st.Threshold == 3, err
			})
			var failed bool
			for _, k := range oldKeys {
				if err := operator(t, p.api, nil, "unseal", k); err != nil {
					failed = true
					if !strings.Contains(err.Error(), "do not reconstruct") {
						t.Fatalf("%s: old shares refused for the wrong reason: %v", p.id, err)
					}
				}
			}
			if st, err := keyringOf(t, p); err != nil || !st.Sealed || !failed {
				t.Fatalf("%s: the old shares unsealed it: %+v %v", p.id, st, err)
			}
			c.unseal(p)
		}
		leader = c.waitLeader(20*time.Second, "")
		decrypts(leader, "after rekey and restart")
	})
	if t.Failed() {
		return
	}

	t.Run("rotate", func(t *testing.T) {
		var st keyringStatus
		if err := operator(t, leader.api, &st, "rotate"); err != nil {
			t.Fatal(err)
		}
		if st.KeyringTerm != 2 || st.ResealRemaining < 7 {
			t.Fatalf("rotate: %+v (want term 2, the 6 keys and the root secret to re-seal)", st)
		}
		total := st.ResealRemaining
		waitFor(t, 20*time.Second, "the re-seal to start", func() (bool, error) {
			st, err := keyringOf(t, leader)
			return err == nil && st.ResealRemaining < total, err
		})
		leader.kill()
		if st, err := keyringOf(t, c.follower(leader)); err != nil || st.ResealRemaining == 0 {
			t.Fatalf("the re-seal was over before its leader died: %+v %v", st, err)
		}
		next := c.waitLeader(20*time.Second, leader.id)
		waitFor(t, 30*time.Second, "the new leader to finish the re-seal", func() (bool, error) {
			st, err := keyringOf(t, next)
			return err == nil && st.KeyringTerm == 2 && st.ResealRemaining == 0, err
		})
		decrypts(next, "after rotation")
		// New material goes under the new term: nothing left to re-seal.
		fresh := createKey(t, c, next)
		if _, err := kmsClient(next.api, c.creds, 3).Encrypt(ctx10(t), &kms.EncryptInput{KeyId: aws.String(fresh), Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if st, err := keyringOf(t, next); err != nil || st.ResealRemaining != 0 || st.KeyringTerm != 2 {
			t.Fatalf("after a new key: %+v %v", st, err)
		}
		// The killed leader restarts with term 1 in its sealed keyring and
		// takes term 2 from the upgrade record: the root's secret (re-sealed
		// under term 2) checks its signatures.
		leader.start(c.seeds())
		leader.waitUp(15 * time.Second)
		c.unseal(leader)
		waitFor(t, 15*time.Second, leader.id+" to serve after the rotation", func() (bool, error) {
			cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := kmsClient(leader.api, c.creds, 1).Decrypt(cctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
			return err == nil, err
		})
	})
}
