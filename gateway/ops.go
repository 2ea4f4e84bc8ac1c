package gateway

import (
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/kms"
)

// operations is every operation keyraft serves. Adding one is adding its
// entry here and its handler in kms or iam.
//
// The audited members follow CloudTrail's KMS and IAM events. Never listed:
// plaintexts, ciphertexts, data keys, key material, grant tokens (bearer
// credentials) and GenerateRandom's Recipient. Policies are recorded, as
// CloudTrail records them.
var operations = []*Op{
	kmsOp("CreateKey", false, Key, (*kms.Service).CreateKey,
		"Description", "KeyUsage", "KeySpec", "CustomerMasterKeySpec", "Origin", "Policy", "Tags",
		"BypassPolicyLockoutSafetyCheck", "MultiRegion"),
	kmsOp("DescribeKey", true, Key, (*kms.Service).DescribeKey, "KeyId"),
	kmsOp("ListKeys", true, NoResource, (*kms.Service).ListKeys, "Limit", "Marker"),
	kmsOp("Encrypt", true, Key, (*kms.Service).Encrypt, "KeyId", "EncryptionContext", "EncryptionAlgorithm", "DryRun"),
	kmsOp("Decrypt", true, Key, (*kms.Service).Decrypt, "KeyId", "EncryptionContext", "EncryptionAlgorithm", "DryRun"),
	kmsOp("GenerateDataKey", true, Key, (*kms.Service).GenerateDataKey,
		"KeyId", "EncryptionContext", "NumberOfBytes", "KeySpec", "DryRun"),
	kmsOp("GenerateDataKeyWithoutPlaintext", true, Key, (*kms.Service).GenerateDataKeyWithoutPlaintext,
		"KeyId", "EncryptionContext", "NumberOfBytes", "KeySpec", "DryRun"),
	kmsOp("ReEncrypt", true, Key, (*kms.Service).ReEncrypt,
		"SourceKeyId", "DestinationKeyId", "SourceEncryptionContext", "DestinationEncryptionContext",
		"SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm", "DryRun"),
	kmsOp("GenerateRandom", true, NoResource, (*kms.Service).GenerateRandom, "NumberOfBytes", "CustomKeyStoreId"),
	// Asymmetric and HMAC keys: never the message, signature or MAC.
	kmsOp("GetPublicKey", true, Key, (*kms.Service).GetPublicKey, "KeyId"),
	kmsOp("Sign", true, Key, (*kms.Service).Sign, "KeyId", "MessageType", "SigningAlgorithm", "DryRun"),
	kmsOp("Verify", true, Key, (*kms.Service).Verify, "KeyId", "MessageType", "SigningAlgorithm", "DryRun"),
	kmsOp("GenerateMac", true, Key, (*kms.Service).GenerateMac, "KeyId", "MacAlgorithm", "DryRun"),
	kmsOp("VerifyMac", true, Key, (*kms.Service).VerifyMac, "KeyId", "MacAlgorithm", "DryRun"),
	// ML-KEM: never the shared secret or its ciphertext.
	kmsOp("Encapsulate", true, Key, (*kms.Service).Encapsulate, "KeyId", "EncapsulationAlgorithm", "DryRun"),
	kmsOp("Decapsulate", true, Key, (*kms.Service).Decapsulate, "KeyId", "EncapsulationAlgorithm", "DryRun"),
	// Never the private key (either form), the peer public key or the shared secret.
	kmsOp("GenerateDataKeyPair", true, Key, (*kms.Service).GenerateDataKeyPair,
		"KeyId", "KeyPairSpec", "EncryptionContext", "DryRun"),
	kmsOp("GenerateDataKeyPairWithoutPlaintext", true, Key, (*kms.Service).GenerateDataKeyPairWithoutPlaintext,
		"KeyId", "KeyPairSpec", "EncryptionContext", "DryRun"),
	kmsOp("DeriveSharedSecret", true, Key, (*kms.Service).DeriveSharedSecret, "KeyId", "KeyAgreementAlgorithm", "DryRun"),

	kmsOp("UpdateKeyDescription", false, Key, (*kms.Service).UpdateKeyDescription, "KeyId", "Description"),
	kmsOp("EnableKey", false, Key, (*kms.Service).EnableKey, "KeyId"),
	kmsOp("DisableKey", false, Key, (*kms.Service).DisableKey, "KeyId"),
	kmsOp("ScheduleKeyDeletion", false, Key, (*kms.Service).ScheduleKeyDeletion, "KeyId", "PendingWindowInDays"),
	kmsOp("CancelKeyDeletion", false, Key, (*kms.Service).CancelKeyDeletion, "KeyId"),

	kmsOp("CreateAlias", false, Key, (*kms.Service).CreateAlias, "AliasName", "TargetKeyId"),
	kmsOp("UpdateAlias", false, Key, (*kms.Service).UpdateAlias, "AliasName", "TargetKeyId"),
	kmsOp("DeleteAlias", false, Key, (*kms.Service).DeleteAlias, "AliasName"),
	kmsOp("ListAliases", true, Key, (*kms.Service).ListAliases, "KeyId", "Limit", "Marker"),

	kmsOp("TagResource", false, Key, (*kms.Service).TagResource, "KeyId", "Tags"),
	kmsOp("UntagResource", false, Key, (*kms.Service).UntagResource, "KeyId", "TagKeys"),
	kmsOp("ListResourceTags", true, Key, (*kms.Service).ListResourceTags, "KeyId", "Limit", "Marker"),

	kmsOp("EnableKeyRotation", false, Key, (*kms.Service).EnableKeyRotation, "KeyId", "RotationPeriodInDays"),
	kmsOp("DisableKeyRotation", false, Key, (*kms.Service).DisableKeyRotation, "KeyId"),
	kmsOp("GetKeyRotationStatus", true, Key, (*kms.Service).GetKeyRotationStatus, "KeyId"),
	kmsOp("RotateKeyOnDemand", false, Key, (*kms.Service).RotateKeyOnDemand, "KeyId"),
	kmsOp("ListKeyRotations", true, Key, (*kms.Service).ListKeyRotations, "KeyId", "Limit", "Marker"),
	// Imported key material: never the import token, the wrapping public
	// key or the encrypted key material.
	kmsOp("GetParametersForImport", true, Key, (*kms.Service).GetParametersForImport, "KeyId", "WrappingAlgorithm", "WrappingKeySpec"),
	kmsOp("ImportKeyMaterial", false, Key, (*kms.Service).ImportKeyMaterial,
		"KeyId", "ValidTo", "ExpirationModel", "ImportType", "KeyMaterialDescription", "KeyMaterialId"),
	kmsOp("DeleteImportedKeyMaterial", false, Key, (*kms.Service).DeleteImportedKeyMaterial, "KeyId", "KeyMaterialId"),

	kmsOp("PutKeyPolicy", false, Key, (*kms.Service).PutKeyPolicy, "KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck"),
	kmsOp("GetKeyPolicy", true, Key, (*kms.Service).GetKeyPolicy, "KeyId", "PolicyName"),
	kmsOp("ListKeyPolicies", true, Key, (*kms.Service).ListKeyPolicies, "KeyId", "Limit", "Marker"),

	kmsOp("CreateGrant", false, Key, (*kms.Service).CreateGrant,
		"KeyId", "GranteePrincipal", "RetiringPrincipal", "Operations", "Constraints", "Name", "DryRun"),
	kmsOp("ListGrants", true, Key, (*kms.Service).ListGrants, "KeyId", "Limit", "Marker", "GrantId", "GranteePrincipal"),
	kmsOp("ListRetirableGrants", true, NoResource, (*kms.Service).ListRetirableGrants, "RetiringPrincipal", "Limit", "Marker"),
	kmsOp("RetireGrant", false, Key, (*kms.Service).RetireGrant, "KeyId", "GrantId", "DryRun"),
	kmsOp("RevokeGrant", false, Key, (*kms.Service).RevokeGrant, "KeyId", "GrantId", "DryRun"),

	iamOp("CreateUser", false, (*iam.Service).CreateUser, "UserName"),
	iamOp("ListUsers", true, (*iam.Service).ListUsers),
	iamOp("CreateAccessKey", false, (*iam.Service).CreateAccessKey, "UserName"),
	iamOp("DeleteAccessKey", false, (*iam.Service).DeleteAccessKey, "UserName", "AccessKeyId"),
	iamOp("ListAccessKeys", true, (*iam.Service).ListAccessKeys, "UserName"),
	iamOp("PutUserPolicy", false, (*iam.Service).PutUserPolicy, "UserName", "PolicyName", "PolicyDocument"),
	iamOp("GetUserPolicy", true, (*iam.Service).GetUserPolicy, "UserName", "PolicyName"),
	iamOp("DeleteUser", false, (*iam.Service).DeleteUser, "UserName"),
	iamOp("ListUserPolicies", true, (*iam.Service).ListUserPolicies, "UserName"),
	iamOp("DeleteUserPolicy", false, (*iam.Service).DeleteUserPolicy, "UserName", "PolicyName"),
}
