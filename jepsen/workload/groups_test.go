package workload

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyraft/keyraft/jepsen/history"
)

// flakyKMS creates keys and aliases and answers every other request with
// answer: a 503 that proves nothing (an indeterminate op), or a refusal.
func flakyKMS(t *testing.T, status int, body string) string {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("req-%d", n.Add(1)))
		switch target := r.Header.Get("X-Amz-Target"); {
		case strings.HasSuffix(target, ".CreateKey"):
			fmt.Fprintf(w, `{"KeyMetadata":{"KeyId":"key-%d","KeyState":"Enabled"}}`, n.Load())
		case strings.HasSuffix(target, ".CreateAlias"):
			fmt.Fprint(w, `{}`)
		default:
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// runFlaky drives a workload against a flaky KMS and returns its history.
func runFlaky(t *testing.T, cfg Config, status int, body string, d time.Duration) (*Workload, []history.Op) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := history.Create(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	url := flakyKMS(t, status, body)
	cfg.Endpoints = map[string]string{"n1": url, "n2": url}
	cfg.Region, cfg.AccessKey, cfg.SecretKey, cfg.Run, cfg.Recorder = "us-east-1", "AKID", "secret", "test", rec
	w := New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := w.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	w.Run(ctx)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := history.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return w, ops
}

// When every write ends without an answer, no group collects more than
// Indeterminate of them: a write starts only within the budget (writes in
// flight count), a group whose budget is spent retires, and fresh groups
// take over.
func TestGroupsBoundIndeterminateWrites(t *testing.T) {
	cfg := Config{Clients: 16, Rate: 400, Groups: 3, GroupLife: time.Hour, Indeterminate: 4, OpTimeout: time.Second, Seed: 1}
	w, ops := runFlaky(t, cfg, 503, `{"__type":"ServiceUnavailableException","message":"Leadership moved while forwarding; retry."}`, 2*time.Second)
	info := map[string]int{}
	for _, op := range ops {
		if op.Status == history.Info && isWrite(op.Type) {
			info[op.Group]++
		}
	}
	if len(info) == 0 {
		t.Fatal("no indeterminate writes recorded")
	}
	for g, n := range info {
		if n > cfg.Indeterminate {
			t.Errorf("group %s has %d indeterminate writes, more than %d", g, n, cfg.Indeterminate)
		}
	}
	if w.Groups() <= cfg.Groups {
		t.Fatalf("%d groups made: none retired", w.Groups())
	}
	t.Logf("%d ops, %d groups", len(ops), w.Groups())
}

// Groups retire after GroupLife even when nothing goes wrong; every key of
// every group, retired or not, is still listed for the final phase.
func TestGroupsRetireAfterLife(t *testing.T) {
	cfg := Config{Clients: 8, Rate: 200, Groups: 2, GroupLife: 200 * time.Millisecond, Seed: 2}
	w, ops := runFlaky(t, cfg, 400, `{"__type":"DisabledException","message":"disabled"}`, 1500*time.Millisecond)
	first, last := map[string]int64{}, map[string]int64{}
	for _, op := range ops {
		if _, ok := first[op.Group]; !ok {
			first[op.Group] = op.InvokeNS
		}
		last[op.Group] = op.InvokeNS
	}
	if len(first) < 5 {
		t.Fatalf("%d groups in 1.5 s with a 200 ms life", len(first))
	}
	for g := range first {
		// Setup precedes the group's life; allow for it.
		if span := time.Duration(last[g] - first[g]); span > time.Second {
			t.Errorf("group %s took ops for %s", g, span)
		}
	}
	keys := w.Keys()
	for _, op := range ops {
		if op.Type == history.CreateKey && op.Status == history.OK && keys[op.Key] != op.Group {
			t.Errorf("key %s of %s is not listed for the final phase", op.Key, op.Group)
		}
	}
}
