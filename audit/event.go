package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"unicode"
)

// Event is one CloudTrail-shaped record of a KMS request or an operator
// action. It never holds plaintext, data keys, ciphertext, secrets or shares.
type Event struct {
	EventVersion       string         `json:"eventVersion"`
	EventTime          string         `json:"eventTime"`
	EventSource        string         `json:"eventSource"`
	EventName          string         `json:"eventName"`
	EventType          string         `json:"eventType"`
	AWSRegion          string         `json:"awsRegion"`
	SourceIPAddress    string         `json:"sourceIPAddress,omitempty"`
	UserAgent          string         `json:"userAgent,omitempty"`
	UserIdentity       *UserIdentity  `json:"userIdentity,omitempty"`
	RequestParameters  map[string]any `json:"requestParameters"`
	ResponseElements   map[string]any `json:"responseElements"`
	ErrorCode          string         `json:"errorCode,omitempty"`
	ErrorMessage       string         `json:"errorMessage,omitempty"`
	RequestID          string         `json:"requestID"`
	EventID            string         `json:"eventID"`
	ReadOnly           bool           `json:"readOnly"`
	Resources          []Resource     `json:"resources,omitempty"`
	RecipientAccountID string         `json:"recipientAccountId,omitempty"`
	// NodeID is the keyraft server that answered (the leader).
	NodeID string `json:"keyraftNodeId,omitempty"`
}

// UserIdentity names who made the request.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

// Resource is a key an event touched.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

const (
	EventVersion = "1.08"
	EventSource  = "kms.amazonaws.com"
)

// sensitive are request and response members that carry secret or
// ciphertext bytes; CloudTrail omits them too.
var sensitive = map[string]bool{
	"Plaintext": true, "CiphertextBlob": true, "CiphertextForRecipient": true, "Message": true,
	"Signature": true, "Mac": true, "PublicKey": true, "PrivateKeyPlaintext": true,
	"PrivateKeyCiphertextBlob": true, "ImportToken": true, "EncryptedKeyMaterial": true,
	"Recipient": true, "SharedSecret": true, "SecretAccessKey": true, "GrantToken": true, "GrantTokens": true,
}

// ResponseElements extracts the loggable members of an answer. Answers
// that are maps (most are) are filtered directly: re-encoding a 4 KiB
// ciphertext only to drop it would cost more than the crypto did.
func ResponseElements(result any) map[string]any {
	if result == nil {
		return nil
	}
	if m, ok := result.(map[string]any); ok {
		out := make(map[string]any, len(m))
		for k, v := range m {
			if sensitive[k] {
				continue
			}
			switch v.(type) {
			case string, bool, float64, int, int32, int64, nil:
			default:
				if sv, ok := scalar(v); ok {
					v = sv
				} else {
					v = ResponseElements(v) // a nested shape such as KeyMetadata
				}
			}
			out[lowerFirst(k)] = v
		}
		return out
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return loggable(out)
}

// scalar turns a value of a named scalar type (fsm.KeyState is a string)
// into its plain value, as encoding/json would write it; a nested shape is
// not one.
func scalar(v any) (any, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), true
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return nil, false
}

func loggable(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if sensitive[k] {
			continue
		}
		if m, ok := v.(map[string]any); ok && k != "EncryptionContext" && k != "SourceEncryptionContext" && k != "DestinationEncryptionContext" {
			v = loggable(m)
		}
		out[lowerFirst(k)] = v
	}
	return out
}

// LowerFirst is a request member's name as CloudTrail writes it: KeyId is
// keyId, AWSAccountId is awsAccountId.
func LowerFirst(s string) string { return lowerFirst(s) }

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	// CloudTrail writes "keyId", "aWSAccountId" is not a thing: keep
	// acronyms at the start lower as a whole ("AWSAccountId" → "awsAccountId").
	i := 0
	for i < len(s) && unicode.IsUpper(rune(s[i])) {
		i++
	}
	switch {
	case i <= 1:
		return strings.ToLower(s[:1]) + s[1:]
	case i == len(s):
		return strings.ToLower(s)
	default:
		return strings.ToLower(s[:i-1]) + s[i-1:]
	}
}
