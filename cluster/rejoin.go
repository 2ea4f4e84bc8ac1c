package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// knownPeersFile, in the data dir, holds the gossip addresses of the
// servers of the raft configuration as this server last saw them alive,
// so that a restart rejoins them whatever -join says (Serf's snapshot does
// this for Consul). Without it, the server every other one joined through
// finds no one to gossip with once restarted: raft still names a leader,
// but the leader's cluster address comes from gossip, and every forward
// fails.
const knownPeersFile = "gossip-peers.json"

// maxKnownPeers bounds the file: only servers of the raft configuration
// are kept, and no configuration this large is sane.
const maxKnownPeers = 64

// knownPeers is the file's content: node id to gossip address (host:port).
// Only addresses: nothing secret, nothing an attacker who read it could
// not learn by listening to gossip.
type knownPeers struct {
	Peers map[string]string `json:"peers"`
}

// maxKnownPeersFile bounds what loadKnownPeers reads: 64 entries of an id
// and a host:port take far less.
const maxKnownPeersFile = 64 << 10

// loadKnownPeers reads the file; a missing file is an empty list. A
// damaged one (unreadable, too large, not the JSON storeKnownPeers writes)
// is logged, ignored and written anew, empty, so that the warning is not
// repeated at every start: the -join seeds still apply, and the servers
// this one knew reconnect to it (reconnect).
func (n *Node) loadKnownPeers() map[string]string {
	path := filepath.Join(n.cfg.DataDir, knownPeersFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var out map[string]string
	if err == nil {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(f, maxKnownPeersFile+1))
		f.Close()
		switch {
		case err != nil:
		case len(b) > maxKnownPeersFile:
			err = fmt.Errorf("larger than %d bytes", maxKnownPeersFile)
		default:
			out, err = parseKnownPeers(b, n.cfg.NodeID)
		}
	}
	if err != nil {
		n.log.Warn("ignoring the known gossip peers file: it is damaged; falling back to -join and to the peers that knew this server",
			"file", path, "error", err)
		if werr := n.storeKnownPeers(map[string]string{}); werr != nil {
			n.log.Warn("could not rewrite the damaged known gossip peers file", "file", path, "error", werr)
		}
		return nil
	}
	return out
}

// parseKnownPeers decodes the file, keeping at most maxKnownPeers entries
// whose address is a host:port, other than self's.
func parseKnownPeers(b []byte, self string) (map[string]string, error) {
	var kp knownPeers
	if err := json.Unmarshal(b, &kp); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(kp.Peers)) {
		if len(out) >= maxKnownPeers {
			break
		}
		addr := kp.Peers[id]
		if _, _, err := splitHostPort(addr); err == nil && id != self && id != "" {
			out[id] = addr
		}
	}
	return out, nil
}

