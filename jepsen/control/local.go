package control

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Local runs the cluster as processes on loopback, built from the checkout.
type Local struct {
	cfg   Config
	bin   string
	nodes map[string]*localNode
	names []string
	fw    *firewall // nil when partitions are unavailable
	fwErr error
}

type localNode struct {
	name                       string
	api, cluster, raft, gossip int
	dir                        string
	// uid is the user the node runs as: its own when partitions work (the
	// firewall matches packets by it), else the harness's.
	uid int
	// tlsArgs are the server's certificate and gossip key flags.
	tlsArgs []string

	mu     sync.Mutex // guards cmd and exited against the nemesis and Teardown
	cmd    *exec.Cmd
	exited chan struct{}
}

// uidBase is the first of the uids local nodes run under (n1 = uidBase+1).
const uidBase = 47000

// NewLocal builds keyraft, starts cfg.Nodes servers on loopback and returns
// once every process runs; Initialize makes it usable.
func NewLocal(ctx context.Context, cfg Config) (*Local, error) {
	l := &Local{cfg: cfg, nodes: map[string]*localNode{}, names: nodeNames(cfg.Nodes)}
	cfg.logf("building keyraft from %s", cfg.Src)
	bin, err := buildHost(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	l.bin = bin
	if err := os.Chmod(bin, 0o755); err != nil {
		return nil, err
	}
	if cfg.TLS {
		if err := makeTLS(ctx, &cfg, bin, l.names); err != nil {
			return nil, err
		}
	}
	l.fw, l.fwErr = newFirewall(ctx)
	if l.fwErr != nil {
		cfg.logf("local partitions disabled: %v", l.fwErr)
	}
	ports, err := freePorts(4 * cfg.Nodes)
	if err != nil {
		return nil, err
	}
	for i, name := range l.names {
		n := &localNode{name: name, api: ports[4*i], cluster: ports[4*i+1], raft: ports[4*i+2], gossip: ports[4*i+3],
			dir: filepath.Join(cfg.Dir, "nodes", name)}
		if l.fw != nil {
			n.uid = uidBase + i + 1
		}
		// The node's directory stays open to its user (which may not be
		// the harness's); the server refuses a data dir that group or
		// others may reach.
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(n.dir, "data"), 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(n.dir, "data"), 0o700); err != nil {
			return nil, err
		}
		if n.uid != 0 {
			if err := os.Chown(filepath.Join(n.dir, "data"), n.uid, n.uid); err != nil {
				return nil, err
			}
		}
		if cfg.TLS {
			owner := -1
			if n.uid != 0 {
				owner = n.uid
			}
			dir := filepath.Join(n.dir, "tls")
			if n.tlsArgs, err = nodeTLS(&cfg, name, dir, owner, dir); err != nil {
				return nil, err
			}
		} else {
			n.tlsArgs = []string{"-insecure"} // a plaintext cluster is asked for by name
		}
		l.nodes[name] = n
	}
	for _, name := range l.names {
		if err := l.start(l.nodes[name]); err != nil {
			_ = l.Teardown(ctx)
			return nil, err
		}
	}
	cfg.logf("started %d local nodes (APIs %s)", cfg.Nodes, l.apiList())
	return l, nil
}

// capIPCLock is CAP_IPC_LOCK (package syscall does not name it).
const capIPCLock = 14

func (l *Local) apiList() string {
	var s []string
	for _, name := range l.names {
		s = append(s, name+"="+l.Endpoint(name))
	}
	return strings.Join(s, " ")
}

// freePorts picks n consecutive ports below the ephemeral range (so no
// outgoing connection can hold one, and firewall rules by destination port
// never match a client's port) that are free for TCP and UDP now.
func freePorts(n int) ([]int, error) {
	for range 50 {
		base := 20000 + rand.IntN(11000)
		var ports []int
		ok := true
		for p := base; p < base+n && ok; p++ {
			t, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			t.Close()
			if err != nil {
				ok = false
				break
			}
			u.Close()
			ports = append(ports, p)
		}
		if ok {
			return ports, nil
		}
	}
	return nil, errors.New("no free port range found")
}

