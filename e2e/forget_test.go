package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/crypto"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/seal"
)

// TestSealForgets: after `operator seal`, whoever reads the node's memory
// (here root, through /proc/PID/mem) finds none of the secrets it held
// unsealed: the unseal shares it was given, the root key they make, the
// keyring, customer key material, access key secrets and the SigV4
// signing keys derived from them, and a data key it generated.
func TestSealForgets(t *testing.T) {
	t.Run("http", func(t *testing.T) { testSealForgets(t, false) })
	// Over TLS the requests and answers also pass through crypto/tls's
	// record buffers.
	t.Run("tls", func(t *testing.T) { testSealForgets(t, true) })
}

func testSealForgets(t *testing.T, secure bool) {
	c := startOneNode(t, 3, 2, func(p *proc) {
		if secure {
			p.secure(tlsGen(t, "n1"), gossipKeygen(t))
		}
	})
	p := c.nodes[0]
	c.unseal(p)

	// Use every kind of secret: key material (two versions), a data key,
	// a second principal's access key, all three signing services.
	ctx := ctxTimeout(t, time.Minute)
	root := kmsClient(p.api, c.creds, 3)
	ck, err := root.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := ck.KeyMetadata.KeyId
	if _, err := root.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: keyID}); err != nil {
		t.Fatal(err)
	}
	dk, err := root.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: keyID, KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob}); err != nil {
		t.Fatal(err)
	}
	user := newUserKey(t, c, c.creds, "forgetful", "")
	uc := kmsClient(p.api, user, 3)
	// Denied, but only once its signature has been verified.
	if _, err := uc.ListKeys(ctx, &kms.ListKeysInput{}); apiCode(err) != "AccessDeniedException" {
		t.Fatalf("a user without a policy lists keys: %v", err)
	}
	if _, err := root.Encrypt(ctx, &kms.EncryptInput{KeyId: keyID, Plaintext: []byte("sealing forgets")}); err != nil {
		t.Fatal(err)
	}
	if evs := auditEvents(t, p.api, "limit=1"); len(evs) == 0 { // an operator-signed read
		t.Fatal("no audit events")
	}

	// The secrets sealed in the replicated log, opened the way the node
	// opens them: with the root key the shares make.
	var shares [][]byte
	for _, k := range c.creds.Keys {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, b)
	}
	rootKey, err := seal.Combine(shares[:2])
	if err != nil {
		t.Fatal(err)
	}
	logged := secretsInLog(t, p.dataDir, rootKey)
	// The scan sees an unsealed node's keyring: it can see what a seal
	// would leave behind.
	if hits, err := scanMemory(p.cmd.Process.Pid, logged[:1]); err != nil || len(hits) == 0 {
		t.Fatalf("the unsealed node's %s is not found by the scan (%d hits, %v)", logged[0].name, len(hits), err)
	}

	if err := operator(t, p.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	st, err := status(t, p.api)
	if err != nil || !st.Sealed {
		t.Fatalf("not sealed after operator seal: %+v %v", st, err)
	}
	// The node overwrites its free heap again once the sealing connection
	// has closed and its buffers are free.
	waitFor(t, 10*time.Second, "the free heap overwritten after the seal", func() (bool, error) {
		return logCount(t, p, "free memory overwritten after seal") > 0, nil
	})

	patterns := []secretPattern{{"root key", rootKey}, {"data key plaintext", dk.Plaintext},
		{"data key plaintext (base64)", []byte(base64.StdEncoding.EncodeToString(dk.Plaintext))}}
	for i, s := range shares {
		patterns = append(patterns, secretPattern{fmt.Sprintf("unseal share %d", i+1), s},
			secretPattern{fmt.Sprintf("unseal share %d (base64)", i+1), []byte(c.creds.Keys[i])})
	}
	patterns = append(patterns, logged...)
	today := time.Now().UTC().Format("20060102")
	for who, secret := range map[string]string{"root": c.creds.SecretAccessKey, "user": user.SecretAccessKey} {
		patterns = append(patterns, secretPattern{who + " secret access key", []byte(secret)})
		for _, service := range []string{"kms", "iam", operatorService} {
			k := signingKey(secret, today, "us-east-1", service)
			patterns = append(patterns, secretPattern{who + " " + service + " signing key", k},
				// crypto/hmac keeps key XOR ipad; a pooled HMAC state holds it.
				secretPattern{who + " " + service + " signing key XOR ipad", xorByte(k, 0x36)})
			for i, st := range hmacStates(k) {
				patterns = append(patterns, secretPattern{fmt.Sprintf("%s %s signing key's HMAC state %d", who, service, i), st})
			}
		}
	}

	hits, err := scanMemory(p.cmd.Process.Pid, patterns)
	if err != nil {
		t.Fatal(err)
	}
	byPattern := map[string][]memHit{}
	for _, h := range hits {
		byPattern[h.pattern] = append(byPattern[h.pattern], h)
	}
	for _, sp := range patterns {
		if hs := byPattern[sp.name]; len(hs) > 0 {
			t.Errorf("after seal, memory still holds %d copies of the %s, e.g. %s", len(hs), sp.name, hs[0])
		}
	}
	t.Logf("scanned for %d secrets, %d found", len(patterns), len(hits))
}

