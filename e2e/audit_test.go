package e2e

import (
	"context"
	"encoding/base64"
	be "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go/middleware"
)

// requestID is the id keyraft answered a call with (X-Amzn-RequestId), for
// successes and errors alike.
func requestID(meta middleware.Metadata, err error) string {
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) {
			return re.ServiceRequestID()
		}
		return ""
	}
	id, _ := awsmw.GetRequestIDMetadata(meta)
	return id
}

// expectation is one call and what its audit event must say.
type expectation struct {
	id, op, errCode, keyID string
	readOnly               bool
}

// TestAuditEvents: every operation, through a follower and through the
// leader, succeeding and failing, leaves exactly one event with the right
// fields on every node; no event holds any plaintext or data key; the chain
// verifies everywhere.
func TestAuditEvents(t *testing.T) {
	c := startUnsealedCluster(t)
	leader := c.waitLeader(10*time.Second, "")
	// The init carries its own event, so the log begins with it; refused
	// inits (anybody may try one) are only counted, never an event each.
	if first := auditEvents(t, leader.api, "limit=1"); len(first) != 1 || first[0]["eventName"] != "OperatorInit" || first[0]["errorCode"] != nil {
		t.Fatalf("the log begins %v, want a successful OperatorInit", first)
	}
	before := len(auditEvents(t, leader.api, ""))
	for i := 0; i < 20; i++ {
		node := []*proc{leader, c.follower(leader)}[i%2]
		if err := operator(t, node.api, nil, "init", "-key-shares", "1", "-key-threshold", "1"); err == nil || !strings.Contains(err.Error(), "already initialized") {
			t.Fatalf("a second init: %v", err)
		}
	}
	if inits := auditEvents(t, leader.api, "event_name=OperatorInit"); len(inits) != 1 {
		t.Fatalf("after 20 refused inits the OperatorInit events are %v", inits)
	}
	if after := len(auditEvents(t, leader.api, "")); after > before+2 { // at most a summary per node
		t.Fatalf("20 refused inits grew the audit log from %d to %d events", before, after)
	}
	// The audit commands' waits are their own (an hour for verify and
	// export: a long log takes minutes to read), and they are honoured.
	for _, sub := range []string{"verify", "export", "tail"} {
		if out, err := auditCLI(leader.api, sub, "-timeout", "1ns").CombinedOutput(); err == nil || !strings.Contains(string(out), "Timeout") {
			t.Fatalf("audit %s -timeout 1ns: %v %s", sub, err, out)
		}
	}
	var secrets [][]byte // plaintexts sent and data keys received
	var want []expectation
	for _, p := range []*proc{c.follower(leader), leader} {
		cl := kmsClient(p.api, c.creds, 1)
		add := func(meta middleware.Metadata, err error, op, code, keyID string, ro bool) {
			t.Helper()
			if apiCode(err) != code {
				t.Fatalf("%s via %s: got %q (%v), want %q", op, p.id, apiCode(err), err, code)
			}
			id := requestID(meta, err)
			if id == "" {
				t.Fatalf("%s via %s: no request id", op, p.id)
			}
			want = append(want, expectation{id: id, op: op, errCode: code, keyID: keyID, readOnly: ro})
		}
		ck, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{Description: aws.String("audited")})
		if err != nil {
			t.Fatal(err)
		}
		id := *ck.KeyMetadata.KeyId
		add(ck.ResultMetadata, err, "CreateKey", "", id, false)
		pt := []byte(fmt.Sprintf("top secret plaintext via %s", p.id))
		secrets = append(secrets, pt)
		enc, err := cl.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: &id, Plaintext: pt, EncryptionContext: map[string]string{"dept": "audit"}})
		add(enc.ResultMetadata, err, "Encrypt", "", id, true)
		dec, err := cl.Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"dept": "audit"}})
		add(dec.ResultMetadata, err, "Decrypt", "", id, true)
		dk, err := cl.GenerateDataKey(ctx10(t), &kms.GenerateDataKeyInput{KeyId: &id, KeySpec: types.DataKeySpecAes256})
		add(dk.ResultMetadata, err, "GenerateDataKey", "", id, true)
		secrets = append(secrets, dk.Plaintext)
		rnd, err := cl.GenerateRandom(ctx10(t), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(64)})
		add(rnd.ResultMetadata, err, "GenerateRandom", "", "", true)
		secrets = append(secrets, rnd.Plaintext)
		ca, err := cl.CreateAlias(ctx10(t), &kms.CreateAliasInput{AliasName: aws.String("alias/audit-" + p.id), TargetKeyId: &id})
		add(ca.ResultMetadata, err, "CreateAlias", "", "", false)
		// Every other operation once, each a single event.
		alias := "alias/audit-" + p.id
		other, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
		if err != nil {
			t.Fatal(err)
		}
		add(other.ResultMetadata, err, "CreateKey", "", *other.KeyMetadata.KeyId, false)
		oid := other.KeyMetadata.KeyId
		r1, err := cl.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: &id})
		add(r1.ResultMetadata, err, "DescribeKey", "", id, true)
		r2, err := cl.ListKeys(ctx10(t), &kms.ListKeysInput{})
		add(r2.ResultMetadata, err, "ListKeys", "", "", true)
		r3, err := cl.UpdateKeyDescription(ctx10(t), &kms.UpdateKeyDescriptionInput{KeyId: &id, Description: aws.String("d2")})
		add(r3.ResultMetadata, err, "UpdateKeyDescription", "", id, false)
		r4, err := cl.ReEncrypt(ctx10(t), &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: map[string]string{"dept": "audit"}, DestinationKeyId: oid})
		add(r4.ResultMetadata, err, "ReEncrypt", "", *oid, true)
		r5, err := cl.GenerateDataKeyWithoutPlaintext(ctx10(t), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &id, NumberOfBytes: aws.Int32(16)})
		add(r5.ResultMetadata, err, "GenerateDataKeyWithoutPlaintext", "", id, true)
		r6, err := cl.UpdateAlias(ctx10(t), &kms.UpdateAliasInput{AliasName: &alias, TargetKeyId: oid})
		add(r6.ResultMetadata, err, "UpdateAlias", "", *oid, false)
		r7, err := cl.ListAliases(ctx10(t), &kms.ListAliasesInput{})
		add(r7.ResultMetadata, err, "ListAliases", "", "", true)
		r8, err := cl.DeleteAlias(ctx10(t), &kms.DeleteAliasInput{AliasName: &alias})
		add(r8.ResultMetadata, err, "DeleteAlias", "", "", false)
		r9, err := cl.TagResource(ctx10(t), &kms.TagResourceInput{KeyId: &id, Tags: []types.Tag{{TagKey: aws.String("a"), TagValue: aws.String("b")}}})
		add(r9.ResultMetadata, err, "TagResource", "", id, false)
		r10, err := cl.ListResourceTags(ctx10(t), &kms.ListResourceTagsInput{KeyId: &id})
		add(r10.ResultMetadata, err, "ListResourceTags", "", id, true)
		r11, err := cl.UntagResource(ctx10(t), &kms.UntagResourceInput{KeyId: &id, TagKeys: []string{"a"}})
		add(r11.ResultMetadata, err, "UntagResource", "", id, false)
		r12, err := cl.EnableKeyRotation(ctx10(t), &kms.EnableKeyRotationInput{KeyId: &id})
		add(r12.ResultMetadata, err, "EnableKeyRotation", "", id, false)
		r13, err := cl.GetKeyRotationStatus(ctx10(t), &kms.GetKeyRotationStatusInput{KeyId: &id})
		add(r13.ResultMetadata, err, "GetKeyRotationStatus", "", id, true)
		r14, err := cl.RotateKeyOnDemand(ctx10(t), &kms.RotateKeyOnDemandInput{KeyId: &id})
		add(r14.ResultMetadata, err, "RotateKeyOnDemand", "", id, false)
		r15, err := cl.ListKeyRotations(ctx10(t), &kms.ListKeyRotationsInput{KeyId: &id})
		add(r15.ResultMetadata, err, "ListKeyRotations", "", id, true)
		r16, err := cl.DisableKeyRotation(ctx10(t), &kms.DisableKeyRotationInput{KeyId: &id})
		add(r16.ResultMetadata, err, "DisableKeyRotation", "", id, false)
		r17, err := cl.ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: oid, PendingWindowInDays: aws.Int32(7)})
		add(r17.ResultMetadata, err, "ScheduleKeyDeletion", "", *oid, false)
		r18, err := cl.CancelKeyDeletion(ctx10(t), &kms.CancelKeyDeletionInput{KeyId: oid})
		add(r18.ResultMetadata, err, "CancelKeyDeletion", "", *oid, false)
		r19, err := cl.EnableKey(ctx10(t), &kms.EnableKeyInput{KeyId: oid})
		add(r19.ResultMetadata, err, "EnableKey", "", *oid, false)
		ds, err := cl.DisableKey(ctx10(t), &kms.DisableKeyInput{KeyId: &id})
		add(ds.ResultMetadata, err, "DisableKey", "", id, false)
		// Refused and failed requests are events too.
		var none middleware.Metadata // failed calls carry their id in the error
		_, err = cl.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: &id, Plaintext: pt})
		add(none, err, "Encrypt", "DisabledException", id, true)
		_, err = cl.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: aws.String("alias/none")})
		add(none, err, "DescribeKey", "NotFoundException", "", true)
		// A request whose signature fails is counted, not recorded: it has
		// no event (nor request id) of its own, and nobody's name on it
		// (issue 14, item 4; TestRequestPipeline checks the summary).
		_, err = kmsClient(p.api, initOutput{AccessKeyID: c.creds.AccessKeyID, SecretAccessKey: "wrong"}, 1).ListKeys(ctx10(t), &kms.ListKeysInput{})
		if apiCode(err) != "InvalidSignatureException" || requestID(none, err) != "" {
			t.Fatalf("ListKeys with a wrong secret via %s: %v, request id %q", p.id, err, requestID(none, err))
		}
	}

	for _, p := range c.nodes {
		var events []map[string]any
		byID := map[string][]map[string]any{}
		waitFor(t, 10*time.Second, "every event on "+p.id, func() (bool, error) {
			events = auditEvents(t, p.api, "")
			byID = map[string][]map[string]any{}
			for _, ev := range events {
				id, _ := ev["requestID"].(string)
				byID[id] = append(byID[id], ev)
			}
			for _, w := range want {
				if len(byID[w.id]) == 0 {
					return false, fmt.Errorf("no event for %s %s", w.op, w.id)
				}
			}
			return true, nil
		})
		for _, w := range want {
			evs := byID[w.id]
			if len(evs) != 1 {
				t.Fatalf("%s: %d events for %s %s", p.id, len(evs), w.op, w.id)
			}
			checkEvent(t, evs[0], w, c.creds.AccessKeyID)
		}
		for _, ev := range events {
			raw, _ := json.Marshal(ev)
			if ev["errorCode"] == "InvalidSignatureException" {
				t.Fatalf("%s: a request that failed authentication has an event: %s", p.id, raw)
			}
			for _, sec := range secrets {
				for _, form := range []string{string(sec), base64.StdEncoding.EncodeToString(sec)} {
					if strings.Contains(string(raw), form) {
						t.Fatalf("%s: event %v contains a plaintext or data key", p.id, ev["eventID"])
					}
				}
			}
			if strings.Contains(string(raw), c.creds.SecretAccessKey) {
				t.Fatalf("%s: event contains the secret access key", p.id)
			}
		}
		var v struct {
			OK     bool   `json:"ok"`
			Events uint64 `json:"events"`
		}
		// The CLI's filtered export agrees with the raw log.
		exp, err := auditCLI(p.api, "export", "-event-name", "Encrypt", "-key-id", want[1].keyID).Output()
		if err != nil {
			t.Fatal(err)
		}
		// That key saw two Encrypts: one allowed, one refused once disabled.
		if lines := strings.Split(strings.TrimSpace(string(exp)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], want[1].id) {
			t.Fatalf("audit export -event-name Encrypt -key-id: %q", exp)
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		if exp, _ := auditCLI(p.api, "export", "-since", future).Output(); len(exp) != 0 {
			t.Fatalf("audit export -since the future: %q", exp)
		}
		out, err := auditCLI(p.api, "verify", "-format", "json").CombinedOutput()
		if err != nil || json.Unmarshal(out, &v) != nil || !v.OK || v.Events < uint64(len(want)) {
			t.Fatalf("audit verify on %s: %v %s", p.id, err, out)
		}
	}
}

