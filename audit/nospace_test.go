package audit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/internal/diskspace"
)

// TestRecoverAfterNoSpace fills a real tmpfs under a store: the append that
// finds the disk full fails, Recover brings the store back to what its
// files hold, and once space is freed the same batches append, chain and
// verify as if nothing had happened. A store failed for another reason
// stays failed.
func TestRecoverAfterNoSpace(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("this test mounts a tmpfs and needs root (CI runs as root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	s, err := Open(filepath.Join(mnt, "audit"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := func(i int) Batch {
		var evs [][]byte
		for j := range 8 {
			evs = append(evs, []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, 8*i+j, strings.Repeat("x", 4<<10))))
		}
		idx := uint64(i + 1)
		if i >= 2 { // after the SetIndex below
			idx += 1000
		}
		return Batch{Index: idx, Events: evs}
	}
	if _, err := s.AppendBatches([]Batch{batch(0), batch(1)}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(mnt, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 64<<10)); err != nil {
			break
		}
	}
	f.Close()
	var batches []Batch
	for i := 2; i < 40; i++ {
		batches = append(batches, batch(i))
	}
	_, err = s.AppendBatches(batches)
	if !diskspace.IsNoSpace(err) {
		t.Fatalf("append on a full disk: want a no-space error, got %v", err)
	}
	if err := s.Recover(); err != nil {
		t.Fatalf("Recover on a still full disk: %v", err)
	}
	if seq, _ := s.Head(); seq < 16 {
		t.Fatalf("the head went back past what was published: %d", seq)
	}
	// A restore's SetIndex (a restart with a snapshot) must not fail a
	// node restarted on a full disk: the claim stays in memory.
	if err := s.SetIndex(500); err != nil || s.Index() != 500 {
		t.Fatalf("SetIndex on a full disk: %v, index %d", err, s.Index())
	}
	if err := os.Remove(filepath.Join(mnt, "fill")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendBatches(batches); err != nil {
		t.Fatalf("append once space returned: %v", err)
	}
	if n, viol, err := s.Verify(); err != nil || viol != nil || n != 40*8 {
		t.Fatalf("verify: %d %v %v", n, viol, err)
	}

	// Any other failure is not forgotten.
	s.wmu.Lock()
	s.fail(ErrDiverged)
	s.wmu.Unlock()
	if err := s.Recover(); !errors.Is(err, ErrDiverged) {
		t.Fatalf("Recover cleared a diverged store: %v", err)
	}
}
