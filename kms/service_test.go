package kms

import (
	"encoding/base64"
	"runtime"
	"sync"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestEncryptDecryptRoundTrip(t *testing.T) {
	ts := newTestService(t)
	ck, e := ts.call(t, "CreateKey", map[string]any{"Description": "x"})
	if e != nil {
		t.Fatal(e)
	}
	md := ck["KeyMetadata"].(map[string]any)
	id, arn := md["KeyId"].(string), md["Arn"].(string)
	if arn != "arn:aws:kms:us-east-1:111122223333:key/"+id || md["KeyState"] != "Enabled" || md["MultiRegion"] != false {
		t.Fatalf("metadata: %v", md)
	}
	ctx := map[string]string{"a": "1", "b": "2"}
	for _, ref := range []string{id, arn} {
		enc, e := ts.call(t, "Encrypt", map[string]any{"KeyId": ref, "Plaintext": b64("hello"), "EncryptionContext": ctx})
		if e != nil {
			t.Fatal(e)
		}
		dec, e := ts.call(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"], "EncryptionContext": ctx})
		if e != nil {
			t.Fatal(e)
		}
		if dec["Plaintext"] != b64("hello") || dec["KeyId"] != arn {
			t.Fatalf("decrypt: %v", dec)
		}
		_, e = ts.call(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"], "EncryptionContext": map[string]string{"a": "1"}})
		if e == nil || e.Type != "InvalidCiphertextException" {
			t.Fatalf("decrypt with a different context: %v", e)
		}
	}
	other, _ := ts.call(t, "CreateKey", map[string]any{})
	otherID := other["KeyMetadata"].(map[string]any)["KeyId"].(string)
	enc, _ := ts.call(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("x")})
	_, e = ts.call(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"], "KeyId": otherID})
	if e == nil || e.Type != "IncorrectKeyException" {
		t.Fatalf("decrypt naming another key: %v", e)
	}
	if _, e = ts.call(t, "Decrypt", map[string]any{"CiphertextBlob": enc["CiphertextBlob"], "KeyId": arn}); e != nil {
		t.Fatalf("decrypt naming the right key: %v", e)
	}
}

func TestGenerateDataKey(t *testing.T) {
	ts := newTestService(t)
	ck, _ := ts.call(t, "CreateKey", map[string]any{})
	id := ck["KeyMetadata"].(map[string]any)["KeyId"].(string)
	for _, tc := range []struct {
		in   map[string]any
		size int
	}{
		{map[string]any{"KeyId": id, "KeySpec": "AES_256"}, 32},
		{map[string]any{"KeyId": id, "KeySpec": "AES_128"}, 16},
		{map[string]any{"KeyId": id, "NumberOfBytes": 7}, 7},
	} {
		out, e := ts.call(t, "GenerateDataKey", tc.in)
		if e != nil {
			t.Fatal(e)
		}
		pt, _ := base64.StdEncoding.DecodeString(out["Plaintext"].(string))
		if len(pt) != tc.size {
			t.Fatalf("%v: %d bytes", tc.in, len(pt))
		}
		dec, e := ts.call(t, "Decrypt", map[string]any{"CiphertextBlob": out["CiphertextBlob"]})
		if e != nil || dec["Plaintext"] != out["Plaintext"] {
			t.Fatalf("data key does not decrypt to its plaintext: %v", e)
		}
	}
}

// TestBadInputChangesNothing: every malformed request gets its AWS error and
// leaves the state as it was.
func TestBadInputChangesNothing(t *testing.T) {
	ts := newTestService(t)
	ck, _ := ts.call(t, "CreateKey", map[string]any{})
	id := ck["KeyMetadata"].(map[string]any)["KeyId"].(string)
	big := make([]byte, 4097)
	cases := []struct {
		op, body, want string
	}{
		{"Encrypt", `{"KeyId":"` + id + `","Plaintext":"` + base64.StdEncoding.EncodeToString(big) + `"}`, "ValidationException"},
		{"Encrypt", `{"KeyId":"` + id + `","Plaintext":""}`, "ValidationException"},
		{"Encrypt", `{"KeyId":"` + id + `","Plaintext":"!!notbase64"}`, "SerializationException"},
		{"Encrypt", `{"KeyId":"nope","Plaintext":"eA=="}`, "NotFoundException"},
		{"Encrypt", `{"KeyId":"alias/nope","Plaintext":"eA=="}`, "NotFoundException"},
		{"Encrypt", `{"KeyId":"arn:aws:kms:us-east-1:111122223333:thing/x","Plaintext":"eA=="}`, "InvalidArnException"},
		{"Encrypt", `{"KeyId":"` + id + `","Plaintext":"eA==","EncryptionAlgorithm":"RSAES_OAEP_SHA_1"}`, "InvalidKeyUsageException"},
		{"Encrypt", `{"KeyId":"` + id + `","Plaintext":"eA==","GrantTokens":["a","a","a","a","a","a","a","a","a","a","a"]}`, "ValidationException"},
		{"Decrypt", `{"CiphertextBlob":"AAAA"}`, "InvalidCiphertextException"},
		{"Decrypt", `{}`, "ValidationException"},
		{"CreateKey", `{"KeySpec":"SM2","KeyUsage":"SIGN_VERIFY"}`, "UnsupportedOperationException"},
		{"CreateKey", `{"KeySpec":"HMAC_256"}`, "ValidationException"},
		{"CreateKey", `{"KeyUsage":"BOGUS"}`, "ValidationException"},
		{"CreateKey", `{"Tags":[{"TagKey":""}]}`, "ValidationException"},
		{"CreateKey", `[1,2]`, "SerializationException"},
		{"CreateKey", `{"Description":5}`, "SerializationException"},
		{"CreateKey", `{"Description":"x"} trailing`, "SerializationException"},
		{"ListKeys", `{"Limit":0}`, "ValidationException"},
		{"ListKeys", `{"Limit":1001}`, "ValidationException"},
		{"GenerateDataKey", `{"KeyId":"` + id + `"}`, "ValidationException"},
		{"GenerateDataKey", `{"KeyId":"` + id + `","KeySpec":"AES_256","NumberOfBytes":32}`, "ValidationException"},
		{"GenerateDataKey", `{"KeyId":"` + id + `","NumberOfBytes":1025}`, "ValidationException"},
		{"DescribeKey", `{"KeyId":""}`, "ValidationException"},
		{"NoSuchOp", `{}`, "UnknownOperationException"},
	}
	before := ts.snapshot(t)
	for _, tc := range cases {
		_, e := ts.Handle(t.Context(), testRoot, tc.op, []byte(tc.body))
		if e == nil || e.Type != tc.want {
			t.Errorf("%s %s: got %v, want %s", tc.op, tc.body, e, tc.want)
		}
		if e != nil && e.Status < 400 {
			t.Errorf("%s: status %d", tc.op, e.Status)
		}
	}
	if string(before) != string(ts.snapshot(t)) {
		t.Fatal("bad input changed the state")
	}
}

func TestListKeysPaging(t *testing.T) {
	ts := newTestService(t)
	want := map[string]bool{}
	for range 7 {
		ck, _ := ts.call(t, "CreateKey", map[string]any{})
		want[ck["KeyMetadata"].(map[string]any)["KeyId"].(string)] = true
	}
	got := map[string]bool{}
	marker := ""
	pages := 0
	for {
		in := map[string]any{"Limit": 3}
		if marker != "" {
			in["Marker"] = marker
		}
		out, e := ts.call(t, "ListKeys", in)
		if e != nil {
			t.Fatal(e)
		}
		pages++
		for _, k := range out["Keys"].([]any) {
			got[k.(map[string]any)["KeyId"].(string)] = true
		}
		if out["Truncated"] != true {
			break
		}
		marker = out["NextMarker"].(string)
	}
	if pages != 3 || len(got) != len(want) {
		t.Fatalf("%d pages, %d keys, want 3 pages and %d keys", pages, len(got), len(want))
	}
}

// TestSealRacingEncrypt seals and unseals while clients encrypt: a request
// may fail with the sealed error, but every ciphertext handed out must
// decrypt afterwards (none may be made under zeroed material).
func TestSealRacingEncrypt(t *testing.T) {
	ts := newTestService(t)
	ck, _ := ts.call(t, "CreateKey", map[string]any{})
	id := ck["KeyMetadata"].(map[string]any)["KeyId"].(string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var blobs []any
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, e := ts.call(t, "Encrypt", map[string]any{"KeyId": id, "Plaintext": b64("racing")})
				if e != nil {
					if e.Type != "ServiceUnavailableException" {
						t.Errorf("encrypt during seal: %v", e)
					}
					continue
				}
				mu.Lock()
				blobs = append(blobs, out["CiphertextBlob"])
				mu.Unlock()
			}
		}()
	}
	seals := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); seals++ {
		ts.sealed.Store(true)
		ts.DropSecrets()
		ts.sealed.Store(false)
		runtime.Gosched()
		mu.Lock()
		n := len(blobs)
		mu.Unlock()
		if n >= 2000 && seals >= 300 {
			break
		}
	}
	close(stop)
	wg.Wait()
	if len(blobs) == 0 {
		t.Fatal("no encrypt succeeded")
	}
	for _, b := range blobs {
		if _, e := ts.call(t, "Decrypt", map[string]any{"CiphertextBlob": b}); e != nil {
			t.Fatalf("a ciphertext made while sealing does not decrypt: %v", e)
		}
	}
	t.Logf("%d ciphertexts made across %d seals all decrypt", len(blobs), seals)
}