// secretsInLog reads the node's Raft log (a copy of raft.db, as the node
// holds the file locked) and opens, with the root key, the keyring in the
// init record and everything sealed under it: key material and access key
// secrets.
func secretsInLog(t *testing.T, dataDir string, rootKey []byte) []secretPattern {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "raft.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: cp})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	first, _ := store.FirstIndex()
	last, _ := store.LastIndex()
	var (
		kr  *seal.Keyring
		out []secretPattern
	)
	open := func(what, path string, sealed []byte) {
		if kr == nil {
			t.Fatalf("%s before the init record", what)
		}
		plain, err := kr.Open(path, sealed)
		if err != nil {
			t.Fatalf("open %s: %v", what, err)
		}
		out = append(out, secretPattern{what, plain})
	}
	for i := first; i <= last && i > 0; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil || l.Type != raft.LogCommand {
			continue
		}
		cmd, err := fsm.DecodeCommand(l.Data)
		if err != nil {
			continue
		}
		switch fsm.CommandType(cmd.Type) {
		case fsm.CmdInit:
			var in fsmpb.Init
			mustUnmarshal(t, cmd.Payload, &in)
			plain, err := crypto.OpenAEAD(rootKey, in.SealedKeyring, []byte("keyraft/keyring"))
			if err != nil {
				t.Fatalf("the root key the shares make does not open the keyring: %v", err)
			}
			out = append([]secretPattern{{"keyring key", bytes.Clone(plain[5:])}}, out...) // first: see the caller
			if kr, err = seal.OpenKeyring(rootKey, in.SealedKeyring); err != nil {
				t.Fatal(err)
			}
			ak := in.RootAccessKey
			open("root secret access key (from the log)", iam.SecretPath(ak.AccessKeyId), ak.SealedSecret)
		case fsm.CmdCreateKey:
			var ck fsmpb.CreateKey
			mustUnmarshal(t, cmd.Payload, &ck)
			for _, m := range ck.Key.Material {
				open("key material "+ck.Key.KeyId+" v"+strconv.Itoa(int(m.Version)), materialPath(ck.Key.KeyId, m.Version), m.Sealed)
			}
		case fsm.CmdRotateKey:
			var rk fsmpb.RotateKey
			mustUnmarshal(t, cmd.Payload, &rk)
			m := rk.Material
			open("key material "+rk.KeyId+" v"+strconv.Itoa(int(m.Version)), materialPath(rk.KeyId, m.Version), m.Sealed)
		}
	}
	if kr == nil {
		t.Fatal("no init record in the raft log")
	}
	kr.Zero()
	return out
}

