package kms

import (
	"encoding/json"
	"regexp"
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

// memberPattern is a string member's pattern from the service model, which
// AWS quotes in its ValidationException.
type memberPattern struct {
	re     *regexp.Regexp
	source string
}

func newMemberPattern(source string) memberPattern {
	return memberPattern{re: regexp.MustCompile(source), source: source}
}

var (
	keyMaterialIDPattern          = newMemberPattern(`^[a-f0-9]+$`)
	keyMaterialDescriptionPattern = newMemberPattern(`^[a-zA-Z0-9:/_\s.-]+$`)
)

// checkPattern validates a string member against the model's pattern.
func checkPattern(field, s string, p memberPattern) *awserr.Error {
	if !p.re.MatchString(s) {
		return validation(field, "Member must satisfy regular expression pattern: "+p.source)
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
