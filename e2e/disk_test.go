package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory and
// unmounts it when the test ends. It needs root, as CI has: without it the
// test fails, it does not skip.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("this test mounts a small tmpfs and needs root (CI runs as root): mount: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// onTmpfs is a setup that puts a node's data dir on a 64 MiB tmpfs of its
// own, recorded in mounts by node id, with -min-free-disk minFree.
func onTmpfs(t *testing.T, mounts map[string]string, minFree string) func(*proc) {
	return func(p *proc) {
		mnt := mountTmpfs(t, 64<<20)
		mounts[p.id] = mnt
		p.dataDir = filepath.Join(mnt, p.id)
		p.setArg("-data-dir", p.dataDir)
		p.setArg("-min-free-disk", minFree)
	}
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fillDisk grows the file dir/fill until at most leave bytes are free
// (leave 0: until the filesystem refuses more).
func fillDisk(t *testing.T, dir string, leave int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "fill"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		free := freeBytes(t, dir)
		if free <= leave {
			return
		}
		n := min(int64(len(buf)), free-leave)
		if _, err := f.Write(buf[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// waitAlarm waits until every node in on reports (want) or stops
// reporting (!want) a NOSPACE alarm for node.
func waitAlarm(t *testing.T, on []*proc, node string, want bool) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("NOSPACE alarm of %s = %v", node, want), func() (bool, error) {
		for _, p := range on {
			var st nodeStatus
			if err := operator(t, p.api, &st, "status"); err != nil {
				return false, err
			}
			if st.noSpace(node) != want {
				return false, fmt.Errorf("%s reports %+v", p.id, st.Alarms)
			}
		}
		return true, nil
	})
}

// refusedForSpace checks that err is the 503 a node out of disk answers,
// naming the cause.
func refusedForSpace(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s on a full disk: want ServiceUnavailableException, got %v", what, err)
	}
	t.Logf("%s refused: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
	if ae.ErrorCode() != "ServiceUnavailableException" || !strings.Contains(ae.ErrorMessage(), "no space left on the data dir") {
		t.Fatalf("%s on a full disk: want ServiceUnavailableException naming the full data dir, got %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// acked is what the cluster acknowledged: ciphertexts and their plaintexts.
type acked struct {
	blobs [][]byte
	plain []string
}

func (a *acked) encrypt(t *testing.T, cl *kms.Client, keyID string) error {
	t.Helper()
	pt := fmt.Sprintf("secret-%d", len(a.plain))
	out, err := cl.Encrypt(ctx10(t), &kms.EncryptInput{KeyId: &keyID, Plaintext: []byte(pt)})
	if err != nil {
		return err
	}
	a.blobs, a.plain = append(a.blobs, out.CiphertextBlob), append(a.plain, pt)
	return nil
}

func (a *acked) check(t *testing.T, cl *kms.Client) {
	t.Helper()
	for i, b := range a.blobs {
		out, err := cl.Decrypt(ctx10(t), &kms.DecryptInput{CiphertextBlob: b})
		if err != nil {
			t.Fatalf("acknowledged ciphertext %d: %v", i, err)
		}
		if string(out.Plaintext) != a.plain[i] {
			t.Fatalf("acknowledged ciphertext %d decrypts to %q, want %q", i, out.Plaintext, a.plain[i])
		}
	}
}

// TestFullDiskStopsWrites puts one node's data dir on a 64 MiB tmpfs. Below
// -min-free-disk the node refuses writes with a 503 that names the cause,
// shows a NOSPACE alarm, keeps serving its status and seal/unseal; with the
// disk wholly full it stays up, and restarts; once space returns writes
// resume by themselves, nothing acknowledged is lost and the audit chain
// verifies.
func TestFullDiskStopsWrites(t *testing.T) {
	mounts := map[string]string{}
	c := startOneNode(t, 1, 1, func(p *proc) {
		onTmpfs(t, mounts, "16MiB")(p)
		// Retention by age, checked every 100 ms: trims free space, so they
		// must go on under the alarm.
		p.setArg("-audit-retain-age", "2s")
		p.setArg("-test-day-length", "400ms")
	})
	p, mnt := c.nodes[0], mounts["n1"]
	c.unseal(p)
	cl := kmsClient(p.api, c.creds, 1)
	ck, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *ck.KeyMetadata.KeyId
	var a acked
	for range 5 {
		if err := a.encrypt(t, cl, keyID); err != nil {
			t.Fatal(err)
		}
	}

	// Below the headroom, not yet full: every write is refused, status and
	// seal/unseal still answer.
	filled := time.Now()
	fillDisk(t, mnt, 8<<20)
	waitAlarm(t, c.nodes, "n1", true)
	refusedForSpace(t, "Encrypt", a.encrypt(t, cl, keyID))
	waitFor(t, 20*time.Second, "a retention trim under the alarm", func() (bool, error) {
		evs, err := tryAuditEvents(p.api, "event_name=AuditTrim")
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(ev["eventTime"])); err == nil && at.After(filled) {
				return true, nil
			}
		}
		return false, fmt.Errorf("%d trims, none since the disk filled", len(evs))
	})
	_, err = cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	refusedForSpace(t, "CreateKey", err)
	var st nodeStatus
	if err := operator(t, p.api, &st, "status"); err != nil || !strings.Contains(st.Alarms[0].Message, "no space left on the data dir") {
		t.Fatalf("status below -min-free-disk: %+v %v", st, err)
	}
	if out, err := exec.Command(binary, "operator", "status", "-address", p.api).CombinedOutput(); err != nil || !strings.Contains(string(out), "ALARM NOSPACE on n1: no space left on the data dir") {
		t.Fatalf("operator status (table) below -min-free-disk: %v\n%s", err, out)
	}
	if err := operator(t, p.api, nil, "seal"); err != nil {
		t.Fatalf("seal below -min-free-disk: %v", err)
	}
	c.unseal(p)

	// Wholly full: the process stays up and answers, and it restarts.
	fillDisk(t, mnt, 0)
	refusedForSpace(t, "Encrypt", a.encrypt(t, cl, keyID))
	waitAlarm(t, c.nodes, "n1", true)
	p.kill()
	p.start(nil)
	waitFor(t, 30*time.Second, "n1 to answer its status on a full disk", func() (bool, error) {
		var st nodeStatus
		err := operator(t, p.api, &st, "status")
		return err == nil && st.Initialized && st.noSpace("n1"), err
	})
	c.unseal(p)
	c.waitLeader(15*time.Second, "")
	refusedForSpace(t, "Encrypt after a restart on a full disk", a.encrypt(t, cl, keyID))

	// Space returns: writes resume without anyone touching the node.
	if err := os.Remove(filepath.Join(mnt, "fill")); err != nil {
		t.Fatal(err)
	}
	waitAlarm(t, c.nodes, "n1", false)
	waitFor(t, 30*time.Second, "writes to resume", func() (bool, error) {
		err := a.encrypt(t, cl, keyID)
		return err == nil, err
	})
	if _, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{Description: aws.String("after")}); err != nil {
		t.Fatal(err)
	}
	a.check(t, cl)
	if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify after the disk filled: %v %s", err, out)
	}
}

// TestFullDiskOfAFollowerStopsWrites: three nodes, each with its data dir on
// its own tmpfs. When one follower's disk runs low, the leader refuses
// every write naming that node, every node shows its alarm, the follower
// restarts on a wholly full disk, and once its space returns writes resume
// and every node's audit chain verifies.
func TestFullDiskOfAFollowerStopsWrites(t *testing.T) {
	mounts := map[string]string{}
	c := startClusterWith(t, onTmpfs(t, mounts, "16MiB"))
	// Who leads is for principals to see: init first (it waits for a
	// leader), then ask.
	c.init("-key-shares", "1", "-key-threshold", "1")
	c.unsealEach()
	leader := c.waitLeader(15*time.Second, "")
	victim := c.follower(leader)
	cl := kmsClient(leader.api, c.creds, 1)
	ck, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *ck.KeyMetadata.KeyId
	var a acked
	for range 5 {
		if err := a.encrypt(t, cl, keyID); err != nil {
			t.Fatal(err)
		}
	}

	fillDisk(t, mounts[victim.id], 8<<20)
	waitAlarm(t, c.nodes, victim.id, true)
	err = a.encrypt(t, cl, keyID)
	refusedForSpace(t, "Encrypt while a follower is low", err)
	if !strings.Contains(err.Error(), "node "+victim.id) {
		t.Fatalf("the refusal does not name %s: %v", victim.id, err)
	}
	// Through the other follower too: it forwards to the leader.
	var other *proc
	for _, p := range c.nodes {
		if p != leader && p != victim {
			other = p
		}
	}
	_, err = kmsClient(other.api, c.creds, 1).CreateKey(ctx10(t), &kms.CreateKeyInput{})
	refusedForSpace(t, "CreateKey through the other follower", err)

	// The victim restarts on a wholly full disk and rejoins.
	fillDisk(t, mounts[victim.id], 0)
	victim.kill()
	victim.start([]string{leader.gossip, other.gossip})
	waitFor(t, 30*time.Second, victim.id+" to answer its status on a full disk", func() (bool, error) {
		var st nodeStatus
		err := operator(t, victim.api, &st, "status")
		return err == nil && st.Initialized && st.noSpace(victim.id), err
	})
	c.unseal(victim)
	// Its leader is for principals to see, which it can check once unsealed.
	waitFor(t, 30*time.Second, victim.id+" to follow a leader", func() (bool, error) {
		st, err := status(t, victim.api)
		return err == nil && st.LeaderID != "", err
	})
	refusedForSpace(t, "Encrypt after the victim restarted", a.encrypt(t, cl, keyID))

	if err := os.Remove(filepath.Join(mounts[victim.id], "fill")); err != nil {
		t.Fatal(err)
	}
	waitAlarm(t, c.nodes, victim.id, false)
	waitFor(t, 30*time.Second, "writes to resume", func() (bool, error) {
		err := a.encrypt(t, cl, keyID)
		return err == nil, err
	})
	a.check(t, kmsClient(victim.api, c.creds, 3))
	for _, p := range c.nodes {
		if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
			t.Fatalf("audit verify on %s: %v %s", p.id, err, out)
		}
	}
}

