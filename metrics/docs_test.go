package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDashboard: docs/grafana-dashboard.json is a dashboard Grafana can
// import (an importable data source input, panels with queries on it) and
// queries only metrics this package defines.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			PluginID string `json:"pluginId"`
		} `json:"__inputs"`
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string             `json:"type"`
			Title   string             `json:"title"`
			GridPos struct{ W, H int } `json:"gridPos"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
		SchemaVersion int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 || len(d.Inputs) != 1 || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("not an importable dashboard: title %q uid %q schema %d inputs %+v", d.Title, d.UID, d.SchemaVersion, d.Inputs)
	}
	m := New()
	m.Gateway.Request("x", "", 0) // a labelled family is gathered once it has a series
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, f := range fams {
		defined[f.GetName()] = true
	}
	name := regexp.MustCompile(`keyraft_[a-z_]+`)
	used := map[string]bool{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.GridPos.W == 0 || p.GridPos.H == 0 || len(p.Targets) == 0 {
			t.Errorf("panel %q: no size or no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, n := range name.FindAllString(q.Expr, -1) {
				base := n
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(n, suffix); ok && defined[b] {
						base = b
					}
				}
				if !defined[base] {
					t.Errorf("panel %q queries %s, which keyraft does not define", p.Title, n)
				}
				used[base] = true
			}
		}
	}
	// The panels the brief asks for: requests, errors, latency, leader
	// changes, raft commit time, audit batches, seal state, disk.
	for _, want := range []string{"keyraft_requests_total", "keyraft_request_duration_seconds", "keyraft_raft_leader_changes_total",
		"keyraft_raft_commit_seconds", "keyraft_audit_batch_events", "keyraft_sealed", "keyraft_disk_full_alarm"} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}
