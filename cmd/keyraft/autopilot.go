package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/keyraft/keyraft/cluster"
)

const autopilotUsage = `Usage: keyraft operator raft autopilot state|get-config [flags]

  state       the leader's autopilot state: whether every server is healthy,
              how many voters may fail, each server's health and role
  get-config  the settings the leader's autopilot runs with
              (server flags -autopilot-*)

Both are signed with $AWS_ACCESS_KEY_ID (keyraft:ReadAutopilotState).
`

func opAutopilot(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, autopilotUsage)
		return 2
	}
	switch args[0] {
	case "state":
		return opAutopilotState(args[1:])
	case "get-config":
		return opAutopilotConfig(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Print(autopilotUsage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "keyraft operator raft autopilot: unknown command %q\n\n%s", args[0], autopilotUsage)
	return 2
}

func opAutopilotState(args []string) int {
	fs, of := newOperatorFlags("raft autopilot state", "operator raft autopilot state [flags]",
		"Print the leader's autopilot state. Signed with $AWS_ACCESS_KEY_ID (keyraft:ReadAutopilotState).")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	var st cluster.AutopilotState
	if err := call(of, http.MethodGet, "/v1/sys/storage/raft/autopilot/state", nil, &st); err != nil {
		return fail("raft autopilot state", err)
	}
	if of.format == "json" {
		printJSON(st)
		return 0
	}
	fmt.Printf("Healthy:            %v\nFailure Tolerance:  %d\nLeader:             %s\nVoters:             %s\n",
		st.Healthy, st.FailureTolerance, st.Leader, strings.Join(st.Voters, ", "))
	if len(st.NonVoters) > 0 {
		fmt.Printf("Non-voters:         %s\n", strings.Join(st.NonVoters, ", "))
	}
	fmt.Println()
	ids := make([]string, 0, len(st.Servers))
	for id := range st.Servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tAddress\tStatus\tHealthy\tNode Status\tLast Contact\tLast Index\tStable Since")
	for _, id := range ids {
		s := st.Servers[id]
		lc := s.LastContact
		if lc == "" {
			lc = "never"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%d\t%s\n", s.ID, s.Address, s.Status, s.Healthy, s.NodeStatus, lc, s.LastIndex, s.StableSince.UTC().Format("2006-01-02T15:04:05Z"))
	}
	tw.Flush()
	return 0
}

func opAutopilotConfig(args []string) int {
	fs, of := newOperatorFlags("raft autopilot get-config", "operator raft autopilot get-config [flags]",
		"Print the settings the leader's autopilot runs with. Signed with $AWS_ACCESS_KEY_ID (keyraft:ReadAutopilotState).")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	var c cluster.AutopilotConfiguration
	if err := call(of, http.MethodGet, "/v1/sys/storage/raft/autopilot/configuration", nil, &c); err != nil {
		return fail("raft autopilot get-config", err)
	}
	if of.format == "json" {
		printJSON(c)
		return 0
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Cleanup Dead Servers\t%v\n", c.CleanupDeadServers)
	fmt.Fprintf(tw, "Dead Server Last Contact Threshold\t%s\n", c.DeadServerLastContactThreshold)
	fmt.Fprintf(tw, "Last Contact Threshold\t%s\n", c.LastContactThreshold)
	fmt.Fprintf(tw, "Max Trailing Logs\t%d\n", c.MaxTrailingLogs)
	fmt.Fprintf(tw, "Min Quorum\t%d\n", c.MinQuorum)
	fmt.Fprintf(tw, "Server Stabilization Time\t%s\n", c.ServerStabilizationTime)
	tw.Flush()
	return 0
}
