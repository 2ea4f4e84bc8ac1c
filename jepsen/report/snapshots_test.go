package report

import (
	"strings"
	"testing"
)

// Lines as hashicorp/raft v1.8.0 logs them through hclog.
const raftLog = `2026-11-22T19:15:41.819Z [INFO]  keyraft.cluster.raft: starting snapshot up to: index=103
2026-11-22T19:15:41.825Z [INFO]  keyraft.cluster.raft: snapshot complete up to: index=103
2026-11-22T19:15:42.217Z [INFO]  keyraft.cluster.raft: starting snapshot up to: index=193
2026-11-22T19:15:42.225Z [INFO]  keyraft.cluster.raft: snapshot complete up to: index=193
2026-11-22T19:15:55.520Z [INFO]  keyraft.cluster.raft: starting restore from snapshot: id=2-21200-1795375767018 last-index=21200
2026-11-22T19:15:55.660Z [INFO]  keyraft.cluster.raft: restored from snapshot: id=2-21200-1795375767018 last-index=21200
2026-11-22T19:15:58.365Z [INFO]  keyraft.cluster.raft: snapshot restore progress: id=2-193-1795374462308 percent-complete="100.00%"
2026-11-22T19:15:58.366Z [INFO]  keyraft.cluster.raft: Installed remote snapshot
`

func TestCountSnapshots(t *testing.T) {
	got := CountSnapshots([]byte(raftLog))
	if want := (SnapshotCounts{Taken: 2, Restored: 1, Installed: 1}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	s := Summary{Snapshots: map[string]SnapshotCounts{"n2": got, "n1": {}}}
	if text := s.Text(); !strings.Contains(text, " n1 0/0/0 n2 2/1/1\n") {
		t.Fatalf("summary text lacks the snapshot line:\n%s", text)
	}
}
