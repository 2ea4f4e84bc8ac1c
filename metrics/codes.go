package metrics

// codes are the error codes keyraft answers KMS and IAM requests with: the
// AWS KMS errors, the IAM ones and the SigV4 ones. The code label takes
// only these (and OK, Other), so a value no code path should produce, such
// as one a forwarded answer carries, cannot grow the label set.
var codes = map[string]bool{
	// AWS KMS
	"AccessDeniedException": true, "AlreadyExistsException": true, "ConflictException": true,
	"CustomKeyStoreNotFoundException": true, "DependencyTimeoutException": true, "DisabledException": true,
	"DryRunOperationException": true, "IncorrectKeyException": true, "InvalidAliasNameException": true,
	"InvalidArnException": true, "InvalidCiphertextException": true, "InvalidGrantIdException": true,
	"InvalidGrantTokenException": true, "InvalidKeyUsageException": true, "InvalidMarkerException": true,
	"KMSInternalException": true, "KMSInvalidSignatureException": true, "KMSInvalidStateException": true,
	"KeyUnavailableException": true, "LimitExceededException": true, "MalformedPolicyDocumentException": true,
	"NotFoundException": true, "TagException": true, "UnsupportedOperationException": true,
	"ValidationException": true,
	// the JSON 1.1 protocol and SigV4
	"SerializationException": true, "UnknownOperationException": true, "ServiceUnavailableException": true,
	"InvalidSignatureException": true, "IncompleteSignatureException": true,
	"MissingAuthenticationTokenException": true, "UnrecognizedClientException": true,
	"SignatureDoesNotMatch": true, "InvalidClientTokenId": true, "ThrottlingException": true,
	// AWS IAM
	"AccessDenied": true, "EntityAlreadyExists": true, "LimitExceeded": true, "MalformedPolicyDocument": true,
	"NoSuchEntity": true, "ServiceFailure": true, "ServiceUnavailable": true, "ValidationError": true,
	"DeleteConflict": true, "InvalidInput": true,
}

// CodeLabel is the code label of an answer with error type typ: OK for
// none, typ itself when it is a known code, Other otherwise.
func CodeLabel(typ string) string {
	switch {
	case typ == "":
		return OK
	case codes[typ]:
		return typ
	}
	return Other
}