// TestFullDiskWithoutHeadroom: with -min-free-disk 0 nothing refuses writes
// before the disk is full, so they reach Raft's log and the audit store on
// a full disk. The node must neither panic nor lose what it acknowledged:
// it answers 503 and its status (with the alarm) while full, and resumes
// once space returns.
func TestFullDiskWithoutHeadroom(t *testing.T) {
	mounts := map[string]string{}
	c := startOneNode(t, 1, 1, func(p *proc) {
		onTmpfs(t, mounts, "0")(p)
		p.setArg("-raft-snapshot-threshold", "4")
		p.setArg("-raft-snapshot-interval", "200ms")
	})
	p, mnt := c.nodes[0], mounts["n1"]
	c.unseal(p)
	cl := kmsClient(p.api, c.creds, 1)
	ck, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *ck.KeyMetadata.KeyId
	var a acked
	for range 10 {
		if err := a.encrypt(t, cl, keyID); err != nil {
			t.Fatal(err)
		}
	}
	// A snapshot, so that a restart restores one on the full disk.
	waitFor(t, 30*time.Second, "a raft snapshot", func() (bool, error) {
		m, err := filepath.Glob(filepath.Join(p.dataDir, "snapshots", "*", "meta.json"))
		return len(m) > 0, err
	})

	fillDisk(t, mnt, 0)
	refused := 0
	for range 20 {
		if err := a.encrypt(t, cl, keyID); err != nil {
			refused++
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailableException" && ae.ErrorCode() != "DependencyTimeoutException" {
				t.Fatalf("Encrypt on a full disk: want a 503, got %v", err)
			}
		}
	}
	if refused == 0 {
		t.Fatal("every write succeeded on a full disk")
	}
	waitAlarm(t, c.nodes, "n1", true)
	if p.cmd.ProcessState != nil {
		t.Fatalf("the node exited on a full disk: %v", p.cmd.ProcessState)
	}
	// Restarted on the full disk, with no reserve to give back, it comes
	// up from its snapshot, answers its status and takes its shares.
	p.kill()
	p.start(nil)
	waitFor(t, 30*time.Second, "n1 to answer its status on a full disk", func() (bool, error) {
		var st nodeStatus
		err := operator(t, p.api, &st, "status")
		return err == nil && st.Initialized, err
	})
	c.unseal(p)

	if err := os.Remove(filepath.Join(mnt, "fill")); err != nil {
		t.Fatal(err)
	}
	waitAlarm(t, c.nodes, "n1", false)
	waitFor(t, 30*time.Second, "writes to resume", func() (bool, error) {
		err := a.encrypt(t, cl, keyID)
		return err == nil, err
	})
	a.check(t, cl)
	if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify after the disk filled: %v %s", err, out)
	}
}