func (l *Local) start(n *localNode) error {
	var join []string
	for _, name := range l.names {
		join = append(join, "127.0.0.1:"+strconv.Itoa(l.nodes[name].gossip))
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	args := []string{"server", "-node-id", n.name, "-data-dir", filepath.Join(n.dir, "data"),
		"-api-addr", addr(n.api), "-cluster-addr", addr(n.cluster), "-raft-addr", addr(n.raft), "-gossip-addr", addr(n.gossip),
		"-join", strings.Join(join, ","), "-bootstrap-expect", strconv.Itoa(l.cfg.Nodes)}
	if l.cfg.DayLength != "" {
		args = append(args, "-test-day-length", l.cfg.DayLength)
	}
	if l.cfg.LogLevel != "" {
		args = append(args, "-log-level", l.cfg.LogLevel)
	}
	args = append(args, l.cfg.ServerArgs...)
	args = append(args, n.tlsArgs...)
	logf, err := os.OpenFile(filepath.Join(n.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "\n=== jepsen: starting %s at %s\n", n.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(l.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if the harness dies, its nodes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if n.uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(n.uid), Gid: uint32(n.uid)}
		// Nodes lock their memory (mlockall) and refuse to start when they
		// cannot; an unprivileged uid may lock no more than its small
		// RLIMIT_MEMLOCK without CAP_IPC_LOCK, which it keeps from us.
		cmd.SysProcAttr.AmbientCaps = []uintptr{capIPCLock}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
	return nil
}

func (l *Local) node(name string) (*localNode, error) {
	n, ok := l.nodes[name]
	if !ok {
		return nil, fmt.Errorf("no node %q", name)
	}
	return n, nil
}

// signal sends sig to the node's process, if it runs.
func (l *Local) signal(name string, sig syscall.Signal) (*localNode, error) {
	n, err := l.node(name)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return n, fmt.Errorf("%s is not running", name)
	}
	return n, n.cmd.Process.Signal(sig)
}

func (l *Local) Log(_ context.Context, name string) ([]byte, error) {
	n, err := l.node(name)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(n.dir, "server.log"))
}

func (l *Local) Name() string    { return "local" }
func (l *Local) Nodes() []string { return l.names }
func (l *Local) Binary() string  { return l.bin }
func (l *Local) CAFile() string  { return caFile(&l.cfg) }
func (l *Local) Endpoint(node string) string {
	return scheme(&l.cfg) + "://127.0.0.1:" + strconv.Itoa(l.nodes[node].api)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (l *Local) Kill(ctx context.Context, name string) error {
	n, err := l.signal(name, syscall.SIGKILL)
	if err != nil {
		return err
	}
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	select {
	case <-exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	n.mu.Lock()
	n.cmd = nil
	n.mu.Unlock()
	return nil
}

// Restart starts a killed node on the same data dir and ports.
func (l *Local) Restart(ctx context.Context, name string) error {
	n, err := l.node(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	running := n.cmd != nil
	n.mu.Unlock()
	if running {
		return fmt.Errorf("%s is still running", name)
	}
	return l.start(n)
}

func (l *Local) Pause(_ context.Context, name string) error {
	_, err := l.signal(name, syscall.SIGSTOP)
	return err
}

func (l *Local) Resume(_ context.Context, name string) error {
	_, err := l.signal(name, syscall.SIGCONT)
	return err
}

func (l *Local) CanPartition() error { return l.fwErr }

func (l *Local) Cut(ctx context.Context, links [][2]string) error {
	if l.fw == nil {
		return l.fwErr
	}
	for _, link := range links {
		a, err := l.node(link[0])
		if err != nil {
			return err
		}
		b, err := l.node(link[1])
		if err != nil {
			return err
		}
		if err := l.fw.cut(ctx, a, b); err != nil {
			return err
		}
	}
	return nil
}

func (l *Local) Heal(ctx context.Context) error {
	if l.fw == nil {
		return nil
	}
	return l.fw.heal(ctx)
}

// Teardown thaws and kills every node and removes the firewall chain.
func (l *Local) Teardown(ctx context.Context) error {
	for _, name := range l.names {
		n := l.nodes[name]
		n.mu.Lock()
		cmd, exited := n.cmd, n.exited
		n.mu.Unlock()
		if cmd == nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		n.mu.Lock()
		n.cmd = nil
		n.mu.Unlock()
	}
	if l.fw != nil {
		l.fw.close(context.WithoutCancel(ctx))
	}
	return nil
}
