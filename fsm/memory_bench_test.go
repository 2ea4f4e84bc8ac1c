package fsm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// BenchmarkAuditMemory applies b.N audit events, in Raft entries of 16 as
// the leader's group commit makes them under load, to an FSM over a real
// audit store on disk, and reports the process's resident memory and Go
// heap afterwards. The audit issue asks that a node's memory not grow with
// the number of events:
//
//	go test ./fsm -run NONE -bench AuditMemory -benchtime 10000000x
func BenchmarkAuditMemory(b *testing.B) {
	store, err := audit.Open(filepath.Join(b.TempDir(), "audit"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	f := New(store)
	// A CloudTrail-shaped Encrypt event of typical size (~900 bytes).
	ev := []byte(`{"eventVersion":"1.08","eventTime":"2026-11-22T14:28:39.062347413Z","eventSource":"kms.amazonaws.com","eventName":"Encrypt","eventType":"AwsApiCall","awsRegion":"us-east-1","sourceIPAddress":"127.0.0.1","userAgent":"aws-sdk-go-v2/1.47.7 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/kms#1.62.4 m/E","userIdentity":{"type":"IAMUser","principalId":"AIDA45BE5E71F61FB4005","arn":"arn:aws:iam::111122223333:user/billing","accountId":"111122223333","accessKeyId":"AKIALPNG5GCSQ6CDKWGT"},"requestParameters":{"encryptionContext":{"job":"invoices"},"keyId":"alias/bench-0"},"responseElements":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","keyId":"arn:aws:kms:us-east-1:111122223333:key/c9cd9fff-a822-4918-bf72-e66f5e9d6ef6"},"requestID":"093d19c1-c5e3-4c7c-8a91-7c3e845f3b5e","eventID":"4de3273d-3fa7-42f9-a66e-e11ef3aea9b2","readOnly":true,"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/c9cd9fff-a822-4918-bf72-e66f5e9d6ef6","accountId":"111122223333","type":"AWS::KMS::Key"}],"recipientAccountId":"111122223333","keyraftNodeId":"n1"}`)
	const perEntry, entriesPerRun = 16, 8
	events := make([][]byte, perEntry)
	for i := range events {
		events[i] = ev
	}
	entry, err := NewCommand(CmdAuditBatch, &fsmpb.AuditBatch{Events: events}, time.Unix(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ev)))
	b.ResetTimer()
	var index uint64
	for done := 0; done < b.N; {
		logs := make([]*raft.Log, 0, entriesPerRun)
		for len(logs) < entriesPerRun && done < b.N {
			index++
			logs = append(logs, &raft.Log{Index: index, Type: raft.LogCommand, Data: entry})
			done += perEntry
		}
		for _, r := range f.ApplyBatch(logs) {
			if err, ok := r.(error); ok {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(rssBytes(b))/(1<<20), "rss-MiB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// rssBytes reads VmRSS from /proc/self/status.
func rssBytes(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if rest, ok := strings.CutPrefix(string(line), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(fmt.Errorf("VmRSS %q: %w", rest, err))
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