// storeKnownPeers writes peers atomically (a temporary file, 0600, then a
// rename), so that a crash mid-write leaves the previous list.
func (n *Node) storeKnownPeers(peers map[string]string) error {
	b, err := json.Marshal(knownPeers{Peers: peers})
	if err != nil {
		return err
	}
	path := filepath.Join(n.cfg.DataDir, knownPeersFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// gossipAddrs maps the node id of every live gossip member that is a
// server of the raft configuration, and whose claim to its id holds, to
// its gossip address. Members outside the configuration are left out, so
// that no one who can gossip makes this server remember arbitrary
// addresses.
func (n *Node) gossipAddrs() map[string]string {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	inConf := map[string]bool{}
	for _, s := range f.Configuration().Servers {
		inConf[string(s.ID)] = true
	}
	n.membersMu.Lock()
	metas, addrs := maps.Clone(n.members), maps.Clone(n.gossipAt)
	n.membersMu.Unlock()
	out := map[string]string{}
	for id, addr := range addrs {
		if m, ok := metas[id]; ok && inConf[id] && n.cfg.FSM != nil && n.bound(m) {
			out[id] = addr
		}
	}
	return out
}

// knownPeersLoop keeps the file current: every few seconds and on each
// membership change, the live members' addresses are merged into what the
// file holds (a server down now keeps its last address: it is the one to
// try when this server restarts), servers no longer in the raft
// configuration are dropped, and the file is rewritten only if that
// changed anything.
//
// Each round also asks the servers this one knows but does not see in
// gossip to join again (reconnect): a server restarted with no usable
// peers file and no -join (the seed every other one joined through, its
// file damaged) cannot find anyone, but they still know its address.
func (n *Node) knownPeersLoop(known map[string]string) {
	defer n.wg.Done()
	t := time.NewTicker(reconnectEvery)
	defer t.Stop()
	for {
		select {
		case <-n.stopCh:
			return
		case <-t.C:
		case <-n.peersKick:
		}
		f := n.raft.GetConfiguration()
		if f.Error() != nil || len(f.Configuration().Servers) == 0 {
			continue
		}
		next := maps.Clone(known)
		if next == nil {
			next = map[string]string{}
		}
		maps.Copy(next, n.gossipAddrs())
		inConf := map[string]bool{}
		for _, s := range f.Configuration().Servers {
			inConf[string(s.ID)] = true
		}
		maps.DeleteFunc(next, func(id, _ string) bool { return !inConf[id] || id == n.cfg.NodeID })
		n.reconnect(next)
		if maps.Equal(next, known) || len(next) > maxKnownPeers {
			continue
		}
		if err := n.storeKnownPeers(next); err != nil {
			n.log.Warn("could not save the known gossip peers", "error", err)
			continue
		}
		known = next
	}
}

// reconnectEvery is how often knownPeersLoop runs: how soon a restarted
// server that could find no one is found by the others. A round costs a
// read of the raft configuration and, while a known server is missing
// from gossip, one join attempt (a refused connection while it is down).
const reconnectEvery = time.Second

// reconnect joins, in the background and one attempt at a time, the
// servers of peers that are not live gossip members. memberlist forgets a
// dead member for good; without this, a server that comes back unable to
// join anyone stays cut off although its peers know where it is.
func (n *Node) reconnect(peers map[string]string) {
	n.membersMu.Lock()
	var addrs []string
	for _, id := range slices.Sorted(maps.Keys(peers)) {
		if _, live := n.members[id]; !live {
			addrs = append(addrs, peers[id])
		}
	}
	n.membersMu.Unlock()
	if len(addrs) == 0 || !n.reconnecting.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer n.reconnecting.Store(false)
		if joined, err := n.ml.Join(addrs); joined > 0 {
			n.log.Info("reconnected to gossip peers", "contacted", joined, "missing", len(addrs))
		} else {
			n.log.Debug("missing gossip peers not answering", "peers", addrs, "error", err)
		}
	}()
}

func (n *Node) peersChanged() {
	select {
	case n.peersKick <- struct{}{}:
	default:
	}
}

// joinSeeds is what a (re)starting server joins: the -join seeds and
// every peer it knew, without its own gossip address, in a fixed order.
func (n *Node) joinSeeds(known map[string]string) []string {
	own := map[string]bool{n.cfg.GossipAddr: true, n.cfg.GossipAdvertise: true}
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !own[a] && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, a := range n.cfg.Join {
		add(a)
	}
	for _, id := range slices.Sorted(maps.Keys(known)) {
		add(known[id])
	}
	return out
}

// joinLoop contacts the seeds and known peers until another server
// answers, then stops: memberlist keeps the membership from there.
// Joining only itself (a seed list naming this server) does not count.
func (n *Node) joinLoop(known map[string]string) {
	defer n.wg.Done()
	seeds := n.joinSeeds(known)
	if len(seeds) == 0 {
		return
	}
	backoff := 200 * time.Millisecond
	for {
		joined, err := n.ml.Join(seeds)
		if joined > 0 && n.otherMembers() > 0 {
			n.log.Info("joined gossip", "contacted", joined, "seeds", len(seeds))
			return
		}
		n.log.Debug("gossip seeds not answering yet", "seeds", seeds, "error", err)
		select {
		case <-n.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// otherMembers counts the live gossip members other than this server.
func (n *Node) otherMembers() int {
	n.membersMu.Lock()
	defer n.membersMu.Unlock()
	return len(n.members)
}
