package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// transitServer is a net/http server answering the part of OpenBao's
// transit API a run uses, checking every request's shape as OpenBao would
// see it: POST under /v1/transit/, the token in X-Vault-Token, a JSON body
// whose plaintext is standard base64 of the run's size, a key created by the
// run. What does not fit is answered as OpenBao answers it (403, 400, 404)
// and noted in wrong. Its "ciphertext" is the plaintext in base64 behind
// vault:v1:, which is all the client can tell of one.
type transitServer struct {
	*httptest.Server
	token string
	size  int

	mu    sync.Mutex
	keys  map[string]bool
	wrong []string // guarded by mu

	encrypts, decrypts, datakeys atomic.Int64
	conns                        atomic.Int64 // connections opened
	corruptDecrypt               atomic.Bool  // answer decrypts with a wrong plaintext
	failEncrypt                  atomic.Bool  // answer encrypts with a 500
}

var benchKeyName = regexp.MustCompile(`^keyraft-bench-[0-9a-f]{16}$`)

func newTransitServer(t *testing.T, token string, size int) *transitServer {
	s := &transitServer{token: token, size: size, keys: map[string]bool{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *transitServer) fail(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.wrong = append(s.wrong, msg)
	s.mu.Unlock()
	reply(w, status, map[string]any{"errors": []string{msg}})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *transitServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != s.token {
		s.fail(w, http.StatusForbidden, "permission denied")
		return
	}
	if r.Method != http.MethodPost || r.ProtoMajor != 1 || r.Header.Get("Content-Type") != "application/json" {
		s.fail(w, http.StatusBadRequest, "%s %s %s with content type %q", r.Method, r.Proto, r.URL.Path, r.Header.Get("Content-Type"))
		return
	}
	var in struct {
		Type, Plaintext, Ciphertext string
		Bits                        int
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return // a request cut short by the end of the run
		}
		s.fail(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/transit/")
	action, name, _ := strings.Cut(rest, "/")
	if action == "datakey" {
		var kind string
		kind, name, _ = strings.Cut(name, "/")
		ok = ok && kind == "plaintext"
	}
	s.mu.Lock()
	known := s.keys[name]
	s.mu.Unlock()
	if !ok || (action != "keys" && !known) {
		s.fail(w, http.StatusNotFound, "no handler for %s", r.URL.Path)
		return
	}
	switch action {
	case "keys":
		if !benchKeyName.MatchString(name) || in.Type != "aes256-gcm96" {
			s.fail(w, http.StatusBadRequest, "create key %q of type %q", name, in.Type)
			return
		}
		s.mu.Lock()
		s.keys[name] = true
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]any{"data": map[string]any{"name": name, "type": in.Type}})
	case "encrypt":
		pt, err := base64.StdEncoding.DecodeString(in.Plaintext)
		if err != nil || len(pt) != s.size {
			s.fail(w, http.StatusBadRequest, "plaintext %.20q: %d bytes, %v", in.Plaintext, len(pt), err)
			return
		}
		s.encrypts.Add(1)
		if s.failEncrypt.Load() {
			reply(w, http.StatusInternalServerError, map[string]any{"errors": []string{"internal error"}})
			return
		}
		reply(w, http.StatusOK, map[string]any{"data": map[string]any{"ciphertext": "vault:v1:" + in.Plaintext, "key_version": 1}})
	case "decrypt":
		b64, ok := strings.CutPrefix(in.Ciphertext, "vault:v1:")
		pt, err := base64.StdEncoding.DecodeString(b64)
		if !ok || err != nil || len(pt) != s.size {
			s.fail(w, http.StatusBadRequest, "ciphertext %.20q", in.Ciphertext)
			return
		}
		s.decrypts.Add(1)
		if s.corruptDecrypt.Load() {
			pt[0] ^= 1
		}
		reply(w, http.StatusOK, map[string]any{"data": map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)}})
	case "datakey":
		if in.Bits != 256 {
			s.fail(w, http.StatusBadRequest, "datakey of %d bits", in.Bits)
			return
		}
		s.datakeys.Add(1)
		key := base64.StdEncoding.EncodeToString(make([]byte, 32))
		reply(w, http.StatusOK, map[string]any{"data": map[string]any{"plaintext": key, "ciphertext": "vault:v1:" + key}})
	default:
		s.fail(w, http.StatusNotFound, "no handler for %s", r.URL.Path)
	}
}

func (s *transitServer) wrongRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.wrong...)
}

func transitConfig(s *transitServer, op Op) Config {
	return Config{
		Target: TargetOpenBao, Endpoints: []string{s.URL}, Token: s.token,
		Op: op, Size: s.size, Clients: 4, Keys: 2,
		Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond,
	}
}

