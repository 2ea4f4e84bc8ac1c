package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestJSONLogs: with -log-format json every line a node writes, of every
// subsystem (raft, gossip, the node itself), is one JSON object; memberlist's
// lines keep their own level instead of arriving as INFO text.
func TestJSONLogs(t *testing.T) {
	c := startUnsealedCluster(t, "-log-format", "json")
	leader := c.waitLeader(20*time.Second, "")
	if _, err := kmsClient(leader.api, c.creds, 3).CreateKey(ctx10(t), &kms.CreateKeyInput{}); err != nil {
		t.Fatal(err)
	}
	// Gossip's debug lines come with the join; wait until each node has
	// written one, so that the check below covers them.
	waitFor(t, 20*time.Second, "a memberlist line in every log", func() (bool, error) {
		for _, p := range c.nodes {
			if ok, err := logHas([]*proc{p}, `"@module":"keyraft.cluster.gossip"`); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	})
	for _, p := range c.nodes {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			t.Fatal(err)
		}
		modules := map[string]int{}
		var started bool
		for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Errorf("%s line %d is not JSON: %q", p.id, i+1, line)
				continue
			}
			if m["@level"] == nil || m["@message"] == nil || m["@timestamp"] == nil {
				t.Errorf("%s line %d lacks hclog's fields: %q", p.id, i+1, line)
			}
			mod, _ := m["@module"].(string)
			modules[mod]++
			msg, _ := m["@message"].(string)
			if strings.Contains(msg, "[DEBUG]") || strings.Contains(msg, "[INFO]") || strings.Contains(msg, "[WARN]") || strings.Contains(msg, "[ERR") {
				t.Errorf("%s line %d carries another logger's level in its message: %q", p.id, i+1, line)
			}
			if strings.HasPrefix(mod, "keyraft.cluster.gossip") && strings.HasPrefix(msg, "memberlist:") && m["@level"] == "info" &&
				strings.Contains(msg, "Stream connection") {
				t.Errorf("%s: memberlist's debug line logged as info: %q", p.id, line)
			}
			if msg == "keyraft node started" {
				v, _ := m["version"].(string)
				started = strings.HasPrefix(v, "0.")
			}
		}
		for _, want := range []string{"keyraft", "keyraft.cluster.raft", "keyraft.cluster.gossip"} {
			if modules[want] == 0 {
				t.Errorf("%s: no line of %s (modules: %v)", p.id, want, modules)
			}
		}
		if !started {
			t.Errorf("%s: no start-up line with the version", p.id)
		}
	}
}
