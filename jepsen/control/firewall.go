package control

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// firewall cuts links between local nodes with iptables.
//
// Why not a TCP proxy in front of every raft and cluster port: keyraft
// advertises exactly the port it binds (node/config.go advertised() keeps
// the bind port; only the host can differ), and a wildcard bind holds that
// port on every loopback address, so peers always dial the node itself and
// a proxy never sees their traffic. What does work on one host: each node
// runs under its own uid, and an OUTPUT rule drops the packets a node's
// uid sends to a peer's raft, cluster and gossip ports. Dropping one
// direction of each connection stalls it both ways; clients (root) still
// reach every API port. It needs root; without it, runs skip partitions.
type firewall struct {
	chain string
}

// newFirewall makes a chain of our own, jumped to from OUTPUT, and checks
// that the owner match works here.
func newFirewall(ctx context.Context) (*firewall, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: iptables needs root", ErrNoPartitions)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("%w: no iptables", ErrNoPartitions)
	}
	f := &firewall{chain: "KEYRAFT-JEPSEN-" + strconv.Itoa(os.Getpid())}
	if err := iptables(ctx, "-N", f.chain); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPartitions, err)
	}
	if err := iptables(ctx, "-I", "OUTPUT", "-j", f.chain); err != nil {
		_ = iptables(ctx, "-X", f.chain)
		return nil, fmt.Errorf("%w: %v", ErrNoPartitions, err)
	}
	if err := iptables(ctx, "-A", f.chain, "-m", "owner", "--uid-owner", "65534", "-p", "tcp", "--dport", "1", "-j", "DROP"); err != nil {
		f.close(ctx)
		return nil, fmt.Errorf("%w: the owner match does not work: %v", ErrNoPartitions, err)
	}
	return f, f.heal(ctx)
}

// cut drops everything a's uid sends to b's peer ports, and the reverse.
func (f *firewall) cut(ctx context.Context, a, b *localNode) error {
	for _, dir := range [][2]*localNode{{a, b}, {b, a}} {
		from, to := dir[0], dir[1]
		uid := strconv.Itoa(from.uid)
		for _, p := range []struct {
			proto string
			port  int
		}{{"tcp", to.raft}, {"tcp", to.cluster}, {"tcp", to.gossip}, {"udp", to.gossip}} {
			if err := iptables(ctx, "-A", f.chain, "-m", "owner", "--uid-owner", uid, "-p", p.proto,
				"--dport", strconv.Itoa(p.port), "-j", "DROP"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *firewall) heal(ctx context.Context) error { return iptables(ctx, "-F", f.chain) }

// close removes the chain and the jump to it.
func (f *firewall) close(ctx context.Context) {
	_ = iptables(ctx, "-D", "OUTPUT", "-j", f.chain)
	_ = iptables(ctx, "-F", f.chain)
	_ = iptables(ctx, "-X", f.chain)
}

func iptables(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