// TestTransitRequests drives each op the transit client has against a
// server that checks every request, closed-loop, and through keep-alive
// connections (no more opened than there are workers).
func TestTransitRequests(t *testing.T) {
	for _, op := range []Op{OpEncrypt, OpDecrypt, OpGenerateDataKey, OpMixed} {
		t.Run(string(op), func(t *testing.T) {
			srv := newTransitServer(t, "s.bench-token", MaxSize)
			cfg := transitConfig(srv, op)
			cfg.ServerPIDs = []int{os.Getpid(), os.Getpid()} // the server runs in this process
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d ops, %.0f ops/s, p99 %s, %d connections", op, res.Ops, res.OpsPerSec, res.P99, srv.conns.Load())
			if w := srv.wrongRequests(); len(w) > 0 {
				t.Fatalf("%d requests of the wrong shape, the first: %s", len(w), w[0])
			}
			if res.Ops == 0 || res.Errors != 0 {
				t.Fatalf("%d ops, %d errors: %v", res.Ops, res.Errors, res.ErrorSamples)
			}
			if n := len(srv.keys); n != cfg.Keys {
				t.Errorf("%d transit keys created, want %d", n, cfg.Keys)
			}
			if res.KeySpec != transitKeyType || res.Target != TargetOpenBao {
				t.Errorf("target %q, key spec %q", res.Target, res.KeySpec)
			}
			if answered := uint64(srv.encrypts.Load() + srv.decrypts.Load() + srv.datakeys.Load()); answered < res.Ops {
				t.Errorf("the server answered %d requests, the bench counted %d", answered, res.Ops)
			}
			if op == OpMixed && (srv.encrypts.Load() == 0 || srv.decrypts.Load() == 0 || srv.datakeys.Load() == 0) {
				t.Errorf("mixed sent %d encrypts, %d decrypts, %d datakeys", srv.encrypts.Load(), srv.decrypts.Load(), srv.datakeys.Load())
			}
			// Without keep-alive every request would open one; with it, a
			// worker may still dial when its next request races the last
			// answer's connection back to the pool, so a few more than the
			// workers are possible.
			if n := srv.conns.Load(); uint64(n) > res.Ops/10 {
				t.Errorf("%d connections opened for %d requests of %d workers: keep-alive is not working", n, res.Ops, cfg.Clients)
			}
			if len(res.ServerCPUPerOpEach) != 2 || res.ServerCPUPerOpEach[0] <= 0 ||
				res.ServerCPUPerOpEach[0] > res.ServerCPUPerOp || res.ServerCPUPerOpEach[1] > res.ServerCPUPerOp {
				t.Errorf("server CPU per op %s, per process %v", res.ServerCPUPerOp, res.ServerCPUPerOpEach)
			}
		})
	}
}

// TestTransitCountsFailures: a refused token stops the run before it
// starts, and wrong or failed answers are counted as errors, not successes.
func TestTransitCountsFailures(t *testing.T) {
	t.Run("wrong token", func(t *testing.T) {
		srv := newTransitServer(t, "s.right", 64)
		cfg := transitConfig(srv, OpEncrypt)
		cfg.Token = "s.wrong"
		_, err := Run(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "HTTP 403: permission denied") {
			t.Fatalf("err = %v, want the 403", err)
		}
	})
	t.Run("wrong plaintext", func(t *testing.T) {
		srv := newTransitServer(t, "s.t", 64)
		srv.corruptDecrypt.Store(true)
		res, err := Run(context.Background(), transitConfig(srv, OpDecrypt))
		if err != nil {
			t.Fatal(err)
		}
		if res.Ops != 0 || res.Errors == 0 || len(res.ErrorSamples) != 1 || !strings.Contains(res.ErrorSamples[0].Message, ErrBadResponse.Error()) {
			t.Fatalf("%d ops, %d errors: %v", res.Ops, res.Errors, res.ErrorSamples)
		}
	})
	t.Run("server error", func(t *testing.T) {
		srv := newTransitServer(t, "s.t", 64)
		srv.failEncrypt.Store(true)
		res, err := Run(context.Background(), transitConfig(srv, OpEncrypt))
		if err != nil {
			t.Fatal(err)
		}
		if res.Ops != 0 || res.Errors == 0 || len(res.ErrorSamples) != 1 || res.ErrorSamples[0].Message != "HTTP 500: internal error" {
			t.Fatalf("%d ops, %d errors: %v", res.Ops, res.Errors, res.ErrorSamples)
		}
	})
}

// TestTransitOpenLoop: with a rate, the transit workers keep the schedule
// as the KMS ones do.
func TestTransitOpenLoop(t *testing.T) {
	srv := newTransitServer(t, "s.t", 256)
	cfg := transitConfig(srv, OpEncrypt)
	const rate = 200.0
	cfg.Rate, cfg.Clients, cfg.Duration = rate, 8, 2*time.Second
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.OpsPerSec < 0.9*rate || res.OpsPerSec > 1.1*rate {
		t.Fatalf("open loop at %.0f/s sent %.1f/s, %d errors", rate, res.OpsPerSec, res.Errors)
	}
}

func TestTransitConfig(t *testing.T) {
	ok := Config{Target: TargetOpenBao, Endpoints: []string{"http://127.0.0.1:1"}, Token: "t"}.withDefaults()
	if err := ok.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, c := range map[string]func(*Config){
		"no token":    func(c *Config) { c.Token = "" },
		"sign":        func(c *Config) { c.Op = OpSign },
		"rsa":         func(c *Config) { c.KeySpec = "RSA_2048"; c.Size = 100 },
		"bad target":  func(c *Config) { c.Target = "vault" },
		"kms no keys": func(c *Config) { c.Target = TargetKMS },
	} {
		cfg := ok
		c(&cfg)
		if err := cfg.validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
}
