package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// clockOffsets gives each node a -test-clock-offset-file in a fresh
// directory: withOffset is the setup that passes it, and offsetFile(p) is
// the file whose duration shifts p's wall clock while it holds one.
func clockOffsets(t *testing.T) (withOffset func(*proc), offsetFile func(*proc) string) {
	dir := t.TempDir()
	offsetFile = func(p *proc) string { return filepath.Join(dir, p.id+".offset") }
	withOffset = func(p *proc) { p.args = append(p.args, "-test-clock-offset-file", offsetFile(p)) }
	return withOffset, offsetFile
}

// TestClockJumpDestroysNothing: the leader's wall clock jumps 60 days
// forward while a key waits out a 7-day deletion window and the audit log
// keeps 30 days. The leader raises a clock alarm and holds its housekeeping:
// the key is not deleted, the log is not trimmed. Once the clock is back,
// the alarm clears and the key is deleted when its window really ends.
// Days last 2 s here, so the window is 14 s of real time.
func TestClockJumpDestroysNothing(t *testing.T) {
	withOffset, offsetFile := clockOffsets(t)
	c := startUnsealedClusterWith(t, withOffset, "-test-day-length", "2s", "-audit-retain-age", "720h")
	leader := c.waitLeader(10*time.Second, "")
	client := kmsClient(leader.api, c.creds, 3)
	key, err := client.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.KeyId
	scheduled := time.Now()
	if _, err := client.ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	firstEvent := auditEvents(t, leader.api, "")[0]

	held := func() int {
		return logCount(t, leader, "holding key deletion, scheduled rotation and audit trimming by age")
	}
	if err := os.WriteFile(offsetFile(leader), []byte("1440h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a clock alarm on the leader", func() (bool, error) {
		st, err := fullStatus(t, leader.api)
		return err == nil && st.clockAlarm() != "", err
	})
	st, _ := fullStatus(t, leader.api)
	t.Logf("leader's alarm: %s", st.clockAlarm())
	if !strings.Contains(st.clockAlarm(), "ahead of") {
		t.Fatalf("the alarm does not say the clock is ahead: %q", st.clockAlarm())
	}
	for _, p := range c.nodes {
		if p != leader {
			if st, err := fullStatus(t, p.api); err != nil || st.clockAlarm() != "" {
				t.Fatalf("follower %s (clock untouched) shows an alarm: %+v %v", p.id, st, err)
			}
		}
	}
	// Three housekeeping passes (every 500 ms with 2-second days) held.
	waitFor(t, 10*time.Second, "three held housekeeping passes", func() (bool, error) { return held() >= 3, nil })
	if elapsed := time.Since(scheduled); elapsed > 12*time.Second {
		t.Fatalf("the test took %s to get here; the 14 s window proves nothing past it", elapsed)
	}
	d, err := client.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: id})
	if err != nil || d.KeyMetadata.KeyState != types.KeyStatePendingDeletion {
		t.Fatalf("after a 60-day clock jump the key pending a 7-day deletion is %v (%v)", d, err)
	}
	evs := auditEvents(t, leader.api, "")
	if evs[0]["eventID"] != firstEvent["eventID"] {
		t.Fatalf("the audit log was trimmed by age: it now begins with %v", evs[0]["eventName"])
	}
	for _, ev := range evs {
		if ev["eventName"] == "AuditTrim" {
			t.Fatalf("the audit log was trimmed: %v", ev)
		}
		// Events carry the cluster clock, not the jumped wall clock.
		if ts, _ := time.Parse(time.RFC3339Nano, ev["eventTime"].(string)); ts.After(time.Now().Add(time.Hour)) {
			t.Fatalf("an event is stamped with the jumped clock: %v", ev)
		}
	}

	// The clock comes back: the alarm clears, and the key goes when its
	// window really ends.
	if err := os.Remove(offsetFile(leader)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the alarm to clear", func() (bool, error) {
		st, err := fullStatus(t, leader.api)
		return err == nil && st.clockAlarm() == "", err
	})
	waitFor(t, 30*time.Second, "the key's deletion once its window ends", func() (bool, error) {
		_, err := client.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: id})
		return apiCode(err) == "NotFoundException", err
	})
	if since := time.Since(scheduled); since < 14*time.Second {
		t.Fatalf("the key was deleted %s after its 14 s window was scheduled", since)
	}
}

// TestTestKnobsOnlyInTestBuilds: a release build does not know the -test-*
// flags, and no build takes them from a config file.
func TestTestKnobsOnlyInTestBuilds(t *testing.T) {
	release := filepath.Join(t.TempDir(), "keyraft-release")
	if err := buildKeyraft(release); err != nil {
		t.Fatal(err)
	}
	for _, knob := range [][]string{{"-test-day-length", "1s"}, {"-test-audit-segment-size", "4096"}, {"-test-clock-offset-file", "/dev/null"}} {
		out, err := exec.Command(release, append([]string{"server", "-dev"}, knob...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "flag provided but not defined: "+knob[0]) {
			t.Fatalf("a release build took %s: %v\n%s", knob[0], err, out)
		}
	}
	cfg := filepath.Join(t.TempDir(), "keyraft.json")
	if err := os.WriteFile(cfg, []byte(`{"test-day-length": "1s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "server", "-dev", "-config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "test-only setting") {
		t.Fatalf("a config file set a test knob: %v\n%s", err, out)
	}
}

// TestClockCatchesUpAfterDowntime: after the whole cluster was down (here:
// every node restarts with its wall clock an hour on), the cluster clock
// lags every wall clock; since a majority of voters agree, it catches up,
// raises no lasting alarm, and a deletion window that ended meanwhile
// ends. Days last 10 s, so the 7-day window is 70 s of real time: the key
// goes long before that only if the clock caught up.
func TestClockCatchesUpAfterDowntime(t *testing.T) {
	withOffset, offsetFile := clockOffsets(t)
	c := startUnsealedClusterWith(t, withOffset, "-test-day-length", "10s")
	client := kmsClient(c.nodes[0].api, c.creds, 3)
	key, err := client.CreateKey(ctx10(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.KeyId
	scheduled := time.Now()
	if _, err := client.ScheduleKeyDeletion(ctx10(t), &kms.ScheduleKeyDeletionInput{KeyId: id, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	for _, p := range c.nodes {
		p.kill()
		if err := os.WriteFile(offsetFile(p), []byte("1h\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.nodes {
		p.start(c.seeds())
	}
	c.unsealEach()
	waitFor(t, 40*time.Second, "the key's deletion once the clock caught up", func() (bool, error) {
		_, err := client.DescribeKey(ctx10(t), &kms.DescribeKeyInput{KeyId: id})
		return apiCode(err) == "NotFoundException", err
	})
	if since := time.Since(scheduled); since > 60*time.Second {
		t.Fatalf("the key went %s after its 70 s window was scheduled: the clock did not catch up", since)
	}
	for _, p := range c.nodes {
		waitFor(t, 10*time.Second, p.id+" without a clock alarm", func() (bool, error) {
			st, err := fullStatus(t, p.api)
			return err == nil && st.clockAlarm() == "", fmt.Errorf("%q %v", st.clockAlarm(), err)
		})
		if logCount(t, p, "caught up with it") > 0 {
			t.Logf("%s caught up", p.id)
		}
	}
}