func checkEvent(t *testing.T, ev map[string]any, w expectation, akid string) {
	t.Helper()
	fail := func(what string) { t.Fatalf("%s event %s: %s: %v", w.op, w.id, what, ev) }
	if ev["eventName"] != w.op || ev["eventSource"] != "kms.amazonaws.com" || ev["awsRegion"] != "us-east-1" ||
		ev["eventVersion"] == nil || ev["eventID"] == "" || ev["sourceIPAddress"] != "127.0.0.1" {
		fail("envelope")
	}
	if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["eventTime"])); err != nil {
		fail("eventTime")
	}
	if ev["readOnly"] != w.readOnly {
		fail("readOnly")
	}
	ui, _ := ev["userIdentity"].(map[string]any)
	if ui["accessKeyId"] != akid {
		fail("userIdentity")
	}
	if w.errCode != "" {
		if ev["errorCode"] != w.errCode || ev["errorMessage"] == nil && w.errCode != "NotFoundException" {
			fail("errorCode")
		}
	} else if ev["errorCode"] != nil {
		fail("unexpected errorCode")
	}
	if w.keyID != "" {
		res, _ := ev["resources"].([]any)
		// ReEncrypt names the destination, then the source (another key here).
		want := 1
		if w.op == "ReEncrypt" {
			want = 2
		}
		if len(res) != want || !strings.HasSuffix(fmt.Sprint(res[0].(map[string]any)["ARN"]), "key/"+w.keyID) {
			fail("resources")
		}
	}
	if w.op == "Encrypt" && w.errCode == "" {
		rp, _ := ev["requestParameters"].(map[string]any)
		if ec, _ := rp["encryptionContext"].(map[string]any); ec["dept"] != "audit" {
			fail("requestParameters.encryptionContext")
		}
	}
}

