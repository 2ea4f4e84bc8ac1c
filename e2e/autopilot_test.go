package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// autopilotState is what `operator raft autopilot state -format json` prints.
type autopilotState struct {
	Healthy          bool     `json:"healthy"`
	FailureTolerance int      `json:"failure_tolerance"`
	Leader           string   `json:"leader"`
	Voters           []string `json:"voters"`
	NonVoters        []string `json:"non_voters"`
	Servers          map[string]struct {
		Status     string `json:"status"`
		NodeStatus string `json:"node_status"`
		Healthy    bool   `json:"healthy"`
		Alive      bool   `json:"alive"`
	} `json:"servers"`
}

func readAutopilot(t *testing.T, api string) (autopilotState, error) {
	var st autopilotState
	err := operator(t, api, &st, "raft", "autopilot", "state")
	return st, err
}

// isVoter reports whether id is a voter in api's raft configuration.
func isVoter(t *testing.T, api, id string) (bool, error) {
	p, ok, err := peer(t, api, id)
	return ok && p.Voter, err
}

// TestAutopilot, one cluster of three and a fourth server (mutual TLS and
// a gossip key), with a dead-server
// cleanup of 3 s and a stabilization time of 2 s: the fourth joins as a
// non-voter and is promoted; wiped (killed, data dir removed, started again
// with the same flags) it is refused under its new identity until autopilot
// removes the dead entry, then rejoins, serves once unsealed, and is a voter
// again; a killed server is removed (the configuration shrinks, the cluster
// keeps serving), a second one is not (min quorum 3), and the removed one
// rejoins by restarting. `operator raft autopilot state` is read throughout.
func TestAutopilot(t *testing.T) {
	const cleanup = 3 * time.Second
	flags := []string{"-autopilot-dead-server-cleanup", cleanup.String(), "-autopilot-server-stabilization-time", "2s", "-autopilot-min-quorum", "3"}
	// Mutual TLS and a gossip key, as in production: the wiped server
	// holds n4's certificate, and must still be refused until cleanup.
	k, gk := tlsGen(t, "n1", "n2", "n3", "n4"), gossipKeygen(t)
	c := startUnsealedClusterWith(t, func(p *proc) { p.secure(k, gk) }, flags...)
	leader := c.waitLeader(15*time.Second, "")
	waitFor(t, 15*time.Second, "autopilot to find three healthy voters", func() (bool, error) {
		st, err := readAutopilot(t, c.nodes[1].api) // forwarded to the leader
		return err == nil && st.Healthy && len(st.Voters) == 3 && st.FailureTolerance == 1 && st.Leader == leader.id, fmt.Errorf("%+v %v", st, err)
	})
	out, err := cli(leader.api, c.creds, "operator", "raft", "autopilot", "state", "-address", leader.api).Output()
	if err != nil || !strings.Contains(string(out), "Failure Tolerance:  1") || !strings.Contains(string(out), "Healthy:            true") {
		t.Fatalf("autopilot state (text): %v\n%s", err, out)
	}
	var conf map[string]any
	if err := operator(t, leader.api, &conf, "raft", "autopilot", "get-config"); err != nil || conf["cleanup_dead_servers"] != true || conf["min_quorum"] != 3.0 {
		t.Fatalf("autopilot get-config: %v %v", conf, err)
	}

	// A new server joins as a non-voter and is promoted once stable.
	n4 := newProc(t, "n4", 3)
	n4.args = append(n4.args, flags...)
	n4.secure(k, gk)
	c.add(n4)
	n4.start(c.seeds())
	waitFor(t, 20*time.Second, "n4 to be added as a non-voter, then promoted", func() (bool, error) {
		v, err := isVoter(t, leader.api, "n4")
		return v, err
	})
	if ok, _ := logHas([]*proc{leader}, "adding server as a non-voter", "node_id=n4"); !ok {
		t.Fatal("n4 was not added as a non-voter first")
	}
	if ok, _ := logHas([]*proc{leader}, "Promoting server", "id=n4"); !ok {
		t.Fatal("autopilot did not promote n4")
	}
	c.unseal(n4)

	// Wiped: a new identity under n4's id and address. Refused until the
	// dead n4 is cleaned up, then added afresh and promoted.
	wiped := time.Now() // before the kill: no dead time can start earlier
	n4.kill()
	if err := os.RemoveAll(n4.dataDir); err != nil {
		t.Fatal(err)
	}
	n4.start(c.seeds())
	waitFor(t, 30*time.Second, "autopilot to remove the dead n4 (audited)", func() (bool, error) {
		// Until then the new identity is given nothing, certificate or not.
		if st, err := status(t, n4.api); err == nil && st.Initialized && time.Since(wiped) < cleanup {
			t.Fatalf("the wiped n4 was given the log %s after the kill, before the cleanup time", time.Since(wiped))
		}
		evs, err := tryAuditEvents(leader.api, "event_name=OperatorRemovePeer")
		for _, ev := range evs {
			p, _ := ev["requestParameters"].(map[string]any)
			if p["removedNodeId"] == "n4" && p["removedBy"] == "autopilot" && ev["errorCode"] == nil {
				return true, nil
			}
		}
		return false, err
	})
	if time.Since(wiped) < cleanup {
		t.Fatalf("the dead n4 was removed %s after the kill, before the cleanup time %s", time.Since(wiped), cleanup)
	}
	waitFor(t, 20*time.Second, "the wiped n4 to be a healthy voter again", func() (bool, error) {
		v, err := isVoter(t, leader.api, "n4")
		st, _ := readAutopilot(t, leader.api)
		return v && st.Servers["n4"].Alive && st.Servers["n4"].Healthy, err
	})
	t.Logf("wiped n4 rejoined as a voter %s after the kill", time.Since(wiped).Round(100*time.Millisecond))
	c.unseal(n4)
	serves(t, n4.api, c.creds)

	// A killed server is removed: four voters become three.
	victim := c.byID(map[bool]string{true: "n2", false: "n1"}[leader.id != "n2"])
	victim.kill()
	waitFor(t, 20*time.Second, "autopilot to remove the killed "+victim.id, func() (bool, error) {
		in, err := inRaftConfiguration(t, leader.api, victim.id)
		return err == nil && !in, err
	})
	serves(t, leader.api, c.creds)

	// A second one is not: three voters is the minimum quorum.
	second := c.byID("n3")
	if second == leader {
		second = n4
	}
	second.kill()
	waitFor(t, 15*time.Second, "autopilot to see "+second.id+" dead", func() (bool, error) {
		st, err := readAutopilot(t, leader.api)
		return err == nil && !st.Healthy && st.FailureTolerance == 0 && st.Servers[second.id].NodeStatus == "failed", fmt.Errorf("%+v %v", st, err)
	})
	// Reported failed means past the cleanup time: four of autopilot's 1 s
	// reconcile rounds (cluster/autopilot.go), any of which would remove it.
	holdsFor(t, 4*time.Second, second.id+" staying a voter (min quorum 3)", func() (bool, error) {
		return isVoter(t, leader.api, second.id)
	})
	serves(t, leader.api, c.creds)

	// The removed server rejoins by restarting from its data dir.
	victim.start(c.seeds())
	waitFor(t, 20*time.Second, victim.id+" to rejoin as a voter", func() (bool, error) {
		return isVoter(t, leader.api, victim.id)
	})
}