// TestFullFollowerWithoutHeadroom: with -min-free-disk 0, a follower whose
// disk fills wholly cannot store what the leader sends. It stays up, raises
// its alarm, the leader stops proposing (naming it) rather than fill it
// further, and once its space returns it catches up, writes resume and
// every node's chain verifies.
func TestFullFollowerWithoutHeadroom(t *testing.T) {
	mounts := map[string]string{}
	c := startClusterWith(t, onTmpfs(t, mounts, "0"))
	// Who leads is for principals to see: init first (it waits for a
	// leader), then ask.
	c.init("-key-shares", "1", "-key-threshold", "1")
	c.unsealEach()
	leader := c.waitLeader(15*time.Second, "")
	victim := c.follower(leader)
	cl := kmsClient(leader.api, c.creds, 1)
	ck, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *ck.KeyMetadata.KeyId
	var a acked
	if err := a.encrypt(t, cl, keyID); err != nil {
		t.Fatal(err)
	}

	fillDisk(t, mounts[victim.id], 0)
	// The other two still make a quorum: writes go on until the victim's
	// alarm reaches the leader, then are refused naming it.
	waitFor(t, 30*time.Second, "writes refused for "+victim.id, func() (bool, error) {
		err := a.encrypt(t, cl, keyID)
		if err == nil {
			return false, errors.New("write accepted")
		}
		return strings.Contains(err.Error(), "no space left on the data dir of node "+victim.id), err
	})
	waitAlarm(t, c.nodes, victim.id, true)
	var st nodeStatus
	if err := operator(t, victim.api, &st, "status"); err != nil || len(st.Alarms) == 0 || strings.Contains(st.Alarms[0].Message, mounts[victim.id]) {
		t.Fatalf("the unauthenticated status must name the cause, not the data dir's path: %+v %v", st.Alarms, err)
	}
	if victim.cmd.ProcessState != nil {
		t.Fatalf("%s exited on a full disk: %v", victim.id, victim.cmd.ProcessState)
	}

	if err := os.Remove(filepath.Join(mounts[victim.id], "fill")); err != nil {
		t.Fatal(err)
	}
	waitAlarm(t, c.nodes, victim.id, false)
	waitFor(t, 30*time.Second, "writes to resume", func() (bool, error) {
		err := a.encrypt(t, cl, keyID)
		return err == nil, err
	})
	a.check(t, kmsClient(victim.api, c.creds, 3))
	waitFor(t, 30*time.Second, "every node to hold the same audit head", func() (bool, error) {
		var heads []any
		for _, p := range c.nodes {
			evs, err := tryAuditEvents(p.api, "last=1")
			if err != nil || len(evs) != 1 {
				return false, err
			}
			heads = append(heads, evs[0]["keyraftSequence"])
		}
		return heads[0] == heads[1] && heads[1] == heads[2], fmt.Errorf("heads %v", heads)
	})
	for _, p := range c.nodes {
		if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
			t.Fatalf("audit verify on %s: %v %s", p.id, err, out)
		}
	}
}
