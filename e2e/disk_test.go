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

// diskRig is what every full-disk test starts from: nodes whose data dirs
// are each on a tmpfs of their own (mounts, by node id), initialised and
// unsealed, a client of the leader, a key and the ciphertexts the cluster
// acknowledged before any disk filled.
type diskRig struct {
	c      *cluster
	mounts map[string]string
	leader *proc
	cl     *kms.Client
	keyID  string
	a      acked
}

// startDiskRig is the one setup of the full-disk tests: nodes (1 or 3)
// with -min-free-disk minFree and setup (when not nil) applied, one share,
// and acks ciphertexts acknowledged under a fresh key.
func startDiskRig(t *testing.T, nodes int, minFree string, setup func(*proc), acks int) *diskRig {
	t.Helper()
	r := &diskRig{mounts: map[string]string{}}
	withTmpfs := func(p *proc) {
		onTmpfs(t, r.mounts, minFree)(p)
		if setup != nil {
			setup(p)
		}
	}
	if nodes == 1 {
		r.c = startOneNode(t, 1, 1, withTmpfs)
		r.c.unseal(r.c.nodes[0])
	} else {
		r.c = startClusterWith(t, withTmpfs)
		// Who leads is for principals to see: init first (it waits for a
		// leader), then ask.
		r.c.init("-key-shares", "1", "-key-threshold", "1")
		r.c.unsealEach()
	}
	r.leader = r.c.waitLeader(15*time.Second, "")
	r.cl = kmsClient(r.leader.api, r.c.creds, 1)
	ck, err := r.cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	r.keyID = *ck.KeyMetadata.KeyId
	for range acks {
		if err := r.encrypt(t); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *diskRig) encrypt(t *testing.T) error { t.Helper(); return r.a.encrypt(t, r.cl, r.keyID) }

// freeSpace gives node's space back and checks the end every full-disk
// test shares: the alarm clears everywhere, writes resume by themselves,
// nothing acknowledged is lost (read through via) and every node's audit
// chain verifies.
func (r *diskRig) freeSpace(t *testing.T, node string, via *proc) {
	t.Helper()
	if err := os.Remove(filepath.Join(r.mounts[node], "fill")); err != nil {
		t.Fatal(err)
	}
	waitAlarm(t, r.c.nodes, node, false)
	waitFor(t, 30*time.Second, "writes to resume", func() (bool, error) {
		err := r.encrypt(t)
		return err == nil, err
	})
	r.a.check(t, kmsClient(via.api, r.c.creds, 3))
}

func (r *diskRig) verifyAudit(t *testing.T) {
	t.Helper()
	for _, p := range r.c.nodes {
		if out, err := auditCLI(p.api, "verify").CombinedOutput(); err != nil {
			t.Fatalf("audit verify on %s after the disk filled: %v %s", p.id, err, out)
		}
	}
}

// diskGauges checks p's scrape: keyraft_disk_full_alarm is 1 while its own
// alarm is raised, else 0; keyraft_disk_alarms counts the alarms it knows.
func diskGauges(t *testing.T, p *proc, own bool, alarms int) {
	t.Helper()
	want := 0.0
	if own {
		want = 1
	}
	waitFor(t, 15*time.Second, fmt.Sprintf("%s: disk_full_alarm %v, disk_alarms %d", p.id, want, alarms), func() (bool, error) {
		s := scrapeNode(t, p.api)
		if _, ok := s.families["keyraft_disk_full_alarm"]; !ok {
			return false, errors.New("no keyraft_disk_full_alarm in the scrape")
		}
		full, n := s.value("keyraft_disk_full_alarm", nil), s.value("keyraft_disk_alarms", nil)
		return full == want && n == float64(alarms), fmt.Errorf("disk_full_alarm %v, disk_alarms %v", full, n)
	})
}

// TestFullDiskStopsWrites puts one node's data dir on a 64 MiB tmpfs. Below
// -min-free-disk the node refuses writes with a 503 that names the cause,
// shows a NOSPACE alarm, keeps serving its status and seal/unseal; with the
// disk wholly full it stays up, and restarts; once space returns writes
// resume by themselves, nothing acknowledged is lost and the audit chain
// verifies.
func TestFullDiskStopsWrites(t *testing.T) {
	r := startDiskRig(t, 1, "16MiB", func(p *proc) {
		// Retention by age, checked every 100 ms: trims free space, so they
		// must go on under the alarm.
		p.setArg("-audit-retain-age", "2s")
		p.setArg("-test-day-length", "400ms")
	}, 5)
	c, p, mnt, cl := r.c, r.c.nodes[0], r.mounts["n1"], r.cl
	diskGauges(t, p, false, 0)

	// Below the headroom, not yet full: every write is refused, status and
	// seal/unseal still answer.
	filled := time.Now()
	fillDisk(t, mnt, 8<<20)
	waitAlarm(t, c.nodes, "n1", true)
	diskGauges(t, p, true, 1)
	refusedForSpace(t, "Encrypt", r.encrypt(t))
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
	_, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{})
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
	refusedForSpace(t, "Encrypt", r.encrypt(t))
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
	refusedForSpace(t, "Encrypt after a restart on a full disk", r.encrypt(t))
	diskGauges(t, p, true, 1)

	// Space returns: writes resume without anyone touching the node.
	r.freeSpace(t, "n1", p)
	diskGauges(t, p, false, 0)
	if _, err := cl.CreateKey(ctx10(t), &kms.CreateKeyInput{Description: aws.String("after")}); err != nil {
		t.Fatal(err)
	}
	r.verifyAudit(t)
}

