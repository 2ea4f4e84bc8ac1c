package kms

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// decode parses an AWS JSON 1.1 request body into v. An empty body is `{}`.
// Unknown members are ignored, as AWS does; wrong types and bad base64 are
// SerializationException.
func decode(body []byte, v any) *Error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if body[0] != '{' {
		return newErr("SerializationException", http.StatusBadRequest, "Start of structure or map found where not expected.")
	}
	// One pass: Unmarshal also refuses content after the object.
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return newErr("SerializationException", http.StatusBadRequest, "Invalid value for member '%s'", te.Field)
		}
		return newErr("SerializationException", http.StatusBadRequest, "The request body is not valid JSON.")
	}
	return nil
}

// checkLen validates a string member's length in characters, as AWS counts.
func checkLen(field, s string, minLen, maxLen int) *Error {
	n := utf8.RuneCountInString(s)
	if n < minLen {
		return validation(field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if n > maxLen {
		return validation(field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	return nil
}

func checkBlobLen(field string, b []byte, minLen, maxLen int) *Error {
	if len(b) < minLen {
		return validation(field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if len(b) > maxLen {
		return validation(field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	return nil
}

func checkRange(field string, v *int32, lo, hi int32) *Error {
	if v == nil {
		return nil
	}
	if *v < lo {
		return validation(field, "Member must have value greater than or equal to "+strconv.Itoa(int(lo)))
	}
	if *v > hi {
		return validation(field, "Member must have value less than or equal to "+strconv.Itoa(int(hi)))
	}
	return nil
}

func checkEnum(field, v string, allowed ...string) *Error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	b, _ := json.Marshal(allowed)
	return validation(field, "Member must satisfy enum value set: "+string(b))
}
