package fsm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/keyraft/keyraft/fsm/fsmpb"
)

// scalePolicy is the size and shape of the default key policy every key
// carries (policy.DefaultKeyPolicy).
const scalePolicy = `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`

// scaleFSM applies, as commands, what issue 18's scale targets hold:
// keys keys (one in ten rotating a year on, one in fifty pending deletion
// in 30 days), users users each with an access key and a policy, and
// grants grants on the first key spread over the users. Nothing is due
// at the time it returns (scaleNow).
func scaleFSM(tb testing.TB, keys, grants, users int) (*FSM, uint64) {
	tb.Helper()
	f := New(nil)
	return f, scaleOn(tb, f, keys, grants, users)
}

// scaleOn is scaleFSM on a new FSM of the caller's; it returns the index
// of the last entry applied.
func scaleOn(tb testing.TB, f *FSM, keys, grants, users int) uint64 {
	tb.Helper()
	var idx uint64
	apply := func(t CommandType, p proto.Message) {
		idx++
		cmd, err := NewCommand(t, p, scaleNow)
		if err != nil {
			tb.Fatal(err)
		}
		if res := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: cmd}); res != nil {
			tb.Fatalf("%s: %v", t, res)
		}
	}
	apply(CmdInit, &fsmpb.Init{Shares: 1, Threshold: 1, SealedKeyring: []byte("k"),
		RootAccessKey: &fsmpb.AccessKey{AccessKeyId: "AKIAROOT", SealedSecret: sealedUnder(1, 40)}})
	now := scaleNow.UnixNano()
	later := func(d time.Duration) int64 { return scaleNow.Add(d).UnixNano() }
	for i := range keys {
		k := &fsmpb.Key{
			KeyId: scaleKeyID(i), CreationDate: now, KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT",
			KeyState: string(StateEnabled), Origin: "AWS_KMS", Policy: scalePolicy,
			Material: []*fsmpb.KeyMaterial{{Version: 1, Sealed: sealedUnder(1, 60), CreateDate: now}},
		}
		switch {
		case i%10 == 0:
			k.RotationEnabled, k.RotationPeriodDays, k.NextRotationDate = true, 365, later(365*24*time.Hour)
		case i%50 == 1:
			k.KeyState, k.DeletionDate, k.PendingWindowDays = string(StatePendingDeletion), later(30*24*time.Hour), 30
		}
		apply(CmdCreateKey, &fsmpb.CreateKey{Key: k})
	}
	for i := range users {
		name := fmt.Sprintf("user-%05d", i)
		arn := "arn:aws:iam::111122223333:user/" + name
		apply(CmdCreateUser, &fsmpb.CreateUser{User: &fsmpb.User{Name: name, Arn: arn, UserId: fmt.Sprintf("AIDA%017d", i), CreateDate: now}})
		apply(CmdCreateAccessKey, &fsmpb.AccessKey{AccessKeyId: fmt.Sprintf("AKIA%016d", i), SealedSecret: sealedUnder(1, 40),
			UserName: name, PrincipalArn: arn, CreateDate: now})
	}
	for i := range grants {
		apply(CmdCreateGrant, &fsmpb.CreateGrant{Grant: &fsmpb.Grant{
			GrantId: fmt.Sprintf("g%064d", i), KeyId: scaleKeyID(0), CreationDate: now,
			GranteePrincipal: fmt.Sprintf("arn:aws:iam::111122223333:user/user-%05d", i%max(users, 1)),
			Operations:       []string{"Decrypt", "Encrypt"}, IssuingAccount: "arn:aws:iam::111122223333:root", Token: "t",
		}})
	}
	return idx
}

var scaleNow = time.Unix(1_700_000_000, 0)

func scaleKeyID(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", i*2654435761%(1<<32), i)
}

// sealedUnder is a value of size bytes shaped as the barrier seals it
// under term: the term, big-endian, first (seal.ValueTerm).
func sealedUnder(term uint32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, term)
	b[4] = 1
	return b
}

var scaleSizes = []int{1_000, 10_000, 100_000}

// BenchmarkKeyIDs is what ListKeys reads for each page.
//
//	go test ./fsm -run NONE -bench 'KeyIDs|StaleSealed|Scale' -benchtime 10x
func BenchmarkKeyIDs(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			f, _ := scaleFSM(b, n, 0, 0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if ids := f.Query().KeyIDs(); len(ids) != n {
					b.Fatal(len(ids))
				}
			}
		})
	}
}

// BenchmarkStaleSealed is what the re-seal loop reads every 100 ms on the
// leader, and `operator status` on every call, when nothing is stale.
func BenchmarkStaleSealed(b *testing.B) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			f, _ := scaleFSM(b, n, 0, 0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, total := f.Query().StaleSealed(64); total != 0 {
					b.Fatal(total)
				}
			}
		})
	}
}

// BenchmarkScaleSnapshot takes and writes one snapshot of the key state
// (no audit log) at issue 18's scale: 100,000 keys, 50,000 grants on one
// key, 10,000 users.
func BenchmarkScaleSnapshot(b *testing.B) {
	f, _ := scaleFSM(b, 100_000, 50_000, 10_000)
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := f.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		w := &countingWriter{}
		if err := s.(*fsmSnapshot).write(w); err != nil {
			b.Fatal(err)
		}
		s.Release()
		size = w.n
	}
	b.ReportMetric(float64(size)/(1<<20), "snapshot-MiB")
}

// scaleSnapshot is the encoded snapshot of issue 18's scale; the FSM it
// came from is garbage once it returns.
func scaleSnapshot(b *testing.B) *bytes.Buffer {
	b.Helper()
	src, _ := scaleFSM(b, 100_000, 50_000, 10_000)
	var buf bytes.Buffer
	s, err := src.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.(*fsmSnapshot).write(&buf); err != nil {
		b.Fatal(err)
	}
	s.Release()
	return &buf
}

// BenchmarkScaleRestore restores that snapshot, as a restarting node does.
func BenchmarkScaleRestore(b *testing.B) {
	buf := scaleSnapshot(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		f := New(nil)
		if err := f.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkScaleCapture is the part of a snapshot taken under the FSM's
// lock, during which nothing applies (and so no request is answered).
func BenchmarkScaleCapture(b *testing.B) {
	f, _ := scaleFSM(b, 100_000, 50_000, 10_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := f.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

// BenchmarkScaleMemory is the Go heap a replica holds for issue 18's
// scale, restored from a snapshot as a restarting node does.
func BenchmarkScaleMemory(b *testing.B) {
	buf := scaleSnapshot(b)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var held uint64
	for range b.N {
		before := heap()
		f := New(nil)
		if err := f.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
			b.Fatal(err)
		}
		held = heap() - before
		runtime.KeepAlive(f)
	}
	b.ReportMetric(float64(held)/(1<<20), "heap-MiB")
}