// TestAuditSurvivesLeaderKill: 16 clients encrypt while the leader is
// killed; every request a client saw succeed has exactly one event on every
// node (the killed one too, once restarted), and every chain verifies.
func TestAuditSurvivesLeaderKill(t *testing.T) {
	c := startUnsealedCluster(t)
	s := newSpread(c)
	key, err := s.next().CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	leader := c.waitLeader(10*time.Second, "")
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Clients talk to the survivors, as a load balancer would after the kill.
			var targets []*proc
			for _, p := range c.nodes {
				if p != leader {
					targets = append(targets, p)
				}
			}
			cl := kmsClient(targets[i%len(targets)].api, c.creds, 1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := cl.Encrypt(ctxTimeout(t, 20*time.Second), &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("load")})
				if err == nil {
					mu.Lock()
					acked[requestID(out.ResultMetadata, nil)] = true
					mu.Unlock()
				}
			}
		}()
	}
	acks := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	// Load acknowledged under the old leader, then under the new one.
	waitFor(t, 20*time.Second, "25 requests acknowledged before the kill", func() (bool, error) {
		n := acks()
		return n >= 25, fmt.Errorf("%d acknowledged", n)
	})
	leader.kill()
	c.waitLeader(10*time.Second, leader.id)
	elected := acks()
	waitFor(t, 20*time.Second, "25 requests acknowledged after the new leader's election", func() (bool, error) {
		n := acks() - elected
		return n >= 25, fmt.Errorf("%d acknowledged", n)
	})
	close(stop)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d acknowledged requests: the load did not run", len(acked))
	}
	delete(acked, "")
	leader.start(c.seeds())
	c.unseal(leader) // a sealed node cannot check who asks for its log

	for _, p := range c.nodes {
		waitFor(t, 30*time.Second, "every acknowledged request's event on "+p.id, func() (bool, error) {
			evs, err := tryAuditEvents(p.api, "event_name=Encrypt")
			if err != nil {
				return false, err
			}
			count := map[string]int{}
			for _, ev := range evs {
				count[fmt.Sprint(ev["requestID"])]++
			}
			for id := range acked {
				if count[id] != 1 {
					return false, fmt.Errorf("%s: request %s has %d events", p.id, id, count[id])
				}
			}
			return true, nil
		})
		out, err := auditCLI(p.api, "verify").CombinedOutput()
		if err != nil {
			t.Fatalf("audit verify on %s: %v %s", p.id, err, out)
		}
	}
	t.Logf("%d acknowledged encrypts across a leader kill, each audited once on all 3 nodes", len(acked))
}

