package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// auditHead is the sequence number of the newest committed event on api.
func auditHead(t *testing.T, api string) float64 {
	t.Helper()
	evs := auditEvents(t, api, "last=1")
	if len(evs) != 1 {
		t.Fatalf("the audit log of %s is empty", api)
	}
	return evs[0]["keyraftSequence"].(float64)
}

// eventsSince returns the events committed after seq, as raw JSON lines too.
func eventsSince(t *testing.T, api string, seq float64) ([]map[string]any, []string) {
	t.Helper()
	evs := auditEvents(t, api, fmt.Sprintf("after=%d", int64(seq)))
	raw := make([]string, len(evs))
	for i, ev := range evs {
		b, _ := json.Marshal(ev)
		raw[i] = string(b)
	}
	return evs, raw
}

// eventOf finds the event of one request id.
func eventOf(t *testing.T, api, requestID string) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, 10*time.Second, "the event of "+requestID, func() (bool, error) {
		for _, ev := range auditEvents(t, api, "") {
			if ev["requestID"] == requestID {
				found = ev
				return true, nil
			}
		}
		return false, nil
	})
	return found
}

// TestRequestPipeline (issue 14, items 4, 8 and 17): member names are
// case-sensitive, the audit event is built from the request the operation
// ran, secrets never reach an event whatever their casing, strings must be
// UTF-8, bodies are bounded before they are read, and requests that fail
// authentication cost the replicated log nothing but a summary.
func TestRequestPipeline(t *testing.T) {
	c := startUnsealedCluster(t)
	leader := c.waitLeader(10*time.Second, "")
	follower := c.follower(leader)
	ak, sk := c.creds.AccessKeyID, c.creds.SecretAccessKey
	cl := kmsClient(leader.api, c.creds, 1)
	newKey := func() string {
		out, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
		if err != nil {
			t.Fatal(err)
		}
		return *out.KeyMetadata.KeyId
	}
	keyA, keyB := newKey(), newKey()

	// The flood first: its summary is written within a minute, while the
	// rest of the test runs.
	before := auditHead(t, leader.api)
	beforeIndex, err := status(t, leader.api)
	if err != nil {
		t.Fatal(err)
	}
	const forged = "AKIAFORGEDFORGED7777"
	mib := `{"KeyId":"` + keyA + `","Description":"` + strings.Repeat("x", 1<<20) + `"}`
	for i := range 100 {
		p := c.nodes[i%len(c.nodes)]
		got := rawCall(t, p.api, "TrentService.UpdateKeyDescription", mib, "", "", time.Now())
		if got.status < 400 {
			t.Fatalf("an unsigned 1 MiB request was answered %d", got.status)
		}
	}
	// Signed with a forged access key id, and with the root's id and a
	// wrong secret: attacker-chosen parameters under someone's name.
	for i := range 20 {
		p := c.nodes[i%len(c.nodes)]
		body := `{"KeyId":"` + keyA + `","Description":"forged-by-attacker"}`
		if got := rawCall(t, p.api, "TrentService.UpdateKeyDescription", body, forged, sk, time.Now()); got.errType != "UnrecognizedClientException" {
			t.Fatalf("a forged access key id: %d %s", got.status, got.errType)
		}
		if got := rawCall(t, p.api, "TrentService.UpdateKeyDescription", body, ak, "wrong"+sk, time.Now()); got.errType != "InvalidSignatureException" {
			t.Fatalf("a wrong secret: %d %s", got.status, got.errType)
		}
		if got := rawCall(t, p.api, "TrentService.UpdateKeyDescription", body, "", "", time.Now()); got.errType != "MissingAuthenticationTokenException" {
			t.Fatalf("unsigned: %d %s", got.status, got.errType)
		}
	}
	afterIndex, err := status(t, leader.api)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("UnauthenticatedNotReplicated", func(t *testing.T) {
		if d, err := cl.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: &keyA}); err != nil || aws.ToString(d.KeyMetadata.Description) != "" {
			t.Fatalf("after the failed requests key A is %+v, %v", d, err)
		}
		flood, _ := eventsSince(t, leader.api, before)
		for _, ev := range flood {
			if ev["eventName"] != "DescribeKey" && ev["eventName"] != "AuthenticationFailureSummary" {
				t.Fatalf("a request that failed authentication was recorded on its own: %v", ev)
			}
		}
		// The DescribeKey's event and at most a summary per node.
		if grew := afterIndex.RaftIndex - beforeIndex.RaftIndex; grew > 1+uint64(len(c.nodes)) {
			t.Fatalf("the unauthenticated requests grew the Raft log by %d entries", grew)
		}
	})

	t.Run("CaseSensitiveMembers", func(t *testing.T) {
		for _, p := range []*proc{leader, follower} {
			a, b := newKey(), newKey()
			got := rawCall(t, p.api, "TrentService.DisableKey", `{"KeyId":"`+a+`","keyid":"`+b+`"}`, ak, sk, time.Now())
			if got.status != 200 {
				t.Fatalf("DisableKey via %s: %d %s %s", p.id, got.status, got.errType, got.message)
			}
			for key, enabled := range map[string]bool{a: false, b: true} {
				d, err := cl.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String(key)})
				if err != nil || d.KeyMetadata.Enabled != enabled {
					t.Fatalf("after DisableKey {KeyId: A, keyid: B} via %s, key %s enabled=%v (%v), want %v", p.id, key, d.KeyMetadata.Enabled, err, enabled)
				}
			}
			ev := eventOf(t, leader.api, got.header.Get("X-Amzn-Requestid"))
			params, _ := ev["requestParameters"].(map[string]any)
			if params["keyId"] != a || len(params) != 1 {
				t.Fatalf("the DisableKey event records %v, want keyId %s only", params, a)
			}
			res, _ := ev["resources"].([]any)
			if len(res) != 1 || !strings.HasSuffix(res[0].(map[string]any)["ARN"].(string), a) {
				t.Fatalf("the DisableKey event's resources are %v", res)
			}
		}
	})

	t.Run("PlaintextNeverAudited", func(t *testing.T) {
		start := auditHead(t, leader.api)
		var markers []string
		marker := func() string {
			m := fmt.Sprintf("PLAINTEXT-MARKER-%d-%d", len(markers), time.Now().UnixNano())
			markers = append(markers, m, base64.StdEncoding.EncodeToString([]byte(m)))
			return base64.StdEncoding.EncodeToString([]byte(m))
		}
		for _, p := range []*proc{leader, follower} {
			// Misspelt: Plaintext is missing, so the call is invalid.
			for _, name := range []string{"plaintext", "PlainText", "PLAINTEXT", "plainText"} {
				got := rawCall(t, p.api, "TrentService.Encrypt", `{"KeyId":"`+keyA+`","`+name+`":"`+marker()+`"}`, ak, sk, time.Now())
				if got.status != 400 || got.errType != "ValidationException" {
					t.Fatalf("Encrypt with %q via %s: %d %s %s, want ValidationException", name, p.id, got.status, got.errType, got.message)
				}
			}
			// Valid, with odd-cased copies and secrets in unknown members.
			body := `{"KeyId":"` + keyA + `","Plaintext":"` + marker() + `","plaintext":"` + marker() + `","PlainText":"` + marker() +
				`","EncryptionContext":{"app":"pipeline"},"encryptionContext":{"leak":"` + marker() + `"},"Secret":"` + marker() + `"}`
			if got := rawCall(t, p.api, "TrentService.Encrypt", body, ak, sk, time.Now()); got.status != 200 {
				t.Fatalf("Encrypt with odd-cased copies via %s: %d %s %s", p.id, got.status, got.errType, got.message)
			}
			// GenerateDataKey and Decrypt through the SDK, for good measure.
			dk, err := kmsClient(p.api, c.creds, 1).GenerateDataKey(ctx10(t), &kms.GenerateDataKeyInput{KeyId: &keyA, KeySpec: types.DataKeySpecAes256})
			if err != nil {
				t.Fatal(err)
			}
			markers = append(markers, base64.StdEncoding.EncodeToString(dk.Plaintext))
		}
		_, raw := eventsSince(t, leader.api, start)
		for _, line := range raw {
			for _, m := range markers {
				if strings.Contains(line, m) {
					t.Fatalf("an event holds a secret (%s): %s", m, line)
				}
			}
		}
		if len(raw) < 12 {
			t.Fatalf("only %d events for 12 requests", len(raw))
		}
	})

	t.Run("NonUTF8Refused", func(t *testing.T) {
		for _, body := range []string{
			`{"KeyId":"` + keyA + "\xff" + `"}`,
			`{"KeyId":"alias/caf` + "\xe9" + `"}`,
		} {
			got := rawCall(t, follower.api, "TrentService.DescribeKey", body, ak, sk, time.Now())
			if got.status != 400 || got.errType != "SerializationException" {
				t.Fatalf("DescribeKey %q: %d %s %s, want SerializationException", body, got.status, got.errType, got.message)
			}
		}
		got := rawCall(t, leader.api, "TrentService.Encrypt", `{"KeyId":"`+keyA+`","Plaintext":"aGk=","EncryptionContext":{"k":"v`+"\xc3\x28"+`"}}`, ak, sk, time.Now())
		if got.status != 400 || got.errType != "SerializationException" {
			t.Fatalf("Encrypt with a non-UTF-8 context: %d %s %s", got.status, got.errType, got.message)
		}
	})

	t.Run("BodyBounded", func(t *testing.T) {
		// Just over 64 KiB, signed: refused.
		pad := `{"Pad":"` + strings.Repeat("y", 64<<10) + `"}`
		if got := rawCall(t, follower.api, "TrentService.ListKeys", pad, ak, sk, time.Now()); got.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("a signed %d-byte body: %d %s %s", len(pad), got.status, got.errType, got.message)
		}
		// The largest request AWS allows (a 32 KiB policy) is served.
		policy := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("p", 32<<10-200) + `","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
		if _, err := cl.PutKeyPolicy(ctx10(t), &kms.PutKeyPolicyInput{KeyId: &keyB, Policy: &policy, PolicyName: aws.String("default")}); err != nil {
			t.Fatalf("a 32 KiB policy: %v", err)
		}
		// A declared 1 MiB body is refused before a byte of it is sent.
		u, _ := url.Parse(leader.api)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n", u.Host, 1<<20)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a declared 1 MiB body before it was sent: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("a declared 1 MiB body: %d", resp.StatusCode)
		}
	})

	t.Run("AuthenticationFailuresSummarised", func(t *testing.T) {
		// Every failure is counted once, on the node that refused it (or,
		// for an access key a follower does not know, on the leader), and
		// each node summarises within a minute.
		const failed = 100 + 3*20
		var summaries []map[string]any
		var total float64
		waitFor(t, 150*time.Second, "summaries of all the failed authentications", func() (bool, error) {
			summaries = auditEvents(t, leader.api, "event_name=AuthenticationFailureSummary")
			total = 0
			for _, ev := range summaries {
				params, _ := ev["requestParameters"].(map[string]any)
				n, _ := params["failures"].(float64)
				total += n
				// The unseal posts that open nothing are counted in the
				// same summaries (the cluster's own ceremony made some).
				counts, _ := params["counts"].([]any)
				for _, c := range counts {
					c, _ := c.(map[string]any)
					if kind, _ := c["kind"].(string); strings.HasPrefix(kind, "OperatorUnseal") {
						k, _ := c["count"].(float64)
						total -= k
					}
				}
			}
			return total >= failed+2, fmt.Errorf("%v failures summarised", total)
		})
		all, raw := eventsSince(t, leader.api, before)
		for i, ev := range all {
			if id, ok := ev["userIdentity"].(map[string]any); ok && id["accessKeyId"] == forged {
				t.Fatalf("the forged access key id is an event's userIdentity: %s", raw[i])
			}
			if strings.Contains(raw[i], "forged-by-attacker") || strings.Contains(raw[i], "xxxxxxxx") {
				t.Fatalf("an event holds what an unauthenticated request sent: %.300s", raw[i])
			}
			switch ev["errorCode"] {
			case "MissingAuthenticationTokenException", "InvalidSignatureException", "UnrecognizedClientException":
				t.Fatalf("a failed authentication has an event of its own: %s", raw[i])
			}
		}
		perNode := map[any]int{}
		for _, ev := range summaries {
			if ev["userIdentity"] != nil {
				t.Fatalf("a summary names a user: %v", ev)
			}
			perNode[ev["keyraftNodeId"]]++
		}
		// BodyBounded's two oversized bodies are counted too.
		if total != failed+2 {
			t.Fatalf("%v failures summarised, %d sent", total, failed)
		}
		for node, n := range perNode {
			if n > 3 { // one a minute at most, and the test lasts about two
				t.Fatalf("%d summaries from %v", n, node)
			}
		}
		if b, _ := json.Marshal(summaries); !bytes.Contains(b, []byte(forged)) {
			t.Fatalf("the summaries do not name the claimed access key id: %s", b)
		}
	})
}
