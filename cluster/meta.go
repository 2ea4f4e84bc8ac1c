package cluster

import (
	"encoding/json"
	"fmt"
)

// Meta is what each server gossips about itself. Memberlist caps node
// metadata at 512 bytes, so fields stay short.
type Meta struct {
	ID      string `json:"id"`
	Raft    string `json:"r"`
	Cluster string `json:"c"`
	API     string `json:"a"`
	// Boot changes on every process start; tombstones name it so that a
	// removed server is re-added only once it restarts.
	Boot string `json:"b"`
	// Identity is the server identity from its data dir (identity.go),
	// the same across restarts: the leader adds a server under a node id
	// only if it carries the identity bound to that id.
	Identity string `json:"i"`
	// HasState is true once the server holds a Raft configuration; fresh
	// servers bootstrap only when no server they see has one.
	HasState bool `json:"s"`
	Sealed   bool `json:"x"`
	// NoSpace is set, to a short cause, while this server's data dir is
	// below -min-free-disk or a write of its stores waits for space: the
	// leader then proposes nothing, so that no voter is filled.
	NoSpace string `json:"n,omitempty"`
}

func (m Meta) encode(limit int) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("node metadata is %d bytes, limit %d", len(b), limit)
	}
	return b, nil
}

func decodeMeta(b []byte) (Meta, bool) {
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil || m.ID == "" || m.Raft == "" {
		return Meta{}, false
	}
	return m, true
}
