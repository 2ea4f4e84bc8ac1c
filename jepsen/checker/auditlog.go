package checker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// AuditEvent is the part of one committed keyraft audit record the audit
// checker reads (GET /v1/sys/audit/events: the event's members plus the
// chain's keyraftSequence, keyraftPrevHash and keyraftHash).
type AuditEvent struct {
	Seq       uint64 `json:"keyraftSequence"`
	Prev      string `json:"keyraftPrevHash"`
	Hash      string `json:"keyraftHash"`
	EventName string `json:"eventName"`
	ErrorCode string `json:"errorCode,omitempty"`
	RequestID string `json:"requestID"`
	UserAgent string `json:"userAgent,omitempty"`
	NodeID    string `json:"keyraftNodeId,omitempty"`
	// Key is the key id the event is about (from requestParameters.keyId or
	// its resources), when it names one.
	Key string `json:"-"`
}

type rawEvent struct {
	AuditEvent
	RequestParameters map[string]any `json:"requestParameters"`
	Resources         []struct {
		ARN string `json:"ARN"`
	} `json:"resources"`
}

// ParseAuditEvents reads the JSON lines of an audit export.
func ParseAuditEvents(r io.Reader) ([]AuditEvent, error) {
	var out []AuditEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var raw rawEvent
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			return nil, fmt.Errorf("audit event after seq %d: %w", lastSeq(out), err)
		}
		ev := raw.AuditEvent
		if id, ok := raw.RequestParameters["keyId"].(string); ok {
			ev.Key = keyIDOf(id)
		}
		if ev.Key == "" && len(raw.Resources) > 0 {
			ev.Key = keyIDOf(raw.Resources[0].ARN)
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}

func lastSeq(evs []AuditEvent) uint64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// keyIDOf turns a key ARN into its key id; alias names stay unresolved ("").
func keyIDOf(ref string) string {
	if i := strings.LastIndex(ref, ":key/"); i >= 0 {
		return ref[i+len(":key/"):]
	}
	if strings.HasPrefix(ref, "alias/") || strings.Contains(ref, ":alias/") {
		return ""
	}
	return ref
}

var tokenPattern = regexp.MustCompile(`jepsen/([A-Za-z0-9]+)-([0-9]+)`)

// tokenOf finds the op id a request's User-Agent carried for run, if any.
func tokenOf(userAgent, run string) (int64, bool) {
	for _, m := range tokenPattern.FindAllStringSubmatch(userAgent, -1) {
		if m[1] == run {
			id, err := strconv.ParseInt(m[2], 10, 64)
			return id, err == nil
		}
	}
	return 0, false
}

// NodeAudit is what one node said about its copy of the log.
type NodeAudit struct {
	Node   string
	Events []AuditEvent
	// Verified is the node's own chain verification (GET
	// /v1/sys/audit/verify, as `keyraft audit verify` does).
	Verified  bool
	Violation string
	// Err is set when the node could not be read at all.
	Err string
}

// longestLog is the reference log of a run: the longest that any node
// gave (every committed log is a prefix of it, or AuditComplete says
// otherwise), and whether any node's could be read at all.
func longestLog(nodes []NodeAudit) (log []AuditEvent, read bool) {
	for _, n := range nodes {
		if n.Err != "" {
			continue
		}
		read = true
		if len(n.Events) > len(log) {
			log = n.Events
		}
	}
	return log, read
}
