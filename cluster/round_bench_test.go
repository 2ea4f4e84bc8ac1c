package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/config"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/internal/testport"
)

// BenchmarkRaftRound measures the replication layer alone, below HTTP,
// SigV4, KMS and the batcher: three nodes in this process (their own
// raft-boltdb files, Raft over TCP on loopback, the real FSM and audit
// store), the leader committing one audit batch after another with one in
// flight, as the batcher does. ns/op is a round's latency; cpu-µs/round is
// the process's CPU (all three nodes) per round, and cpu-µs/event that
// divided by the events in each entry. It is what a request costs, at the
// least, once divided among the requests sharing its round.
func BenchmarkRaftRound(b *testing.B) {
	for _, events := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) { benchRounds(b, events) })
	}
}

func benchRounds(b *testing.B, events int) {
	leader := startBenchCluster(b)
	batch := make([][]byte, events)
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		// Fresh ids per event, as requests have, so that deflate sees
		// what it sees in service.
		for i := range batch {
			batch[i] = benchEvent(b)
		}
		before := processCPU(b)
		cmd, err := fsm.NewAuditBatchCommand(batch, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := leader.Apply(ctx, cmd); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - before
	}
	perRound := float64(cpu.Microseconds()) / float64(b.N)
	b.ReportMetric(perRound, "cpu-µs/round")
	b.ReportMetric(perRound/float64(events), "cpu-µs/event")
}

// startBenchCluster starts three unsealed nodes that find each other by
// gossip and bootstrap together, and returns the leader once it is ready.
func startBenchCluster(b *testing.B) *Node {
	b.Helper()
	var nodes []*Node
	var seed string
	for i := range 3 {
		store, err := audit.Open(filepath.Join(b.TempDir(), "audit"))
		if err != nil {
			b.Fatal(err)
		}
		raftAddr := fmt.Sprintf("127.0.0.1:%d", testport.Take(b))
		gossip := fmt.Sprintf("127.0.0.1:%d", testport.Take(b))
		if i == 0 {
			seed = gossip
		}
		n, err := Start(Config{
			Cluster: config.Cluster{
				NodeID: fmt.Sprintf("n%d", i+1), DataDir: b.TempDir(),
				RaftAddr: raftAddr, GossipAddr: gossip,
				Join: []string{seed}, BootstrapExpect: 3,
			},
			RaftAdvertise: raftAddr, GossipAdvertise: gossip,
			ClusterAdvertise: fmt.Sprintf("127.0.0.1:%d", testport.Take(b)),
			APIAdvertise:     fmt.Sprintf("127.0.0.1:%d", testport.Take(b)),
			FSM:              fsm.New(store),
			Sealed:           func() bool { return false }, Initialized: func() bool { return true },
		})
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, n)
		b.Cleanup(func() { n.Shutdown(); _ = store.Close() })
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if !n.IsLeader() {
				continue
			}
			if peers, err := n.Peers(); err != nil || len(peers) != 3 {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := n.WaitReady(ctx)
			cancel()
			if err == nil {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("no leader of three voters within 30s")
	return nil
}

// benchEvent is an Encrypt event shaped as the server writes one.
func benchEvent(b *testing.B) []byte {
	const key = "arn:aws:kms:us-east-1:111122223333:key/0b6a9c9e-7f2e-4a3c-9d0e-1f2a3b4c5d6e"
	ev := audit.Event{
		EventVersion: audit.EventVersion, EventTime: time.Now().UTC().Format(time.RFC3339Nano),
		EventSource: audit.EventSource, EventName: "Encrypt", EventType: "AwsApiCall", AWSRegion: "us-east-1",
		SourceIPAddress: "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.41.0 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux api/kms#1.50.0 m/E",
		UserIdentity: &audit.UserIdentity{Type: "Root", PrincipalID: "111122223333", ARN: "arn:aws:iam::111122223333:root",
			AccountID: "111122223333", AccessKeyID: "AKIA5CI535GGYBE4T2BY"},
		RequestParameters: map[string]any{"keyId": key, "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
			"encryptionContext": map[string]any{"app": "bench"}, "numberOfBytes": 4096},
		ResponseElements:   map[string]any{"keyId": key},
		RequestID:          uuid.NewString(),
		EventID:            uuid.NewString(),
		ReadOnly:           true,
		Resources:          []audit.Resource{{ARN: key, AccountID: "111122223333", Type: "AWS::KMS::Key"}},
		RecipientAccountID: "111122223333", NodeID: "n1",
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
