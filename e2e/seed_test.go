package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

const (
	seedSymID  = "0a1b2c3d-0000-4000-8000-000000000001"
	seedMacID  = "0a1b2c3d-0000-4000-8000-000000000002"
	seedEccID  = "0a1b2c3d-0000-4000-8000-000000000003"
	seedGenID  = "0a1b2c3d-0000-4000-8000-000000000004"
	seedPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"seeded","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
)

// writeSeed writes a seed file with fixed symmetric, HMAC and ECC material
// (the ECC key made here) and one key whose material is generated.
func writeSeed(t *testing.T) (path string, ecc *ecdsa.PrivateKey) {
	t.Helper()
	ecc, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ecc)
	if err != nil {
		t.Fatal(err)
	}
	sym := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	mac := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	body := fmt.Sprintf(`# seed for TestSeed
Keys:
  - KeyId: %s
    Description: fixed symmetric key
    Aliases: [alias/seed-sym]
    Tags: [{TagKey: team, TagValue: payments}]
    Policy: '%s'
    Material: %s
  - KeyId: %s
    KeySpec: HMAC_256
    KeyUsage: GENERATE_VERIFY_MAC
    Aliases: [alias/seed-mac]
    Material: %s
  - KeyId: %s
    KeySpec: ECC_NIST_P256
    KeyUsage: SIGN_VERIFY
    Material: %s
  - KeyId: %s
    Description: generated
`, seedSymID, seedPolicy, sym, seedMacID, mac, seedEccID, base64.StdEncoding.EncodeToString(der), seedGenID)
	path = filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, ecc
}

