package e2e

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// TestKMSAPI runs every supported operation, its happy path and its
// documented errors, through the real SDK against a three-node cluster.
func TestKMSAPI(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)

	newKey := func(t *testing.T, desc string) *types.KeyMetadata {
		t.Helper()
		out, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{Description: aws.String(desc),
			Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("core")}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.KeyMetadata
	}

	t.Run("KeysAndLifecycle", func(t *testing.T) {
		k := newKey(t, "lifecycle")
		if k.KeyState != types.KeyStateEnabled || !k.Enabled || k.KeySpec != types.KeySpecSymmetricDefault ||
			k.KeyUsage != types.KeyUsageTypeEncryptDecrypt || *k.AWSAccountId != "111122223333" ||
			*k.Arn != "arn:aws:kms:us-east-1:111122223333:key/"+*k.KeyId || k.CreationDate == nil {
			t.Fatalf("CreateKey metadata: %+v", k)
		}
		for _, ref := range []string{*k.KeyId, *k.Arn} {
			d, err := s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String(ref)})
			if err != nil || *d.KeyMetadata.KeyId != *k.KeyId || *d.KeyMetadata.Description != "lifecycle" {
				t.Fatalf("DescribeKey %s: %v %+v", ref, err, d)
			}
		}
		_, err := s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String("00000000-0000-0000-0000-000000000000")})
		wantCode(t, "DescribeKey unknown", err, "NotFoundException")

		if _, err := s.next().UpdateKeyDescription(ctx10(t), &kms.UpdateKeyDescriptionInput{KeyId: k.KeyId, Description: aws.String("renamed")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.next().DisableKey(ctx10(t), &kms.DisableKeyInput{KeyId: k.KeyId}); err != nil {
			t.Fatal(err)
		}
		d, _ := s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: k.KeyId})
		if d.KeyMetadata.KeyState != types.KeyStateDisabled || d.KeyMetadata.Enabled || *d.KeyMetadata.Description != "renamed" {
			t.Fatalf("after disable: %+v", d.KeyMetadata)
		}
		_, err = s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
		wantCode(t, "Encrypt with a disabled key", err, "DisabledException")
		_, err = s.next().EnableKeyRotation(ctx10(t), &kms.EnableKeyRotationInput{KeyId: k.KeyId})
		wantCode(t, "EnableKeyRotation on a disabled key", err, "DisabledException")
		if _, err := s.next().EnableKey(ctx10(t), &kms.EnableKeyInput{KeyId: k.KeyId}); err != nil {
			t.Fatal(err)
		}

		sched, err := s.next().ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(7)})
		if err != nil || sched.KeyState != types.KeyStatePendingDeletion || *sched.PendingWindowInDays != 7 || sched.DeletionDate == nil {
			t.Fatalf("ScheduleKeyDeletion: %v %+v", err, sched)
		}
		if days := time.Until(*sched.DeletionDate).Hours() / 24; days < 6.9 || days > 7.1 {
			t.Fatalf("DeletionDate is %.2f days away", days)
		}
		_, err = s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte("x")})
		wantCode(t, "Encrypt pending deletion", err, "KMSInvalidStateException")
		_, err = s.next().EnableKey(ctx10(t), &kms.EnableKeyInput{KeyId: k.KeyId})
		wantCode(t, "EnableKey pending deletion", err, "KMSInvalidStateException")
		_, err = s.next().ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId})
		wantCode(t, "ScheduleKeyDeletion twice", err, "KMSInvalidStateException")
		_, err = s.next().ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: k.KeyId, PendingWindowInDays: aws.Int32(6)})
		wantCode(t, "ScheduleKeyDeletion window 6", err, "ValidationException")
		if _, err := s.next().CancelKeyDeletion(ctx10(t), &kms.CancelKeyDeletionInput{KeyId: k.KeyId}); err != nil {
			t.Fatal(err)
		}
		d, _ = s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: k.KeyId})
		if d.KeyMetadata.KeyState != types.KeyStateDisabled || d.KeyMetadata.DeletionDate != nil {
			t.Fatalf("after cancel: %+v", d.KeyMetadata)
		}
		_, err = s.next().CancelKeyDeletion(ctx10(t), &kms.CancelKeyDeletionInput{KeyId: k.KeyId})
		wantCode(t, "CancelKeyDeletion of a key not pending deletion", err, "KMSInvalidStateException")
	})

	t.Run("ListKeysPaging", func(t *testing.T) {
		for i := range 3 {
			newKey(t, fmt.Sprint("page-", i))
		}
		seen := map[string]bool{}
		var marker *string
		for pages := 0; ; pages++ {
			out, err := s.next().ListKeys(ctx10(t), &kms.ListKeysInput{Limit: aws.Int32(2), Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Keys) > 2 {
				t.Fatalf("page of %d keys with Limit 2", len(out.Keys))
			}
			for _, k := range out.Keys {
				if seen[*k.KeyId] {
					t.Fatalf("key %s listed twice", *k.KeyId)
				}
				seen[*k.KeyId] = true
			}
			if !out.Truncated {
				break
			}
			marker = out.NextMarker
		}
		all, _ := s.next().ListKeys(ctx10(t), &kms.ListKeysInput{})
		if len(seen) != len(all.Keys) || len(seen) < 3 {
			t.Fatalf("paged %d keys, unpaged %d", len(seen), len(all.Keys))
		}
		_, err := s.next().ListKeys(ctx10(t), &kms.ListKeysInput{Limit: aws.Int32(1001)})
		wantCode(t, "ListKeys Limit 1001", err, "ValidationException")
	})

	t.Run("Crypto", func(t *testing.T) {
		k := newKey(t, "crypto")
		other := newKey(t, "other")
		ec := map[string]string{"tenant": "a", "Purpose": "Test"}
		enc, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: k.Arn, Plaintext: []byte("payload"), EncryptionContext: ec})
		if err != nil || *enc.KeyId != *k.Arn || enc.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
			t.Fatalf("Encrypt: %v %+v", err, enc)
		}
		dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
		if err != nil || string(dec.Plaintext) != "payload" || *dec.KeyId != *k.Arn {
			t.Fatalf("Decrypt: %v %+v", err, dec)
		}
		_, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"tenant": "a", "purpose": "Test"}})
		wantCode(t, "Decrypt with a context differing in case", err, "InvalidCiphertextException")
		_, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec, KeyId: other.KeyId})
		wantCode(t, "Decrypt naming another key", err, "IncorrectKeyException")
		tampered := bytes.Clone(enc.CiphertextBlob)
		tampered[len(tampered)-1] ^= 1
		_, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: tampered, EncryptionContext: ec})
		wantCode(t, "Decrypt of a tampered blob", err, "InvalidCiphertextException")
		_, err = s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: k.KeyId, Plaintext: make([]byte, 4097)})
		wantCode(t, "Encrypt of 4097 bytes", err, "ValidationException")

		re, err := s.next().ReEncrypt(ctx10(t), &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec,
			DestinationKeyId: other.KeyId, DestinationEncryptionContext: map[string]string{"moved": "yes"}})
		if err != nil || *re.SourceKeyId != *k.Arn || *re.KeyId != *other.Arn {
			t.Fatalf("ReEncrypt: %v %+v", err, re)
		}
		dec, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: map[string]string{"moved": "yes"}})
		if err != nil || string(dec.Plaintext) != "payload" || *dec.KeyId != *other.Arn {
			t.Fatalf("Decrypt after ReEncrypt: %v", err)
		}

		for _, in := range []*kms.GenerateDataKeyInput{
			{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256},
			{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes128, EncryptionContext: ec},
			{KeyId: k.KeyId, NumberOfBytes: aws.Int32(1024)},
		} {
			dk, err := s.next().GenerateDataKey(ctx10(t), in)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: in.EncryptionContext})
			if err != nil || !bytes.Equal(dec.Plaintext, dk.Plaintext) {
				t.Fatalf("data key %v does not decrypt to its plaintext: %v", in.KeySpec, err)
			}
		}
		_, err = s.next().GenerateDataKey(ctx10(t), &kms.GenerateDataKeyInput{KeyId: k.KeyId, NumberOfBytes: aws.Int32(1025)})
		wantCode(t, "GenerateDataKey 1025 bytes", err, "ValidationException")
		wo, err := s.next().GenerateDataKeyWithoutPlaintext(ctx10(t), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: k.KeyId, KeySpec: types.DataKeySpecAes256})
		if err != nil || len(wo.CiphertextBlob) == 0 {
			t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
		}
		if dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: wo.CiphertextBlob}); err != nil || len(dec.Plaintext) != 32 {
			t.Fatalf("decrypt of a data key made without plaintext: %v", err)
		}
		r, err := s.next().GenerateRandom(ctx10(t), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1024)})
		if err != nil || len(r.Plaintext) != 1024 {
			t.Fatalf("GenerateRandom: %v", err)
		}
		_, err = s.next().GenerateRandom(ctx10(t), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1025)})
		wantCode(t, "GenerateRandom 1025", err, "ValidationException")
	})

	t.Run("Aliases", func(t *testing.T) {
		a, b := newKey(t, "alias-a"), newKey(t, "alias-b")
		if _, err := s.next().CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: a.KeyId}); err != nil {
			t.Fatal(err)
		}
		_, err := s.next().CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: b.KeyId})
		wantCode(t, "CreateAlias twice", err, "AlreadyExistsException")
		_, err = s.next().CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String("alias/aws/mine"), TargetKeyId: a.KeyId})
		wantCode(t, "CreateAlias alias/aws/", err, "InvalidAliasNameException")
		_, err = s.next().CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String("alias/bad name"), TargetKeyId: a.KeyId})
		wantCode(t, "CreateAlias with a space", err, "ValidationException")

		aliasARN := "arn:aws:kms:us-east-1:111122223333:alias/app"
		for _, ref := range []string{"alias/app", aliasARN} {
			enc, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: aws.String(ref), Plaintext: []byte("via alias")})
			if err != nil || *enc.KeyId != *a.Arn {
				t.Fatalf("Encrypt by %s: %v", ref, err)
			}
			d, err := s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String(ref)})
			if err != nil || *d.KeyMetadata.KeyId != *a.KeyId {
				t.Fatalf("DescribeKey by %s: %v", ref, err)
			}
		}
		enc, _ := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: []byte("before update")})
		if _, err := s.next().UpdateAlias(ctx10(t), &kms.UpdateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: b.KeyId}); err != nil {
			t.Fatal(err)
		}
		if d, _ := s.next().DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/app")}); *d.KeyMetadata.KeyId != *b.KeyId {
			t.Fatal("UpdateAlias did not move the alias")
		}
		_, err = s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: aws.String("alias/app")})
		wantCode(t, "Decrypt naming an alias that now points elsewhere", err, "IncorrectKeyException")

		list, err := s.next().ListAliases(ctx10(t), &kms.ListAliasesInput{KeyId: b.KeyId})
		if err != nil || len(list.Aliases) != 1 || *list.Aliases[0].AliasName != "alias/app" || *list.Aliases[0].AliasArn != aliasARN {
			t.Fatalf("ListAliases by key: %v %+v", err, list)
		}
		if _, err := s.next().DeleteAlias(ctx10(t), &kms.DeleteAliasInput{AliasName: aws.String("alias/app")}); err != nil {
			t.Fatal(err)
		}
		_, err = s.next().DeleteAlias(ctx10(t), &kms.DeleteAliasInput{AliasName: aws.String("alias/app")})
		wantCode(t, "DeleteAlias twice", err, "NotFoundException")
		_, err = s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: aws.String("alias/app"), Plaintext: []byte("x")})
		wantCode(t, "Encrypt by a deleted alias", err, "NotFoundException")
	})

	t.Run("Tags", func(t *testing.T) {
		k := newKey(t, "tags")
		if _, err := s.next().TagResource(ctx10(t), &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{
			{TagKey: aws.String("env"), TagValue: aws.String("prod")}, {TagKey: aws.String("team"), TagValue: aws.String("payments")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.next().UntagResource(ctx10(t), &kms.UntagResourceInput{KeyId: k.KeyId, TagKeys: []string{"env"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := s.next().ListResourceTags(ctx10(t), &kms.ListResourceTagsInput{KeyId: k.KeyId})
		if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].TagKey != "team" || *tags.Tags[0].TagValue != "payments" {
			t.Fatalf("ListResourceTags: %v %+v", err, tags)
		}
		_, err = s.next().TagResource(ctx10(t), &kms.TagResourceInput{KeyId: k.KeyId, Tags: []types.Tag{{TagKey: aws.String("aws:reserved"), TagValue: aws.String("x")}}})
		wantCode(t, "TagResource aws: prefix", err, "TagException")
		var many []types.Tag
		for i := range 50 {
			many = append(many, types.Tag{TagKey: aws.String(fmt.Sprint("k", i)), TagValue: aws.String("v")})
		}
		_, err = s.next().TagResource(ctx10(t), &kms.TagResourceInput{KeyId: k.KeyId, Tags: many})
		wantCode(t, "TagResource past 50 tags", err, "TagException")
	})

	t.Run("Rotation", func(t *testing.T) {
		k := newKey(t, "rotation")
		st, err := s.next().GetKeyRotationStatus(ctx10(t), &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
		if err != nil || st.KeyRotationEnabled {
			t.Fatalf("GetKeyRotationStatus of a new key: %v %+v", err, st)
		}
		_, err = s.next().EnableKeyRotation(ctx10(t), &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(89)})
		wantCode(t, "EnableKeyRotation 89 days", err, "ValidationException")
		if _, err := s.next().EnableKeyRotation(ctx10(t), &kms.EnableKeyRotationInput{KeyId: k.KeyId, RotationPeriodInDays: aws.Int32(90)}); err != nil {
			t.Fatal(err)
		}
		st, err = s.next().GetKeyRotationStatus(ctx10(t), &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
		if err != nil || !st.KeyRotationEnabled || *st.RotationPeriodInDays != 90 || st.NextRotationDate == nil {
			t.Fatalf("GetKeyRotationStatus: %v %+v", err, st)
		}
		if days := time.Until(*st.NextRotationDate).Hours() / 24; days < 89.9 || days > 90.1 {
			t.Fatalf("NextRotationDate is %.2f days away", days)
		}
		var blobs [][]byte
		for i := range 3 {
			enc, err := s.next().Encrypt(ctx10(t), &kms.EncryptInput{KeyId: k.KeyId, Plaintext: []byte(fmt.Sprint("gen-", i))})
			if err != nil {
				t.Fatal(err)
			}
			blobs = append(blobs, enc.CiphertextBlob)
			if i < 2 {
				if _, err := s.next().RotateKeyOnDemand(ctx10(t), &kms.RotateKeyOnDemandInput{KeyId: k.KeyId}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, b := range blobs {
			dec, err := s.next().Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: b})
			if err != nil || string(dec.Plaintext) != fmt.Sprint("gen-", i) {
				t.Fatalf("ciphertext of generation %d after rotations: %v", i, err)
			}
		}
		rot, err := s.next().ListKeyRotations(ctx10(t), &kms.ListKeyRotationsInput{KeyId: k.KeyId})
		if err != nil || len(rot.Rotations) != 2 || rot.Rotations[0].RotationType != types.RotationTypeOnDemand {
			t.Fatalf("ListKeyRotations: %v %+v", err, rot)
		}
		if _, err := s.next().DisableKeyRotation(ctx10(t), &kms.DisableKeyRotationInput{KeyId: k.KeyId}); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.next().GetKeyRotationStatus(ctx10(t), &kms.GetKeyRotationStatusInput{KeyId: k.KeyId}); st.KeyRotationEnabled {
			t.Fatal("rotation still enabled")
		}
	})

	t.Run("KeyLastUsage", func(t *testing.T) { testKeyLastUsage(t, c, newKey) })
	t.Run("ModelOperations", func(t *testing.T) { testModelOperations(t, c) })

	t.Run("ProtocolErrors", func(t *testing.T) { testProtocolErrors(t, c) })
}
