package policy

import "testing"

// The KMS condition keys of the key and the request: kms:KeySpec,
// kms:KeyUsage, kms:KeyOrigin, kms:SigningAlgorithm, kms:MessageType,
// kms:MacAlgorithm, kms:EncryptionAlgorithm.

func withKMS(r Request, f func(*Request)) Request { f(&r); return r }

var (
	signPSS = doc(withCond(alice, `"kms:Sign"`, `{"StringEquals":{"kms:SigningAlgorithm":"RSASSA_PSS_SHA_256"}}`))
	signReq = func(alg, mt string) Request {
		return withKMS(req(alice, "kms:Sign", nil), func(r *Request) {
			r.KeySpec, r.KeyUsage, r.KeyOrigin = "RSA_2048", "SIGN_VERIFY", "AWS_KMS"
			r.Signing, r.MessageType = alg, mt
		})
	}
)

func validToCond(op, v string) string {
	return doc(withCond(alice, `"kms:ImportKeyMaterial"`, `{"`+op+`":{"kms:ValidTo":"`+v+`"}}`))
}

func importReq(validTo string) Request {
	return withKMS(req(alice, "kms:ImportKeyMaterial", nil), func(r *Request) { r.ValidTo = validTo })
}

var kmsKeyCases = []policyCase{
	{name: "kms/SigningAlgorithm allowed", key: signPSS, req: signReq("RSASSA_PSS_SHA_256", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/SigningAlgorithm other", key: signPSS, req: signReq("RSASSA_PKCS1_V1_5_SHA_256", "RAW"), basis: ImplicitDeny},
	{name: "kms/SigningAlgorithm absent", key: signPSS, req: req(alice, "kms:Sign", nil), basis: ImplicitDeny},
	{name: "kms/SigningAlgorithm values case-sensitive", key: signPSS, req: signReq("rsassa_pss_sha_256", "RAW"), basis: ImplicitDeny},
	{name: "kms/SigningAlgorithm StringLike", key: doc(withCond(alice, `"kms:Sign"`, `{"StringLike":{"kms:SigningAlgorithm":"RSASSA_PSS_*"}}`)), req: signReq("RSASSA_PSS_SHA_512", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/MessageType deny DIGEST", key: doc(allowTo(alice, `"kms:*"`), `{"Effect":"Deny","Principal":"*","Action":"kms:Sign","Resource":"*","Condition":{"StringEquals":{"kms:MessageType":"DIGEST"}}}`), req: signReq("ECDSA_SHA_256", "DIGEST"), basis: ExplicitDeny},
	{name: "kms/MessageType RAW passes deny", key: doc(allowTo(alice, `"kms:*"`), `{"Effect":"Deny","Principal":"*","Action":"kms:Sign","Resource":"*","Condition":{"StringEquals":{"kms:MessageType":"DIGEST"}}}`), req: signReq("ECDSA_SHA_256", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/KeySpec", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:KeySpec":"RSA_2048"}}`)), req: signReq("RSASSA_PSS_SHA_256", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/KeySpec other", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:KeySpec":"ECC_NIST_P256"}}`)), req: signReq("RSASSA_PSS_SHA_256", "RAW"), basis: ImplicitDeny},
	{name: "kms/KeyUsage", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:KeyUsage":"SIGN_VERIFY"}}`)), req: signReq("RSASSA_PSS_SHA_256", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/KeyUsage other", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:KeyUsage":"ENCRYPT_DECRYPT"}}`)), req: signReq("RSASSA_PSS_SHA_256", "RAW"), basis: ImplicitDeny},
	{name: "kms/KeyOrigin", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"KMS:KEYORIGIN":"AWS_KMS"}}`)), req: signReq("RSASSA_PSS_SHA_256", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/KeyOrigin EXTERNAL only", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:KeyOrigin":"EXTERNAL"}}`)), req: signReq("RSASSA_PSS_SHA_256", "RAW"), basis: ImplicitDeny},
	{name: "kms/MacAlgorithm", key: doc(withCond(alice, `"kms:GenerateMac"`, `{"StringEquals":{"kms:MacAlgorithm":["HMAC_SHA_384","HMAC_SHA_512"]}}`)), req: withKMS(req(alice, "kms:GenerateMac", nil), func(r *Request) { r.Mac = "HMAC_SHA_512" }), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/MacAlgorithm other", key: doc(withCond(alice, `"kms:GenerateMac"`, `{"StringEquals":{"kms:MacAlgorithm":["HMAC_SHA_384","HMAC_SHA_512"]}}`)), req: withKMS(req(alice, "kms:GenerateMac", nil), func(r *Request) { r.Mac = "HMAC_SHA_256" }), basis: ImplicitDeny},
	{name: "kms/EncryptionAlgorithm", key: doc(withCond(alice, `"kms:Encrypt"`, `{"StringEquals":{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}`)), req: withKMS(req(alice, "kms:Encrypt", nil), func(r *Request) { r.Encryption = "SYMMETRIC_DEFAULT" }), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/EncryptionAlgorithm other", key: doc(withCond(alice, `"kms:Encrypt"`, `{"StringEquals":{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}`)), req: withKMS(req(alice, "kms:Encrypt", nil), func(r *Request) { r.Encryption = "RSAES_OAEP_SHA_1" }), basis: ImplicitDeny},
	{name: "kms/IfExists absent algorithm", key: doc(withCond(alice, `"kms:*"`, `{"StringEqualsIfExists":{"kms:SigningAlgorithm":"ECDSA_SHA_256"}}`)), req: req(alice, "kms:DescribeKey", nil), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/Null absent algorithm", key: doc(withCond(alice, `"kms:*"`, `{"Null":{"kms:MacAlgorithm":"true"}}`)), req: signReq("ECDSA_SHA_256", "RAW"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/identity policy condition", key: doc(allowTo("arn:aws:iam::111122223333:root", `"kms:*"`)), identity: []string{doc(`{"Effect":"Allow","Action":"kms:Sign","Resource":"*","Condition":{"StringEquals":{"kms:SigningAlgorithm":"ECDSA_SHA_256"}}}`)}, req: signReq("ECDSA_SHA_384", "RAW"), basis: ImplicitDeny},
	// kms:ValidTo with the Numeric operators; NumericNotEquals is negated
	// (a missing key makes it true), and only decimals are numbers.
	{name: "kms/ValidTo NumericLessThanEquals", key: validToCond("NumericLessThanEquals", "1000"), req: importReq("1000"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/ValidTo NumericLessThanEquals over", key: validToCond("NumericLessThanEquals", "1000"), req: importReq("1001"), basis: ImplicitDeny},
	{name: "kms/ValidTo NumericLessThan", key: validToCond("NumericLessThan", "1000"), req: importReq("999.5"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/ValidTo NumericGreaterThan", key: validToCond("NumericGreaterThan", "1000"), req: importReq("1000"), basis: ImplicitDeny},
	{name: "kms/ValidTo NumericGreaterThanEquals", key: validToCond("NumericGreaterThanEquals", "1000"), req: importReq("1000"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/ValidTo NumericEquals", key: validToCond("NumericEquals", "1000"), req: importReq("1000.0"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/ValidTo NumericNotEquals other", key: validToCond("NumericNotEquals", "1000"), req: importReq("1001"), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/ValidTo NumericNotEquals same", key: validToCond("NumericNotEquals", "1000"), req: importReq("1000"), basis: ImplicitDeny},
	{name: "kms/ValidTo NumericNotEquals absent is true", key: validToCond("NumericNotEquals", "1000"), req: importReq(""), allowed: true, basis: KeyPolicyAllow},
	{name: "kms/ValidTo deny NumericNotEquals", key: doc(allowTo(alice, `"kms:*"`), `{"Effect":"Deny","Principal":"*","Action":"kms:ImportKeyMaterial","Resource":"*","Condition":{"NumericNotEquals":{"kms:ValidTo":"1000"}}}`), req: importReq("999"), basis: ExplicitDeny},
	{name: "kms/ValidTo request not a decimal", key: validToCond("NumericLessThanEquals", "1000"), req: importReq("0x1p3"), basis: ImplicitDeny},
	{name: "kms/ValidTo Inf refused", key: validToCond("NumericGreaterThan", "-Inf"), wantReason: reasonConditionValue},
	{name: "kms/ValidTo hex refused", key: validToCond("NumericLessThan", "0x1p40"), wantReason: reasonConditionValue},
	{name: "kms/ValidTo underscores refused", key: validToCond("NumericLessThan", "1_000"), wantReason: reasonConditionValue},
	{name: "kms/ValidTo NaN refused", key: validToCond("NumericEquals", "NaN"), wantReason: reasonConditionValue},
	{name: "kms/unknown kms key refused", key: doc(withCond(alice, `"kms:*"`, `{"StringEquals":{"kms:SigningAlgorithms":"x"}}`)), wantReason: reasonConditionKey},
}

func TestKMSConditionKeys(t *testing.T) {
	for _, tc := range kmsKeyCases {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}
