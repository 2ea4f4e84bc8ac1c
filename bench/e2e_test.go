package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyraft/keyraft/internal/testport"
)

// devServer is a `keyraft server -dev` process and the credentials it printed.
type devServer struct {
	pid                      int
	endpoint, access, secret string
}

// freePorts returns n distinct loopback ports free for TCP and UDP.
func freePorts(t *testing.T, n int) []int {
	ports := make([]int, n)
	for i := range ports {
		ports[i] = testport.Take(t)
	}
	return ports
}

// startDevServer builds keyraft, starts a -dev server and waits for the
// export lines it prints once it is initialised and unsealed.
func startDevServer(t *testing.T) devServer {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "keyraft")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/keyraft").CombinedOutput(); err != nil {
		t.Fatalf("build keyraft: %v\n%s", err, out)
	}
	p := freePorts(t, 4)
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", p[i]) }
	cmd := exec.Command(bin, "server", "-dev", "-log-level", "warn",
		"-api-addr", addr(0), "-cluster-addr", addr(1), "-raft-addr", addr(2), "-gossip-addr", addr(3))
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		// SIGTERM lets -dev remove its data dir; SIGKILL if it will not go.
		_ = syscall.Kill(pid, syscall.SIGTERM)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("---- server log ----\n%s", b)
		}
	})

	env := make(chan map[string]string, 1)
	go func() {
		vals := map[string]string{}
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "export "); ok {
				if k, v, ok := strings.Cut(line, "="); ok {
					vals[k] = v
				}
			}
			if vals["AWS_ACCESS_KEY_ID"] != "" && vals["AWS_SECRET_ACCESS_KEY"] != "" && vals["AWS_ENDPOINT_URL"] != "" {
				env <- vals
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // keep draining until the server exits
	}()
	select {
	case vals := <-env:
		return devServer{pid: pid, endpoint: vals["AWS_ENDPOINT_URL"], access: vals["AWS_ACCESS_KEY_ID"], secret: vals["AWS_SECRET_ACCESS_KEY"]}
	case <-time.After(60 * time.Second):
		t.Fatal("keyraft server -dev printed no credentials within 60 s")
	}
	return devServer{}
}

func TestRunAgainstDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a keyraft server")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc:", err)
	}
	srv := startDevServer(t)
	for _, op := range []Op{OpEncrypt, OpDecrypt, OpGenerateDataKey, OpMixed} {
		t.Run(string(op), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Run(ctx, Config{
				Endpoints:   []string{srv.endpoint},
				AccessKeyID: srv.access, SecretAccessKey: srv.secret,
				Op: op, Size: 1024, Clients: 4, Keys: 2,
				Duration: 2 * time.Second, Warmup: 200 * time.Millisecond,
				ServerPIDs: []int{srv.pid},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d ops, %.0f ops/s, p50 %s p99 %s p99.9 %s, server %s/op, client %s/op",
				op, res.Ops, res.OpsPerSec, res.P50, res.P99, res.P999, res.ServerCPUPerOp, res.ClientCPUPerOp)
			if res.Ops == 0 {
				t.Error("no operation succeeded")
			}
			if res.Errors != 0 {
				t.Errorf("%d errors: %v", res.Errors, res.ErrorSamples)
			}
			if !(res.P50 > 0 && res.P50 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) {
				t.Errorf("percentiles out of order: p50 %s p99 %s p99.9 %s max %s", res.P50, res.P99, res.P999, res.Max)
			}
			if !res.ServerCPUMeasured || res.ServerCPUPerOp <= 0 {
				t.Errorf("server CPU per op %s (measured %v), want > 0", res.ServerCPUPerOp, res.ServerCPUMeasured)
			}
			if !res.ClientCPUMeasured || res.ClientCPUPerOp <= 0 {
				t.Errorf("client CPU per op %s (measured %v), want > 0", res.ClientCPUPerOp, res.ClientCPUMeasured)
			}
			if res.Duration < 2*time.Second {
				t.Errorf("timed phase %s, want at least 2s", res.Duration)
			}
		})
	}
}

// TestRunKeySpecs drives the asymmetric, MAC and RSA operations against
// one dev server: every request answers, and what the workers check
// (signatures and MACs valid, plaintexts equal) holds.
func TestRunKeySpecs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a keyraft server")
	}
	srv := startDevServer(t)
	for _, c := range []struct {
		op   Op
		spec string
		size int
	}{
		{OpSign, "", 32},
		{OpSign, "ECC_NIST_EDWARDS25519", 32},
		{OpVerify, "RSA_2048", 32},
		{OpGenerateMac, "", 256},
		{OpVerifyMac, "HMAC_384", 256},
		{OpDecrypt, "RSA_2048", 190},
	} {
		t.Run(string(c.op)+"/"+c.spec, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Run(ctx, Config{
				Endpoints:   []string{srv.endpoint},
				AccessKeyID: srv.access, SecretAccessKey: srv.secret,
				Op: c.op, KeySpec: c.spec, Size: c.size, Clients: 4, Keys: 2,
				Duration: time.Second, Warmup: 100 * time.Millisecond,
				ServerPIDs: []int{srv.pid},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: %d ops, %.0f ops/s, p99 %s, server %s/op", c.op, res.KeySpec, res.Ops, res.OpsPerSec, res.P99, res.ServerCPUPerOp)
			if want, _ := planFor(c.op, c.spec); res.KeySpec != string(want.spec) {
				t.Errorf("key spec %q, want %q", res.KeySpec, want.spec)
			}
			if res.Ops == 0 || res.Errors != 0 {
				t.Errorf("%d ops, %d errors: %v", res.Ops, res.Errors, res.ErrorSamples)
			}
			if !res.ServerCPUMeasured || res.ServerCPUPerOp <= 0 {
				t.Errorf("server CPU per op %s (measured %v)", res.ServerCPUPerOp, res.ServerCPUMeasured)
			}
		})
	}
}

// TestOpenLoopKeepsItsSchedule: with a rate, the workers send that many
// requests per second in all, whatever the answers do, and latency counts
// from when each request was due.
func TestOpenLoopKeepsItsSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a keyraft server")
	}
	srv := startDevServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const rate, seconds = 100.0, 3
	res, err := Run(ctx, Config{
		Endpoints:   []string{srv.endpoint},
		AccessKeyID: srv.access, SecretAccessKey: srv.secret,
		Op: OpEncrypt, Size: 256, Clients: 8, Rate: rate,
		Duration: seconds * time.Second, Warmup: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ops in %s (%.1f/s), p50 %s p99 %s", res.Ops, res.Duration, res.OpsPerSec, res.P50, res.P99)
	if res.Errors != 0 {
		t.Fatalf("%d errors: %v", res.Errors, res.ErrorSamples)
	}
	// A closed loop of 8 workers would send many times this; an open loop
	// sends what its schedule says, give or take the requests in flight at
	// either end of the timed phase.
	if res.OpsPerSec < 0.9*rate || res.OpsPerSec > 1.1*rate {
		t.Fatalf("open loop at %.0f/s sent %.1f/s", rate, res.OpsPerSec)
	}
}