// TestSeedDevKeys: `server -dev -seed FILE` creates the file's keys with
// their ids, aliases, tags, policies and fixed material, audited as setup
// events; a second server seeded with the same file holds the same keys,
// so it decrypts what the first encrypted and verifies its MACs.
func TestSeedDevKeys(t *testing.T) {
	file, ecc := writeSeed(t)
	ctx := context.Background()
	api1, _, _, _ := devNodeProc(t, "-seed", file)
	c1 := kmsClient(api1, credsFor(api1), 3)

	d, err := c1.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/seed-sym")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.KeyMetadata.KeyId) != seedSymID || aws.ToString(d.KeyMetadata.Description) != "fixed symmetric key" {
		t.Fatalf("alias/seed-sym is %s %q", aws.ToString(d.KeyMetadata.KeyId), aws.ToString(d.KeyMetadata.Description))
	}
	tags, err := c1.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(seedSymID)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].TagKey) != "team" || aws.ToString(tags.Tags[0].TagValue) != "payments" {
		t.Fatalf("tags %+v, %v", tags, err)
	}
	pol, err := c1.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(seedSymID), PolicyName: aws.String("default")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"seeded"`) {
		t.Fatalf("policy %v, %v", pol, err)
	}
	if g, err := c1.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(seedGenID)}); err != nil || aws.ToString(g.KeyMetadata.Description) != "generated" {
		t.Fatalf("generated key: %v", err)
	}

	plaintext := []byte("seeded keys are the same keys on every run")
	enc, err := c1.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/seed-sym"), Plaintext: plaintext})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := c1.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String("alias/seed-mac"), Message: plaintext, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c1.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(seedEccID)})
	if err != nil {
		t.Fatal(err)
	}
	wantPub, _ := x509.MarshalPKIXPublicKey(&ecc.PublicKey)
	if !bytes.Equal(pub.PublicKey, wantPub) {
		t.Fatal("the seeded ECC key's public key is not that of the material in the file")
	}

	var setup []string
	for _, ev := range auditEvents(t, api1, "last=50") {
		if ev["eventName"] == "SeedKey" {
			setup = append(setup, fmt.Sprint(ev["requestParameters"]))
		}
	}
	if len(setup) != 4 || !strings.Contains(strings.Join(setup, " "), seedSymID) {
		t.Fatalf("SeedKey setup events: %q, want one per key", setup)
	}
	for _, s := range setup {
		if strings.Contains(s, "BwcH") || strings.Contains(s, "CQkJ") {
			t.Fatalf("a setup event carries key material: %s", s)
		}
	}

	// A second server seeded with the same file: same ids, same material.
	api2, _, _, _ := devNodeProc(t, "-seed", file)
	c2 := kmsClient(api2, credsFor(api2), 3)
	dec, err := c2.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil {
		t.Fatalf("a ciphertext of the first server does not decrypt under the second: %v", err)
	}
	if !bytes.Equal(dec.Plaintext, plaintext) || aws.ToString(dec.KeyId) != "arn:aws:kms:us-east-1:111122223333:key/"+seedSymID {
		t.Fatalf("decrypted %q under %s", dec.Plaintext, aws.ToString(dec.KeyId))
	}
	v, err := c2.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: aws.String("alias/seed-mac"), Message: plaintext, Mac: mac.Mac, MacAlgorithm: types.MacAlgorithmSpecHmacSha256})
	if err != nil || !v.MacValid {
		t.Fatalf("the first server's MAC does not verify under the second: %v", err)
	}
}

// TestSeedRefusals: a bad seed file, or -seed without -dev, refuses the
// start-up with an error that names the entry; nothing is served.
func TestSeedRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dev := func(file string) []string {
		return []string{"server", "-dev", "-api-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"-cluster-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "-raft-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"-gossip-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "-seed", file}
	}
	for _, c := range []struct {
		name, body, want string
		code             int
	}{
		// Refused by the parser, before the node starts.
		{"badid.yaml", "Keys:\n  - KeyId: " + seedSymID + "\n  - KeyId: not-a-uuid\n", "Keys[1] (KeyId \"not-a-uuid\")", 2},
		{"unknown.json", `{"Keys": [{"KeyId": "` + seedSymID + `", "Colour": "red"}]}`, "Colour", 2},
		// Refused by the key service once the node runs, as CreateKey would.
		{"short.yaml", "Keys:\n  - KeyId: " + seedSymID + "\n    Material: AAAA\n", "Keys[0] (KeyId \"" + seedSymID + "\"): ValidationException", 1},
		{"spec.yaml", "Keys:\n  - KeyId: " + seedSymID + "\n    KeySpec: RSA_1\n", "Keys[0]", 1},
	} {
		out, err := runToRefusal(30*time.Second, dev(write(c.name, c.body)))
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %v, output:\n%s\nwant exit %d naming %q", c.name, err, out, c.code, c.want)
		}
		if strings.Contains(string(out), "export AWS_ENDPOINT_URL") {
			t.Errorf("%s: the server printed its exports before refusing", c.name)
		}
	}
	out, err := runToRefusal(30*time.Second, []string{"server", "-node-id", "n1", "-data-dir", dir, "-seed", write("ok.yaml", "Keys: []\n")})
	if err == nil || !strings.Contains(string(out), "-seed is only for -dev") {
		t.Errorf("-seed without -dev: %v\n%s", err, out)
	}
}

// TestSeedEarlierRun: a ciphertext made by a server of an earlier commit,
// under the fixed material of testdata/seed/keys.yaml, decrypts under a
// server seeded with that file today: what a test suite relies on when it
// keeps ciphertexts next to its seed.
func TestSeedEarlierRun(t *testing.T) {
	b64, err := os.ReadFile("testdata/seed/ciphertext.b64")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b64)))
	if err != nil {
		t.Fatal(err)
	}
	api, _, _, _ := devNodeProc(t, "-seed", "testdata/seed/keys.yaml")
	c := kmsClient(api, credsFor(api), 3)
	dec, err := c.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: blob,
		KeyId: aws.String("alias/earlier-run"), EncryptionContext: map[string]string{"run": "earlier"}})
	if err != nil {
		t.Fatalf("the earlier run's ciphertext: %v", err)
	}
	if string(dec.Plaintext) != "sealed by an earlier run" {
		t.Fatalf("decrypted %q", dec.Plaintext)
	}
}