// TestAuditTamperDetected: editing one event in a stopped node's store makes
// `keyraft audit verify -data-dir` fail and name it.
func TestAuditTamperDetected(t *testing.T) {
	c := startUnsealedCluster(t)
	cl := kmsClient(c.nodes[0].api, c.creds, 3)
	for range 5 {
		if _, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{}); err != nil {
			t.Fatal(err)
		}
	}
	victim := c.nodes[2]
	waitFor(t, 10*time.Second, "events on "+victim.id, func() (bool, error) {
		return len(auditEvents(t, victim.api, "event_name=CreateKey")) == 5, nil
	})
	victim.kill()
	if out, err := exec.Command(binary, "audit", "verify", "-data-dir", victim.dataDir).CombinedOutput(); err != nil {
		t.Fatalf("verify before tampering: %v %s", err, out)
	}
	victimSeq := tamperNewestEvent(t, filepath.Join(victim.dataDir, "audit"), "CreateKey", "DeleteKey")
	out, err := exec.Command(binary, "audit", "verify", "-data-dir", victim.dataDir).CombinedOutput()
	if err == nil {
		t.Fatalf("verify passed a tampered log: %s", out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("event %d", victimSeq)) {
		t.Fatalf("verify did not name event %d: %s", victimSeq, out)
	}
	t.Logf("tampered event %d: %s", victimSeq, strings.TrimSpace(string(out)))
}

