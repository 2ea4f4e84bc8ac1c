package e2e

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestCiphertextSurvivesFailoverAndRotation: a ciphertext made before a leader
// failover and before on-demand and scheduled rotations still decrypts after
// all of them, on every node, including the restarted one. Days last 50 ms
// here (-test-day-length), so a 90-day rotation period is 4.5 s and a 7-day
// deletion window 350 ms; the leader's housekeeping proposes both.
func TestCiphertextSurvivesFailoverAndRotation(t *testing.T) {
	c := startUnsealedCluster(t, "-test-day-length", "50ms")
	s := newSpread(c)
	key, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.KeyId
	ec := map[string]string{"case": "failover"}
	before, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: id, Plaintext: []byte("made before"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.next().EnableKeyRotation(ctx10(t), &kms.EnableKeyRotationInput{KeyId: id, RotationPeriodInDays: aws.Int32(90)}); err != nil {
		t.Fatal(err)
	}

	leader := c.waitLeader(10*time.Second, "")
	leader.kill()
	newLeader := c.waitLeader(10*time.Second, leader.id)
	t.Logf("killed %s, %s leads", leader.id, newLeader.id)
	survivor := kmsClient(newLeader.api, c.creds, 5)

	if _, err := survivor.RotateKeyOnDemand(ctx10(t), &kms.RotateKeyOnDemandInput{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "a scheduled rotation by the new leader", func() (bool, error) {
		out, err := survivor.ListKeyRotations(ctx10(t), &kms.ListKeyRotationsInput{KeyId: id})
		if err != nil {
			return false, err
		}
		for _, r := range out.Rotations {
			if r.RotationType == types.RotationTypeAutomatic {
				return true, nil
			}
		}
		return false, nil
	})

	decryptVia := func(p *proc) {
		t.Helper()
		dec, err := kmsClient(p.api, c.creds, 5).Decrypt(ctxTimeout(t, 20*time.Second), &kms.DecryptInput{CiphertextBlob: before.CiphertextBlob, EncryptionContext: ec})
		if err != nil || string(dec.Plaintext) != "made before" {
			t.Fatalf("old ciphertext via %s: %v", p.id, err)
		}
	}
	for _, p := range c.nodes {
		if p != leader {
			decryptVia(p)
		}
	}
	leader.start([]string{newLeader.gossip})
	c.unseal(leader)
	decryptVia(leader)

	// Deletion: the new leader deletes a key once its window ends, aliases included.
	doomed, err := survivor.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := survivor.CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String("alias/doomed"), TargetKeyId: doomed.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := survivor.ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: doomed.KeyMetadata.KeyId, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the key to be deleted when its window ends", func() (bool, error) {
		_, err := survivor.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: doomed.KeyMetadata.KeyId})
		return apiCode(err) == "NotFoundException", err
	})
	_, err = survivor.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/doomed")})
	wantCode(t, "alias of a deleted key", err, "NotFoundException")

	// Full-cluster restart: sealed servers still vote and replicate, so a
	// leader is elected before anyone unseals; only crypto waits.
	for _, p := range c.nodes {
		p.kill()
	}
	for _, p := range c.nodes {
		p.start(c.seeds())
	}
	// Any node: who leads a sealed cluster is for principals to see, and
	// none can be checked while every node is sealed.
	sealedLeader := c.nodes[0]
	waitFor(t, 20*time.Second, "a node to replay the init after a full restart", func() (bool, error) {
		st, err := status(t, sealedLeader.api)
		return err == nil && st.Initialized, err
	})
	st, err := status(t, sealedLeader.api)
	if err != nil || !st.Sealed || !st.Initialized {
		t.Fatalf("after a full restart, before unseal: %+v %v", st, err)
	}
	_, err = kmsClient(sealedLeader.api, c.creds, 1).Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: before.CiphertextBlob, EncryptionContext: ec})
	wantCode(t, "decrypt on a sealed cluster", err, "ServiceUnavailableException")
	c.unsealEach()
	for _, p := range c.nodes {
		decryptVia(p)
	}
}
