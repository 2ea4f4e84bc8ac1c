package server

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// authFailureSummaryEvery is how often a node may record a summary of the
// requests it refused for their signature: a flood of them costs the
// replicated log one small event a minute per node, whatever its size.
const authFailureSummaryEvery = time.Minute

// summariseAuthFailures records, once a minute at most, what authFailures
// counted: one AuthenticationFailureSummary event from this node, with
// no userIdentity (nobody was authenticated), committed as operator events
// are, through the leader.
func (s *Server) summariseAuthFailures() {
	t := time.NewTicker(authFailureSummaryEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		sum := s.authFailures.Take()
		if sum.Total == 0 {
			continue
		}
		ev := s.baseEvent(nil, "AuthenticationFailureSummary", "KeyraftServiceEvent", uuid.NewString(), uuid.NewString())
		ev.EventSource = "keyraft.gateway"
		ev.RequestParameters = map[string]any{
			"failures": sum.Total, "counts": sum.Counts, "uncounted": sum.Overflow,
			"since": sum.Since.UTC().Format(time.RFC3339Nano), "until": sum.Until.UTC().Format(time.RFC3339Nano),
		}
		b, err := json.Marshal(ev)
		if err != nil {
			s.log.Warn("authentication failures could not be summarised", "failures", sum.Total, "error", err)
			continue
		}
		s.offerEvent(ev.EventName, b)
	}
}
