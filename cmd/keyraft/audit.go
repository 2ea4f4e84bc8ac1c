package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyraft/keyraft/audit"
	operatorapi "github.com/keyraft/keyraft/operator"
)

func runAudit(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return 0
	case "tail":
		return auditTail(args[1:])
	case "export":
		return auditExport(args[1:])
	case "verify":
		return auditVerify(args[1:])
	}
	fmt.Fprintf(os.Stderr, "keyraft audit: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// streamEvents copies the JSON lines of one events query to w and returns
// the sequence number of the last one.
func streamEvents(of *operatorFlags, q url.Values, w io.Writer) (uint64, error) {
	client, err := of.httpClient(of.timeout)
	if err != nil {
		return 0, err
	}
	base, err := nodeURL(of.address)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodGet, base+"/v1/sys/audit/events?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	if err := of.sign(req, nil, operatorapi.SigningService); err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, explainSendError(base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		if httpToHTTPS(resp.StatusCode, b) {
			return 0, wrongSchemeHTTP(base)
		}
		return 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var last uint64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var seq struct {
			Seq uint64 `json:"keyraftSequence"`
		}
		if json.Unmarshal(sc.Bytes(), &seq) == nil {
			last = seq.Seq
		}
		if _, err := fmt.Fprintf(w, "%s\n", sc.Bytes()); err != nil {
			return last, err
		}
	}
	return last, sc.Err()
}

func auditTail(args []string) int {
	fs, of := newOperatorFlags("audit tail", "audit tail [flags]", "Print the newest audit events as JSON lines (with -f, keep printing new ones). Signed with\n$AWS_ACCESS_KEY_ID (the root, or a user allowed keyraft:ReadAuditLog).")
	n := fs.Int("n", 20, "how many of the newest events to print")
	follow := fs.Bool("f", false, "keep printing new events as they are committed")
	fs.DurationVar(&of.timeout, "timeout", 10*time.Minute, "how long one read of the node may take")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	last, err := streamEvents(of, url.Values{"last": {fmt.Sprint(*n)}}, os.Stdout)
	if err != nil {
		return fail("audit tail", err)
	}
	for *follow {
		time.Sleep(500 * time.Millisecond)
		next, err := streamEvents(of, url.Values{"after": {fmt.Sprint(last)}}, os.Stdout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "keyraft audit tail: %v (retrying)\n", err)
			continue
		}
		last = max(last, next)
	}
	return 0
}

func auditExport(args []string) int {
	fs, of := newOperatorFlags("audit export", "audit export [flags]", "Print the audit events that match the filters as JSON lines (-format jsonl). Signed like\naudit tail.")
	since := fs.String("since", "", "only events at or after this RFC 3339 time")
	until := fs.String("until", "", "only events before this RFC 3339 time")
	keyID := fs.String("key-id", "", "only events about this key (id or ARN)")
	eventName := fs.String("event-name", "", "only events of this operation, e.g. Decrypt")
	// A filtered export reads the whole log on the node: 92 s for ten
	// million events (11 GB) on the development machine.
	fs.DurationVar(&of.timeout, "timeout", time.Hour, "how long the export may take")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	if of.format == "table" { // the operator default; events are always JSON lines
		of.format = "jsonl"
	}
	if of.format != "jsonl" {
		return fail("audit export", fmt.Errorf("-format %q: only jsonl is supported", of.format))
	}
	q := url.Values{}
	for name, v := range map[string]string{"since": *since, "until": *until, "key_id": *keyID, "event_name": *eventName} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if _, err := streamEvents(of, q, os.Stdout); err != nil {
		return fail("audit export", err)
	}
	return 0
}

// auditVerify checks the chain on a running node, or offline on a stopped
// node's data dir, and exits 1 naming the first broken event.
func auditVerify(args []string) int {
	fs, of := newOperatorFlags("audit verify", "audit verify [flags]", "Check the audit hash chain: of a running node (signed like audit tail), or with -data-dir of a\nstopped node's data dir. Exits 1 naming the first broken event.")
	dataDir := fs.String("data-dir", "", "verify this stopped node's data dir instead of asking a running node")
	// The node reads its whole log before it answers: 92 s for ten
	// million events (11 GB) on the development machine.
	fs.DurationVar(&of.timeout, "timeout", time.Hour, "how long to wait for a running node's answer (it reads the whole log first)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	var out struct {
		NodeID    string `json:"node_id,omitempty"`
		Events    uint64 `json:"events"`
		OK        bool   `json:"ok"`
		BrokenAt  uint64 `json:"broken_at,omitempty"`
		Violation string `json:"violation,omitempty"`
	}
	if *dataDir != "" {
		store, err := audit.OpenReadOnly(filepath.Join(*dataDir, "audit"))
		if err != nil {
			return fail("audit verify", err)
		}
		defer store.Close()
		n, viol, err := store.Verify()
		if err != nil {
			return fail("audit verify", err)
		}
		out.Events, out.OK = n, viol == nil
		if viol != nil {
			out.BrokenAt, out.Violation = viol.Seq, viol.Error()
		}
	} else if err := call(of, http.MethodGet, "/v1/sys/audit/verify", nil, &out); err != nil {
		return fail("audit verify", err)
	}
	if of.format == "json" {
		printJSON(out)
	} else if out.OK {
		fmt.Printf("audit log verified: %d events, chain intact\n", out.Events)
	} else {
		fmt.Printf("audit log BROKEN: %s\n", out.Violation)
	}
	if !out.OK {
		return 1
	}
	return 0
}
