package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one GET /metrics of a node, parsed by Prometheus's own text
// parser, and its raw text.
type scrape struct {
	families map[string]*dto.MetricFamily
	raw      string
}

func scrapeNode(t *testing.T, api string) scrape {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Ask for the text format, as a Prometheus that cannot negotiate
	// protobuf does.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := httpClient(api).Do(req)
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", api, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %v: %.200s", api, resp.StatusCode, err, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("the text parser refused %s/metrics: %v", api, err)
	}
	return scrape{families: fams, raw: string(b)}
}

// value is the sample of family name whose labels include want (a
// counter's or gauge's value, a histogram's count), summed over the
// samples that match; 0 when there is none.
func (s scrape) value(name string, want map[string]string) float64 {
	f, ok := s.families[name]
	if !ok {
		return 0
	}
	total := 0.0
samples:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue samples
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func (s scrape) sum(name string) float64 {
	f, ok := s.families[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		total += m.GetHistogram().GetSampleSum()
	}
	return total
}

// TestMetricsScrape: after a known set of requests sent to a follower, the
// three nodes' scrapes, read by Prometheus's text parser, show them where
// docs/metrics.md says: counted once, by the node the client sent them to,
// by operation and error code; forwarded to the leader; committed by the
// leader's Raft and audit batcher; and no label carries a key id, an access
// key id or an address. Every keyraft_ metric scraped is documented, and
// every documented one is scraped.
func TestMetricsScrape(t *testing.T) {
	c := startUnsealedCluster(t)
	leader := c.waitLeader(20*time.Second, "")
	f := c.follower(leader)
	cl := kmsClient(f.api, c.creds, 1)
	ctx := ctx10(t)
	// A key first: the requests counted below use it.
	key, err := cl.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := aws.ToString(key.KeyMetadata.KeyId)

	before := map[*proc]scrape{}
	for _, p := range c.nodes {
		before[p] = scrapeNode(t, p.api)
	}
	if l := c.waitLeader(20*time.Second, ""); l != leader {
		t.Fatalf("leadership moved from %s to %s during the test; the per-node counts below assume one leader", leader.id, l.id)
	}

	for range 3 {
		if _, err := cl.Encrypt(ctx, &kms.EncryptInput{KeyId: &keyID, Plaintext: []byte("metrics")}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		_, err := cl.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("not a ciphertext blob at all, long enough")})
		wantCode(t, "Decrypt of garbage", err, "InvalidCiphertextException")
	}
	_, err = cl.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("11111111-2222-3333-4444-555555555555")})
	wantCode(t, "DescribeKey of a missing key", err, "NotFoundException")
	// An operation keyraft does not have, named by the client: counted as
	// "unknown", whatever it is called.
	status, body := send(t, f.api, signedRequest(t, f.api, c.creds, "TrentService.Attacker-Chosen-Name", "{}"))
	if status != http.StatusBadRequest || !strings.Contains(body, "UnknownOperationException") {
		t.Fatalf("unknown operation: %d %s", status, body)
	}

	// A share that is not base64, to the follower: refused, and counted
	// under the result its status means.
	ureq, err := http.NewRequest(http.MethodPost, f.api+"/v1/sys/unseal", strings.NewReader(`{"key":"%%% not base64"}`))
	if err != nil {
		t.Fatal(err)
	}
	uresp, err := httpClient(f.api).Do(ureq)
	if err != nil {
		t.Fatal(err)
	}
	uresp.Body.Close()
	unsealResult := map[bool]string{true: "rejected", false: "accepted"}[uresp.StatusCode >= 400]
	switch {
	case uresp.StatusCode == http.StatusTooManyRequests:
		unsealResult = "throttled"
	case uresp.StatusCode >= 500:
		unsealResult = "error"
	}

	after := map[*proc]scrape{}
	for _, p := range c.nodes {
		after[p] = scrapeNode(t, p.api)
	}
	if l := c.waitLeader(20*time.Second, ""); l != leader {
		t.Fatalf("leadership moved from %s to %s during the test", leader.id, l.id)
	}
	delta := func(p *proc, name string, labels map[string]string) float64 {
		return after[p].value(name, labels) - before[p].value(name, labels)
	}
	for _, w := range []struct {
		op, code string
		n        float64
	}{
		{"Encrypt", "ok", 3},
		{"Decrypt", "InvalidCiphertextException", 2},
		{"DescribeKey", "NotFoundException", 1},
		{"unknown", "UnknownOperationException", 1},
	} {
		labels := map[string]string{"operation": w.op, "code": w.code}
		if got := delta(f, "keyraft_requests_total", labels); got != w.n {
			t.Errorf("follower %s: keyraft_requests_total%v moved by %v, want %v", f.id, labels, got, w.n)
		}
		if got := delta(f, "keyraft_request_duration_seconds", map[string]string{"operation": w.op}); got != w.n {
			t.Errorf("follower %s: keyraft_request_duration_seconds{operation=%q} count moved by %v, want %v", f.id, w.op, got, w.n)
		}
	}
	if got := delta(f, "keyraft_requests_total", nil); got != 7 {
		t.Errorf("follower %s: keyraft_requests_total moved by %v in all, want 7", f.id, got)
	}
	if got := delta(f, "keyraft_unseal_attempts_total", map[string]string{"result": unsealResult}); got != 1 || uresp.StatusCode < 400 {
		t.Errorf("follower %s: an unseal with a share that is not base64 answered %d; keyraft_unseal_attempts_total{result=%q} moved by %v, want a 4xx counted once",
			f.id, uresp.StatusCode, unsealResult, got)
	}
	if got := delta(f, "keyraft_forwarded_requests_total", map[string]string{"outcome": "answered"}); got != 7 {
		t.Errorf("follower %s: forwarded answered moved by %v, want 7", f.id, got)
	}
	for _, p := range c.nodes {
		if p == f {
			continue
		}
		// Forwarded requests are counted where the client sent them.
		if got := delta(p, "keyraft_requests_total", nil); got != 0 {
			t.Errorf("%s: keyraft_requests_total moved by %v for requests sent to %s, want 0", p.id, got, f.id)
		}
	}
	// Each of the 7 requests' events went through the leader's batcher
	// (none changed state), in batches that Raft committed and every node
	// applied.
	if got := after[leader].sum("keyraft_audit_batch_events") - before[leader].sum("keyraft_audit_batch_events"); got < 7 {
		t.Errorf("leader %s: keyraft_audit_batch_events_sum moved by %v, want at least 7", leader.id, got)
	}
	if got := delta(leader, "keyraft_audit_batch_wait_seconds", nil); got < 1 {
		t.Errorf("leader %s: no audit batch wait observed", leader.id)
	}
	if got := delta(leader, "keyraft_raft_commit_seconds", nil); got < 1 {
		t.Errorf("leader %s: keyraft_raft_commit_seconds count moved by %v, want at least 1", leader.id, got)
	}
	leaders := 0.0
	for _, p := range c.nodes {
		a := after[p]
		if got := delta(p, "keyraft_raft_fsm_applied_entries_total", nil); got < 1 {
			t.Errorf("%s: keyraft_raft_fsm_applied_entries_total moved by %v, want at least 1", p.id, got)
		}
		if a.value("keyraft_raft_fsm_apply_seconds", nil) < 1 || a.value("keyraft_audit_store_bytes", nil) <= 0 {
			t.Errorf("%s: no apply timed or an empty audit store", p.id)
		}
		if a.value("keyraft_sealed", nil) != 0 || a.value("keyraft_disk_full_alarm", nil) != 0 || a.value("keyraft_disk_alarms", nil) != 0 {
			t.Errorf("%s: sealed %v, disk alarm %v/%v: want 0 on an unsealed, healthy node", p.id,
				a.value("keyraft_sealed", nil), a.value("keyraft_disk_full_alarm", nil), a.value("keyraft_disk_alarms", nil))
		}
		if a.value("keyraft_raft_leader_changes_total", nil) < 1 {
			t.Errorf("%s: saw no leader elected", p.id)
		}
		if a.value("keyraft_unseal_attempts_total", map[string]string{"result": "accepted"}) < 1 {
			t.Errorf("%s: its unseal was not counted", p.id)
		}
		if a.value("keyraft_api_connections", nil) < 1 {
			t.Errorf("%s: keyraft_api_connections is %v while the scrape's own connection is open", p.id, a.value("keyraft_api_connections", nil))
		}
		leaders += a.value("keyraft_raft_is_leader", nil)
		if a.value("keyraft_raft_is_leader", nil) != map[bool]float64{true: 1}[p == leader] {
			t.Errorf("%s: keyraft_raft_is_leader = %v", p.id, a.value("keyraft_raft_is_leader", nil))
		}
		// Nothing a client chose or identifies it reaches a label.
		for _, secret := range []string{keyID, c.creds.AccessKeyID, "Attacker-Chosen-Name", "127.0.0.1", "11111111-2222"} {
			if strings.Contains(a.raw, secret) {
				t.Errorf("%s: the scrape contains %q", p.id, secret)
			}
		}
	}
	// A labelled metric has no series on a node until it is used there
	// (keyraft_request_duration_seconds on a node no client called): the
	// documentation is checked against the cluster's scrapes together.
	var scrapes []scrape
	for _, p := range c.nodes {
		scrapes = append(scrapes, after[p])
	}
	checkDocumented(t, scrapes)
	if leaders != 1 {
		t.Errorf("keyraft_raft_is_leader sums to %v over the cluster, want 1", leaders)
	}
	// Sealing shows at once on the sealed node; unsealing it again counts
	// each share it took.
	if err := operator(t, f.api, nil, "seal"); err != nil {
		t.Fatal(err)
	}
	if got := scrapeNode(t, f.api).value("keyraft_sealed", nil); got != 1 {
		t.Errorf("follower %s: keyraft_sealed = %v after operator seal, want 1", f.id, got)
	}
	accepted := map[string]string{"result": "accepted"}
	sealedScrape := scrapeNode(t, f.api)
	c.unseal(f)
	unsealed := scrapeNode(t, f.api)
	if got := unsealed.value("keyraft_sealed", nil); got != 0 {
		t.Errorf("follower %s: keyraft_sealed = %v after unseal, want 0", f.id, got)
	}
	if got := unsealed.value("keyraft_unseal_attempts_total", accepted) - sealedScrape.value("keyraft_unseal_attempts_total", accepted); got != float64(c.creds.Threshold) {
		t.Errorf("follower %s: %v unseal calls counted as accepted, want the %d shares given", f.id, got, c.creds.Threshold)
	}
	// The leader killed: each survivor counts the new leader, and the one
	// elected says it leads.
	for _, p := range c.nodes {
		before[p] = scrapeNode(t, p.api)
	}
	leader.kill()
	next := c.waitLeader(30*time.Second, leader.id)
	for _, p := range c.nodes {
		if p == leader {
			continue
		}
		waitFor(t, 10*time.Second, p.id+" to count the new leader", func() (bool, error) {
			s := scrapeNode(t, p.api)
			got := s.value("keyraft_raft_leader_changes_total", nil) - before[p].value("keyraft_raft_leader_changes_total", nil)
			lead := s.value("keyraft_raft_is_leader", nil)
			// At least one: a split vote may elect twice before settling.
			return got >= 1 && lead == map[bool]float64{true: 1}[p == next], fmt.Errorf("%v leader changes, is_leader %v", got, lead)
		})
	}
}

