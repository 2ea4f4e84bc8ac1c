package e2e

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestDataDirRefusedWhenOthersMayReachIt: as PostgreSQL does, the server
// will not start on a data dir that group or others may reach, and says
// how to fix it.
func TestDataDirRefusedWhenOthersMayReachIt(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o750, 0o707} {
		p := newProc(t, "n1", 1)
		if err := os.Mkdir(p.dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p.dataDir, mode); err != nil {
			t.Fatal(err)
		}
		out, err := runToRefusal(20*time.Second, p.args)
		if errors.Is(err, errKeptRunning) {
			t.Fatalf("the server ran on a data dir of mode %#o", mode)
		}
		if err == nil || !strings.Contains(string(out), "chmod 0700 "+p.dataDir) {
			t.Fatalf("mode %#o: %v\n%s", mode, err, tail(out, 2048))
		}
	}
}

// TestDataDirModesWhateverTheUmask: started with umask 000, a node still
// makes its data dir, raft store, snapshots and audit segments 0700/0600.
func TestDataDirModesWhateverTheUmask(t *testing.T) {
	c := &cluster{t: t}
	p := newProc(t, "n1", 1)
	p.args = append(p.args, snapshotFlags...)
	c.add(p)
	old := syscall.Umask(0)
	p.start(nil)
	syscall.Umask(old)
	c.init("-key-shares", "1", "-key-threshold", "1")
	c.unseal(p)
	client := kmsClient(p.api, c.creds, 3)
	waitFor(t, 60*time.Second, "a raft snapshot", func() (bool, error) {
		if _, err := client.CreateKey(ctx10(t), &kms.CreateKeyInput{}); err != nil {
			return false, err
		}
		snaps, _ := filepath.Glob(filepath.Join(p.dataDir, "snapshots", "*", "state.bin"))
		for _, s := range snaps {
			if !strings.Contains(s, ".tmp") {
				return true, nil
			}
		}
		return false, nil
	})
	checked := 0
	err := filepath.WalkDir(p.dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile (a snapshot reaped)
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else if !d.Type().IsRegular() {
			return nil
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %#o, want %#o", path, fi.Mode().Perm(), want)
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 6 {
		t.Fatalf("only %d entries in the data dir", checked)
	}
}

// TestTLSGenRefusesWhatItDidNotMake: tls-gen writes into an empty
// directory only, unless -force; refuses one every user may write; and
// never signs with a CA it did not make, even with -force.
func TestTLSGenRefusesWhatItDidNotMake(t *testing.T) {
	tlsGenRun := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append([]string{"operator", "tls-gen"}, args...)...).CombinedOutput()
		return string(out), err
	}
	k := tlsGen(t, "n1", "n2")
	caBefore, _ := os.ReadFile(k.caFile())
	if out, err := tlsGenRun("-out", k.dir, "-nodes", "n3"); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("tls-gen wrote into a non-empty directory: %v\n%s", err, out)
	}
	if out, err := tlsGenRun("-force", "-out", k.dir, "-nodes", "n3"); err != nil {
		t.Fatalf("-force to a directory tls-gen made: %v\n%s", err, out)
	}
	if caAfter, _ := os.ReadFile(k.caFile()); string(caAfter) != string(caBefore) {
		t.Fatal("-force replaced the CA")
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if out, err := tlsGenRun("-out", open, "-nodes", "n1"); err == nil || !strings.Contains(out, "writable by every user") {
		t.Fatalf("tls-gen wrote into a world-writable directory: %v\n%s", err, out)
	}

	// A CA from elsewhere (here: another tls-gen's, without its record).
	foreign := filepath.Join(t.TempDir(), "foreign")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.pem", "ca-key.pem"} {
		b, err := os.ReadFile(filepath.Join(k.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(foreign, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := tlsGenRun("-force", "-out", foreign, "-nodes", "n1")
	if err == nil || !strings.Contains(out, "not made by keyraft operator tls-gen") {
		t.Fatalf("tls-gen signed with a CA it did not make: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(foreign, "n1.pem")); err == nil {
		t.Fatal("a node certificate was written under a foreign CA")
	}
}