// materialPath is where kms seals a key version's material (kms/keys.go).
func materialPath(keyID string, version uint32) string {
	return "key/" + keyID + "/" + strconv.FormatUint(uint64(version), 10)
}

func mustUnmarshal(t *testing.T, b []byte, m proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
}

// signingKey is the SigV4 signing key of secret for one day and service.
func signingKey(secret, date, region, service string) []byte {
	k := []byte("AWS4" + secret)
	for _, s := range []string{date, region, service, "aws4_request"} {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(s))
		k = m.Sum(nil)
	}
	return k
}

func xorByte(b []byte, x byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[i] ^ x
	}
	return out
}

// hmacStates are the SHA-256 states a reset crypto/hmac HMAC keeps for key:
// after key XOR ipad and after key XOR opad, each as good as the key, as it
// marshals them (big-endian) and as sha256 holds them (little-endian words).
func hmacStates(key []byte) [][]byte {
	var out [][]byte
	for _, pad := range []byte{0x36, 0x5c} {
		block := bytes.Repeat([]byte{pad}, sha256.BlockSize)
		for i := range key {
			block[i] ^= key[i]
		}
		h := sha256.New()
		h.Write(block)
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic(err)
		}
		be := st[4 : 4+sha256.Size] // after the "sha\x03" magic
		le := bytes.Clone(be)
		for i := 0; i < len(le); i += 4 {
			le[i], le[i+1], le[i+2], le[i+3] = le[i+3], le[i+2], le[i+1], le[i]
		}
		out = append(out, be, le)
	}
	return out
}

// TestMemoryProtection: a server locks its memory and turns core dumps off
// unless told otherwise, and one that cannot lock its memory refuses to
// start, saying what to do, unless given -disable-mlock.
func TestMemoryProtection(t *testing.T) {
	p := newProc(t, "n1", 1)
	p.start(nil)
	p.waitUp(20 * time.Second)
	if lck := procStatusKB(t, p.cmd.Process.Pid, "VmLck"); lck == 0 {
		t.Error("the server's memory is not locked")
	}
	if soft, hard := coreLimit(t, p.cmd.Process.Pid); soft != "0" || hard != "0" {
		t.Errorf("core dumps allowed: limit %s/%s", soft, hard)
	}

	// Told not to: nothing locked, core dumps as the environment allows.
	q := newProc(t, "n2", 1)
	q.args = append(q.args, "-disable-mlock", "-enable-core-dumps")
	q.startUnder("prlimit", "--core=1048576:1048576")
	q.waitUp(20 * time.Second)
	if lck := procStatusKB(t, q.cmd.Process.Pid, "VmLck"); lck != 0 {
		t.Errorf("%d kB locked with -disable-mlock", lck)
	}
	if soft, _ := coreLimit(t, q.cmd.Process.Pid); soft == "0" {
		t.Error("core dumps disabled despite -enable-core-dumps")
	}
	if logCount(t, q, "memory is not locked (-disable-mlock)") == 0 {
		t.Error("no warning that memory is not locked")
	}

	// Unable to lock (a small RLIMIT_MEMLOCK and no CAP_IPC_LOCK): refused.
	r := newProc(t, "n3", 1)
	// (A server that starts anyway is killed after a while, and fails this.)
	out, err := runToRefusal(20*time.Second, r.args, "prlimit", "--memlock=65536:65536", "setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock")
	if err == nil || !strings.Contains(string(out), "could not lock memory") || !strings.Contains(string(out), "-disable-mlock") {
		t.Fatalf("a server that cannot lock its memory: %v\n%s", err, out)
	}
}

// coreLimit is the soft and hard RLIMIT_CORE of pid.
func coreLimit(t *testing.T, pid int) (soft, hard string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max core file size"); ok {
			f := strings.Fields(rest)
			return f[0], f[1]
		}
	}
	t.Fatal("no core limit")
	return "", ""
}