// TestFullDiskOfAFollowerStopsWrites: three nodes, each with its data dir on
// its own tmpfs. When one follower's disk runs low, the leader refuses
// every write naming that node, every node shows its alarm, the follower
// restarts on a wholly full disk, and once its space returns writes resume
// and every node's audit chain verifies.
func TestFullDiskOfAFollowerStopsWrites(t *testing.T) {
	r := startDiskRig(t, 3, "16MiB", nil, 5)
	c, mounts, leader := r.c, r.mounts, r.leader
	victim := c.follower(leader)

	fillDisk(t, mounts[victim.id], 8<<20)
	waitAlarm(t, c.nodes, victim.id, true)
	// The victim's own alarm is 1 on it alone; every node counts it.
	diskGauges(t, victim, true, 1)
	diskGauges(t, leader, false, 1)
	err := r.encrypt(t)
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
	refusedForSpace(t, "Encrypt after the victim restarted", r.encrypt(t))

	r.freeSpace(t, victim.id, victim)
	diskGauges(t, victim, false, 0)
	diskGauges(t, leader, false, 0)
	r.verifyAudit(t)
}

// TestFullDiskWithoutHeadroom: with -min-free-disk 0 nothing refuses writes
// before the disk is full, so they reach Raft's log and the audit store on
// a full disk. The node must neither panic nor lose what it acknowledged:
// it answers 503 and its status (with the alarm) while full, and resumes
// once space returns.
func TestFullDiskWithoutHeadroom(t *testing.T) {
	r := startDiskRig(t, 1, "0", func(p *proc) {
		p.setArg("-raft-snapshot-threshold", "4")
		p.setArg("-raft-snapshot-interval", "200ms")
	}, 10)
	c, p, mnt := r.c, r.c.nodes[0], r.mounts["n1"]
	// A snapshot, so that a restart restores one on the full disk.
	waitFor(t, 30*time.Second, "a raft snapshot", func() (bool, error) {
		m, err := filepath.Glob(filepath.Join(p.dataDir, "snapshots", "*", "meta.json"))
		return len(m) > 0, err
	})

	fillDisk(t, mnt, 0)
	refused := 0
	for range 20 {
		if err := r.encrypt(t); err != nil {
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

	r.freeSpace(t, "n1", p)
	r.verifyAudit(t)
}

// TestFullFollowerWithoutHeadroom: with -min-free-disk 0, a follower whose
// disk fills wholly cannot store what the leader sends. It stays up, raises
// its alarm, the leader stops proposing (naming it) rather than fill it
// further, and once its space returns it catches up, writes resume and
// every node's chain verifies.
func TestFullFollowerWithoutHeadroom(t *testing.T) {
	r := startDiskRig(t, 3, "0", nil, 1)
	c, mounts, leader := r.c, r.mounts, r.leader
	victim := c.follower(leader)

	fillDisk(t, mounts[victim.id], 0)
	// The other two still make a quorum: writes go on until the victim's
	// alarm reaches the leader, then are refused naming it.
	waitFor(t, 30*time.Second, "writes refused for "+victim.id, func() (bool, error) {
		err := r.encrypt(t)
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

	r.freeSpace(t, victim.id, victim)
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
	r.verifyAudit(t)
}
