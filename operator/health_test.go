package operator

import (
	"net/url"
	"testing"
)

func TestParseHealthQuery(t *testing.T) {
	for _, c := range []struct {
		query string
		want  healthCodes
		bad   bool
	}{
		{"", defaultHealthCodes, false},
		{"standbyok=true", healthCodes{active: 200, standby: 429, haUnhealthy: 474, sealed: 503, uninit: 501, standbyOK: true}, false},
		// A boolean without a value is on, whatever follows it.
		{"standbyok", healthCodes{active: 200, standby: 429, haUnhealthy: 474, sealed: 503, uninit: 501, standbyOK: true}, false},
		{"standbyok=", healthCodes{active: 200, standby: 429, haUnhealthy: 474, sealed: 503, uninit: 501, standbyOK: true}, false},
		{"sealedcode=500&standbyok&activecode=204", healthCodes{active: 204, standby: 429, haUnhealthy: 474, sealed: 500, uninit: 501, standbyOK: true}, false},
		{"standbyok&standbyok=false", healthCodes{active: 200, standby: 429, haUnhealthy: 474, sealed: 503, uninit: 501, standbyOK: true}, false},
		{"standbyok=false", defaultHealthCodes, false},
		{"perfstandbyok", defaultHealthCodes, false},
		{"perfstandbyok&standbyok=maybe", healthCodes{}, true},
		{"sealedcode=200&uninitcode=299&activecode=204&standbycode=503&haunhealthycode=500",
			healthCodes{active: 204, standby: 503, haUnhealthy: 500, sealed: 200, uninit: 299}, false},
		// Vault's parameters for states keyraft has not are accepted and change nothing.
		{"perfstandbyok=true&performancestandbycode=200&drsecondarycode=200&removedcode=200", defaultHealthCodes, false},
		{"unknown=1", defaultHealthCodes, false},
		{"sealedcode=199", healthCodes{}, true},
		{"sealedcode=600", healthCodes{}, true},
		{"activecode=abc", healthCodes{}, true},
		{"standbyok=maybe", healthCodes{}, true},
		{"perfstandbyok=2", healthCodes{}, true},
		{"drsecondarycode=99", healthCodes{}, true},
	} {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseHealthQuery(q)
		if c.bad {
			if err == nil {
				t.Errorf("%q: accepted, want refused", c.query)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %+v, %v; want %+v", c.query, got, err, c.want)
		}
	}
}

// FuzzParseHealthQuery: whatever the query, the parser refuses it or gives
// codes net/http can write as a final answer.
func FuzzParseHealthQuery(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		c, err := parseHealthQuery(q)
		if err != nil {
			return
		}
		for _, code := range []int{c.active, c.standby, c.haUnhealthy, c.sealed, c.uninit} {
			if code < 200 || code > 599 {
				t.Fatalf("%q gave status code %d", raw, code)
			}
		}
		// A standbyok given bare is on, as the first value is what counts.
		if vs, ok := q["standbyok"]; ok && vs[0] == "" && !c.standbyOK {
			t.Fatalf("%q: a bare standbyok left standbyOK off", raw)
		}
	})
}