// tamperNewestEvent rewrites old to new in the newest event of a stopped
// node's audit segments, as an attacker who knows the segment format
// (audit/frame.go) would: the frame's checksum is recomputed, so only the
// hash chain can give it away. It returns the event's sequence number.
func tamperNewestEvent(t *testing.T, dir, old, new string) uint64 {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no audit segments in %s: %v", dir, err)
	}
	sort.Strings(segs) // names are zero-padded first sequence numbers
	path := segs[len(segs)-1]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Header of 8 bytes, then frames: length u32 | crc32c u32 | flags u8 |
	// raft index u64 | seq u64 | prev [32] | hash [32] | event.
	last := -1
	for off := 8; off+8 <= len(b); {
		n := int(be.BigEndian.Uint32(b[off:]))
		if off+8+n > len(b) {
			break
		}
		last, off = off, off+8+n
	}
	if last < 0 {
		t.Fatalf("%s holds no record", path)
	}
	body := b[last+8 : last+8+int(be.BigEndian.Uint32(b[last:]))]
	seq := be.BigEndian.Uint64(body[9:])
	event := body[9+8+64:]
	i := strings.Index(string(event), old)
	if i < 0 {
		t.Fatalf("newest event %d has no %q: %s", seq, old, event)
	}
	copy(event[i:], new)
	be.BigEndian.PutUint32(b[last+4:], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestAuditRetention: with -audit-retain-events the leader trims the oldest
// events, records the trim as an event, and every node keeps the same
// verifying window.
// TestAuditRetentionBySize: with -audit-retain-mib every node keeps at
// most that many MiB of audit segments, the trims are events, and the
// trimmed logs still verify. Segments roll at 64 KiB here (a test flag) so
// that a MiB is a few thousand events, not 64 MiB of them.
func TestAuditRetentionBySize(t *testing.T) {
	const segment, limit = 64 << 10, 1 << 20
	c := startUnsealedCluster(t, "-audit-retain-mib", "1", "-test-audit-segment-size", fmt.Sprint(segment), "-test-day-length", "400ms")
	cl := kmsClient(c.nodes[0].api, c.creds, 3)
	key, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	// About 1.5 MiB of events, from 16 clients at once.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if _, err := cl.Encrypt(context.Background(), &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("x"),
					EncryptionContext: map[string]string{"purpose": "fill the audit log past its size bound"}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	segBytes := func(p *proc) (int64, int) {
		paths, _ := filepath.Glob(filepath.Join(p.dataDir, "audit", "*.seg"))
		var total int64
		for _, path := range paths {
			if fi, err := os.Stat(path); err == nil {
				total += fi.Size()
			}
		}
		return total, len(paths)
	}
	for _, p := range c.nodes {
		waitFor(t, 20*time.Second, "a log within its size bound on "+p.id, func() (bool, error) {
			total, n := segBytes(p)
			if total > limit {
				return false, fmt.Errorf("%s holds %d bytes in %d segments", p.id, total, n)
			}
			return true, nil
		})
		evs := auditEvents(t, p.api, "")
		trims := 0
		for _, ev := range evs {
			if ev["eventName"] == "AuditTrim" && ev["requestParameters"].(map[string]any)["retainMiB"] == 1.0 {
				trims++
			}
		}
		total, n := segBytes(p)
		if first := evs[0]["keyraftSequence"].(float64); first <= 1 || trims == 0 || total < limit-2*segment {
			t.Fatalf("%s: log from event %v with %d trims, %d bytes in %d segments", p.id, first, trims, total, n)
		}
		if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
			t.Fatalf("audit verify on %s after size trims: %v %s", p.id, err, out)
		}
	}
}

func TestAuditRetention(t *testing.T) {
	c := startUnsealedCluster(t, "-audit-retain-events", "40", "-test-day-length", "400ms")
	cl := kmsClient(c.nodes[0].api, c.creds, 3)
	key, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	for range 120 {
		if _, err := cl.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	var heads []float64
	for _, p := range c.nodes {
		waitFor(t, 20*time.Second, "a trimmed, verifying log on "+p.id, func() (bool, error) {
			evs, err := tryAuditEvents(p.api, "")
			if err != nil || len(evs) == 0 {
				return false, err
			}
			first := evs[0]["keyraftSequence"].(float64)
			trims := 0
			for _, ev := range evs {
				if ev["eventName"] == "AuditTrim" {
					trims++
				}
			}
			if first <= 1 || trims == 0 || len(evs) > 45 {
				return false, fmt.Errorf("%s: %d events from %v, %d trims", p.id, len(evs), first, trims)
			}
			heads = append(heads, evs[len(evs)-1]["keyraftSequence"].(float64))
			return true, nil
		})
		if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
			t.Fatalf("audit verify on %s after trims: %v %s", p.id, err, out)
		}
	}
	t.Logf("heads after retention: %v", heads)
}
