package kms

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/keyraft/keyraft/internal/awserr"
)

// checkLen validates a string member's length in characters, as AWS counts.
func checkLen(field, s string, minLen, maxLen int) *awserr.Error {
	n := utf8.RuneCountInString(s)
	if n < minLen {
		return validation(field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if n > maxLen {
		return validation(field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	return nil
}

func checkBlobLen(field string, b []byte, minLen, maxLen int) *awserr.Error {
	if len(b) < minLen {
		return validation(field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	}
	if len(b) > maxLen {
		return validation(field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
	return nil
}

func checkRange(field string, v *int32, lo, hi int32) *awserr.Error {
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

func checkEnum(field, v string, allowed ...string) *awserr.Error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	b, _ := json.Marshal(allowed)
	return validation(field, "Member must satisfy enum value set: "+string(b))
}
