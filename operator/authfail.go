package operator

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
func (a *API) summariseAuthFailures() {
	t := time.NewTicker(authFailureSummaryEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		sum := a.AuthFailures.Take()
		if sum.Total == 0 {
			continue
		}
		ev := a.Events.Base(nil, "AuthenticationFailureSummary", "KeyraftServiceEvent", uuid.NewString(), uuid.NewString())
		ev.EventSource = "keyraft.gateway"
		ev.RequestParameters = map[string]any{
			"failures": sum.Total, "counts": sum.Counts, "uncounted": sum.Overflow,
			"since": sum.Since.UTC().Format(time.RFC3339Nano), "until": sum.Until.UTC().Format(time.RFC3339Nano),
		}
		b, err := json.Marshal(ev)
		if err != nil {
			a.Log.Warn("authentication failures could not be summarised", "failures", sum.Total, "error", err)
			continue
		}
		a.offerEvent(ev.EventName, b)
	}
}
