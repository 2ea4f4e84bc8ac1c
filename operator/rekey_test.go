package operator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// The rekey answer is written by hand (so its shares can be zeroed); it
// must still be the JSON the CLI decodes, in every variant.
func TestRekeyAnswerIsJSON(t *testing.T) {
	shares := [][]byte{bytes.Repeat([]byte{1}, 33), bytes.Repeat([]byte{0xfe}, 33)}
	for _, res := range []rekeyResult{
		{shares: shares, threshold: 2},
		{shares: shares, threshold: 2, verificationNonce: "VN"},
		{shares: shares, threshold: 2, unsure: true},
	} {
		b := rekeyAnswer("N", &res)
		var out struct {
			Complete          bool     `json:"complete"`
			Unknown           bool     `json:"switch_unknown"`
			Nonce             string   `json:"nonce"`
			Keys              []string `json:"keys_base64"`
			Shares, Threshold int
			VerifyRequired    bool   `json:"verification_required"`
			VerifyNonce       string `json:"verification_nonce"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if out.Nonce != "N" || len(out.Keys) != 2 || out.Keys[1] != base64.StdEncoding.EncodeToString(shares[1]) ||
			out.Shares != 2 || out.Threshold != 2 || out.VerifyRequired != (res.verificationNonce != "") ||
			out.VerifyNonce != res.verificationNonce || out.Complete == res.unsure || out.Unknown != res.unsure {
			t.Fatalf("answer %s", b)
		}
	}
}
