package crypto

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// wycheproofDir is where the project's checkouts find the Wycheproof
// vectors (../shared beside the repository; see its README). They are read
// in place, never copied: a missing directory fails the test.
var wycheproofDir = filepath.Join("..", "..", "shared", "testdata", "wycheproof")

// wycheproofTest is the part of a Wycheproof test every schema shares, with
// the fields of the ECDH and RSA-OAEP schemas this package reads.
type wycheproofTest struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"`
	// ecdh_test_schema_v1
	Public  string `json:"public"`
	Private string `json:"private"`
	Shared  string `json:"shared"`
	// rsaes_oaep_decrypt_schema_v1
	Msg   string `json:"msg"`
	CT    string `json:"ct"`
	Label string `json:"label"`
}

type wycheproofGroup struct {
	Curve           string           `json:"curve"`
	Encoding        string           `json:"encoding"`
	PrivateKeyPkcs8 string           `json:"privateKeyPkcs8"`
	SHA             string           `json:"sha"`
	MGFSHA          string           `json:"mgfSha"`
	Tests           []wycheproofTest `json:"tests"`
}

func loadWycheproof(t *testing.T, name string) []wycheproofGroup {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(wycheproofDir, name))
	if err != nil {
		t.Fatalf("Wycheproof vectors must be beside the checkout: %v", err)
	}
	var f struct {
		NumberOfTests int               `json:"numberOfTests"`
		TestGroups    []wycheproofGroup `json:"testGroups"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range f.TestGroups {
		n += len(g.Tests)
	}
	if n == 0 || n != f.NumberOfTests {
		t.Fatalf("%s: %d tests read, file says %d", name, n, f.NumberOfTests)
	}
	return f.TestGroups
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