// checkDocumented fails unless the keyraft_ metric families of the scrapes
// and those docs/metrics.md's table lists are the same, with the same
// labels.
func checkDocumented(t *testing.T, scrapes []scrape) {
	t.Helper()
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	// A table row: | `name` | type | `label`, `label` | meaning |
	row := regexp.MustCompile("(?m)^\\| `(keyraft_[a-z_]+)` \\| [a-z]+ \\| ([^|]*)\\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		labels := strings.Fields(strings.NewReplacer("`", "", ",", " ", "—", "").Replace(m[2]))
		sort.Strings(labels)
		documented[m[1]] = strings.Join(labels, ",")
	}
	if len(documented) == 0 {
		t.Fatal("docs/metrics.md lists no metric")
	}
	scraped := map[string]bool{}
	for _, s := range scrapes {
		for name, fam := range s.families {
			if !strings.HasPrefix(name, "keyraft_") {
				continue
			}
			scraped[name] = true
			checkLabels(t, name, fam, documented)
		}
	}
	for name := range documented {
		if !scraped[name] {
			t.Errorf("docs/metrics.md lists %s, which no node's scrape has", name)
		}
	}
}

// checkLabels fails unless fam is documented, with the labels its every
// sample has.
func checkLabels(t *testing.T, name string, fam *dto.MetricFamily, documented map[string]string) {
	t.Helper()
	labels, ok := documented[name]
	if !ok {
		t.Errorf("%s is scraped but not in docs/metrics.md", name)
		return
	}
	for _, m := range fam.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			if l.GetName() != "le" {
				got = append(got, l.GetName())
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != labels {
			t.Errorf("%s has labels %v, docs/metrics.md says %q", name, got, labels)
			return
		}
	}
}

// TestMetricsDisabled: -disable-metrics answers GET /metrics 404.
func TestMetricsDisabled(t *testing.T) {
	api, _, _, _ := devNodeProc(t, "-disable-metrics")
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics with -disable-metrics: %d, want 404", resp.StatusCode)
	}
}

// TestMetricsConnections: the API listener's connections and the idle ones
// it closes at -max-connections show in the scrape that made room.
func TestMetricsConnections(t *testing.T) {
	api, _, _, _ := devNodeProc(t, "-max-connections", "2")
	before := scrapeNode(t, api)
	addr := strings.TrimPrefix(api, "http://")
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	// Both held connections are idle (no request yet): once the listener
	// has accepted them, the next scrape's connection takes the slot of the
	// longest-idle one, and that scrape already counts the eviction (the
	// listener reports it before it hands the new connection over).
	waitFor(t, 10*time.Second, "a scrape to evict an idle connection", func() (bool, error) {
		s := scrapeNode(t, api)
		return s.value("keyraft_api_connections_refused_total", map[string]string{"reason": "evicted_idle"}) >= 1, nil
	})
	after := scrapeNode(t, api)
	if got := after.value("keyraft_api_connections", nil); got < 1 || got > 2 {
		t.Errorf("keyraft_api_connections = %v with -max-connections 2", got)
	}
	evicted := after.value("keyraft_api_connections_refused_total", map[string]string{"reason": "evicted_idle"}) -
		before.value("keyraft_api_connections_refused_total", map[string]string{"reason": "evicted_idle"})
	if evicted < 1 {
		t.Errorf("no idle connection counted as evicted")
	}
	if other := after.value("keyraft_api_connections_refused_total", map[string]string{"reason": "other"}); other != 0 {
		t.Errorf("%v refusals counted as other", other)
	}
}
