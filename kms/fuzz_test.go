package kms

import (
	"bytes"
	"testing"
)

// FuzzRequestDecoder feeds arbitrary bodies to every operation: nothing may
// panic, every refusal is an AWS error with a 4xx/5xx status, and a refused
// request leaves the replicated state exactly as it was. The service holds a
// key with a known id, and the alias alias/fuzz, so that bodies naming them
// reach the state changes, not only the validation.
func FuzzRequestDecoder(f *testing.F) {
	seeds := []string{
		`{}`, ``, `null`, `[]`, `{"KeyId":"x"}`, `{"Plaintext":"aGVsbG8="}`,
		`{"KeyId":"alias/a","Plaintext":"aGVsbG8=","EncryptionContext":{"k":"v"}}`,
		`{"CiphertextBlob":"SwEkM2Q0NTJkODA=","KeyId":"arn:aws:kms:us-east-1:111122223333:key/k"}`,
		`{"KeyId":"k","NumberOfBytes":1024}`, `{"KeyId":"k","KeySpec":"AES_128"}`,
		`{"Limit":1,"Marker":"z"}`, `{"Description":"d","Tags":[{"TagKey":"a","TagValue":"b"}]}`,
		`{"EncryptionContext":{"":""}}`, `{"GrantTokens":[""]}`, `{"Limit":-1}`, `{"KeyId":"arn:aws:kms:::"}`,
	}
	const k = `"` + fixedKeyID + `"`
	lifecycle := []string{
		`{"KeyId":` + k + `,"Description":"renamed"}`, `{"KeyId":` + k + `}`, `{"KeyId":` + k + `}`,
		`{"KeyId":` + k + `,"PendingWindowInDays":7}`, `{"KeyId":` + k + `}`,
		`{"AliasName":"alias/fuzz-2","TargetKeyId":` + k + `}`, `{"AliasName":"alias/fuzz","TargetKeyId":` + k + `}`,
		`{"AliasName":"alias/fuzz-2"}`, `{"KeyId":` + k + `,"Limit":1,"Marker":"alias/a"}`,
		`{"KeyId":` + k + `,"Tags":[{"TagKey":"a","TagValue":"b"}]}`, `{"KeyId":` + k + `,"TagKeys":["a"]}`,
		`{"KeyId":` + k + `,"Limit":50}`, `{"KeyId":` + k + `,"RotationPeriodInDays":90}`, `{"KeyId":` + k + `}`,
		`{"KeyId":` + k + `}`, `{"KeyId":` + k + `}`, `{"KeyId":` + k + `,"IncludeKeyMaterial":"ALL_KEY_MATERIAL","Marker":"1"}`,
	}
	// Each lifecycle seed goes to its own operation (index 6 + i).
	for i, s := range lifecycle {
		f.Add(uint8(6+i), []byte(s))
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	// Policies and grants (operations 23 on).
	access := []string{
		`{"KeyId":` + k + `,"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"}`,
		`{"KeyId":` + k + `,"PolicyName":"default"}`, `{"KeyId":` + k + `,"Limit":1}`,
		`{"KeyId":` + k + `,"GranteePrincipal":"arn:aws:iam::111122223333:user/a","Operations":["Decrypt"],"Constraints":{"EncryptionContextEquals":{"a":"b"}},"Name":"n"}`,
		`{"KeyId":` + k + `,"GranteePrincipal":"arn:aws:iam::111122223333:user/a"}`,
		`{"RetiringPrincipal":"arn:aws:iam::111122223333:user/a","Limit":2}`,
		`{"GrantToken":"a3IxLjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAuMDA"}`,
		`{"KeyId":` + k + `,"GrantId":"0000000000000000000000000000000000000000000000000000000000000000"}`,
	}
	for i, s := range access {
		f.Add(uint8(23+i), []byte(s))
	}
	ts := newTestService(f)
	ts.createKeyWithID(f, fixedKeyID)
	if _, e := ts.call(f, "CreateAlias", map[string]any{"AliasName": "alias/fuzz", "TargetKeyId": fixedKeyID}); e != nil {
		f.Fatal(e)
	}
	// New operations go at the end: a seed's index must keep naming its operation.
	ops := []string{"CreateKey", "DescribeKey", "ListKeys", "Encrypt", "Decrypt", "GenerateDataKey",
		"UpdateKeyDescription", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
		"CreateAlias", "UpdateAlias", "DeleteAlias", "ListAliases",
		"TagResource", "UntagResource", "ListResourceTags",
		"EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations",
		"PutKeyPolicy", "GetKeyPolicy", "ListKeyPolicies",
		"CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant"}
	// Operations AWS answers with an empty body.
	noOutput := map[string]bool{"UpdateKeyDescription": true, "EnableKey": true, "DisableKey": true,
		"CreateAlias": true, "UpdateAlias": true, "DeleteAlias": true, "TagResource": true, "UntagResource": true,
		"EnableKeyRotation": true, "DisableKeyRotation": true, "PutKeyPolicy": true, "RetireGrant": true, "RevokeGrant": true}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := ops[int(op)%len(ops)]
		before := ts.snapshot(t)
		res, e := ts.Handle(t.Context(), testRoot, name, body)
		if e != nil {
			if e.Type == "" || e.Status < 400 {
				t.Fatalf("%s: malformed error %+v", name, e)
			}
			if !bytes.Equal(before, ts.snapshot(t)) {
				t.Fatalf("%s refused with %s but changed the state", name, e.Type)
			}
			return
		}
		if (res == nil) != noOutput[name] {
			t.Fatalf("%s: result %v", name, res)
		}
	})
}
