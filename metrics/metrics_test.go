package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestLabelsBounded: an operation outside the table and an error code
// outside the known set reach no label; each falls into one series.
func TestLabelsBounded(t *testing.T) {
	m := New()
	m.Gateway.Operations([]string{"Encrypt", "Decrypt"})
	m.Gateway.Request("Encrypt", "", time.Millisecond)
	m.Gateway.Request("Encrypt", "NotFoundException", time.Millisecond)
	m.Gateway.Request("AKIAEXAMPLE", "", time.Millisecond)
	m.Gateway.Request("Encrypt", "alias/secret-name", time.Millisecond)
	m.Gateway.Request("", "UnknownOperationException", time.Millisecond)
	m.Gateway.Forwarded("10.0.0.1")
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"keyraft_requests_total", map[string]string{"operation": "Encrypt", "code": "ok"}, 1},
		{"keyraft_requests_total", map[string]string{"operation": "Encrypt", "code": "NotFoundException"}, 1},
		{"keyraft_requests_total", map[string]string{"operation": "Encrypt", "code": "other"}, 1},
		{"keyraft_requests_total", map[string]string{"operation": "unknown", "code": "ok"}, 1},
		{"keyraft_requests_total", map[string]string{"operation": "unknown", "code": "UnknownOperationException"}, 1},
		{"keyraft_requests_total", map[string]string{"operation": "Decrypt", "code": "ok"}, 0},
		{"keyraft_requests_total", nil, 5},
		{"keyraft_request_duration_seconds", map[string]string{"operation": "Encrypt"}, 3},
		{"keyraft_forwarded_requests_total", map[string]string{"outcome": "other"}, 1},
	} {
		if got := m.Sample(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	text := scrape(t, m)
	for _, leaked := range []string{"AKIAEXAMPLE", "alias/secret-name", "10.0.0.1"} {
		if strings.Contains(text, leaked) {
			t.Errorf("the scrape holds %q", leaked)
		}
	}
}

// TestUnknownBeforeOperations: until the table is given, every operation
// is unknown, so nothing a client names reaches a label even then.
func TestUnknownBeforeOperations(t *testing.T) {
	m := New()
	m.Gateway.Request("Encrypt", "", 0)
	if got := m.Sample("keyraft_requests_total", map[string]string{"operation": "unknown"}); got != 1 {
		t.Fatalf("unknown = %v", got)
	}
}

// TestNilRecordsNothing: the instrumented packages run without metrics
// (their unit tests, tools): a nil part must be a no-op.
func TestNilRecordsNothing(t *testing.T) {
	var g *Gateway
	var r *Raft
	var a *Audit
	var n *Node
	var ap *Autopilot
	ap.State(true, 1)
	ap.Stopped()
	g.Operations([]string{"x"})
	g.Request("x", "", 0)
	g.Forwarded(ForwardAnswered)
	r.Commit(0)
	r.Applied(1, 0)
	r.LeaderChanged()
	r.WatchLeader(func() bool { return true })
	a.Batch(1, 0)
	a.WatchStore(func() int64 { return 1 })
	n.Watch(nil, nil, nil, nil)
	n.ConnectionRefused(RefusedMax)
	n.Unseal(200)
}

// TestGaugesRead: the gauges read what the node points them at, at
// scrape time, and read 0 before.
func TestGaugesRead(t *testing.T) {
	m := New()
	if got := m.Sample("keyraft_sealed", nil); got != 0 {
		t.Fatalf("sealed before Watch = %v", got)
	}
	sealed, conns := true, 3
	m.Node.Watch(func() bool { return sealed }, func() bool { return false }, func() int { return 2 }, func() int { return conns })
	m.Raft.WatchLeader(func() bool { return true })
	m.Audit.WatchStore(func() int64 { return 4096 })
	want := map[string]float64{"keyraft_sealed": 1, "keyraft_disk_full_alarm": 0, "keyraft_disk_alarms": 2,
		"keyraft_api_connections": 3, "keyraft_raft_is_leader": 1, "keyraft_audit_store_bytes": 4096}
	for name, v := range want {
		if got := m.Sample(name, nil); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	sealed, conns = false, 0
	if m.Sample("keyraft_sealed", nil) != 0 || m.Sample("keyraft_api_connections", nil) != 0 {
		t.Error("the gauges did not follow their functions")
	}
}

func TestUnsealResults(t *testing.T) {
	m := New()
	for _, s := range []int{200, 200, 400, 403, 429, 500, 503} {
		m.Node.Unseal(s)
	}
	for result, want := range map[string]float64{UnsealAccepted: 2, UnsealRejected: 2, UnsealThrottled: 1, UnsealError: 2} {
		if got := m.Sample("keyraft_unseal_attempts_total", map[string]string{"result": result}); got != want {
			t.Errorf("%s = %v, want %v", result, got, want)
		}
	}
	m.Node.ConnectionRefused(RefusedPerIP)
	m.Node.ConnectionRefused("something else")
	if m.Sample("keyraft_api_connections_refused_total", map[string]string{"reason": RefusedPerIP}) != 1 ||
		m.Sample("keyraft_api_connections_refused_total", map[string]string{"reason": Other}) != 1 {
		t.Error("refusals miscounted")
	}
}

func TestRaftAndAudit(t *testing.T) {
	m := New()
	m.Raft.Commit(3 * time.Millisecond)
	m.Raft.Applied(5, time.Microsecond)
	m.Raft.LeaderChanged()
	m.Audit.Batch(7, time.Millisecond)
	for name, want := range map[string]float64{"keyraft_raft_commit_seconds": 1, "keyraft_raft_fsm_apply_seconds": 1,
		"keyraft_raft_fsm_applied_entries_total": 5, "keyraft_raft_leader_changes_total": 1,
		"keyraft_audit_batch_events": 1, "keyraft_audit_batch_wait_seconds": 1} {
		if got := m.Sample(name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestCodeLabel: codes keyraft answers with are their own label.
func TestCodeLabel(t *testing.T) {
	for typ, want := range map[string]string{"": OK, "ValidationException": "ValidationException", "NoSuchEntity": "NoSuchEntity",
		"ServiceUnavailableException": "ServiceUnavailableException", "Bad Request": Other, "x\ny": Other} {
		if got := CodeLabel(typ); got != want {
			t.Errorf("CodeLabel(%q) = %q, want %q", typ, got, want)
		}
	}
}

// scrape reads the handler's answer through Prometheus's text parser.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	for name := range fams {
		if !strings.HasPrefix(name, Namespace+"_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("unexpected family %s", name)
		}
	}
	return rec.Body.String()
}

// TestOneScrapeAtATime: the limit of one scrape in flight holds across
// calls to Handler (one handler per registry, not one per request).
func TestOneScrapeAtATime(t *testing.T) {
	m := New()
	if m.Handler() != m.Handler() {
		t.Fatal("Handler makes a new handler per call: its in-flight limit would not hold")
	}
}
