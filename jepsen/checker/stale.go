package checker

import (
	"fmt"
	"math"

	"github.com/keyraft/keyraft/jepsen/history"
)

// NoStaleCrypto checks, by real time alone, that no Encrypt, Decrypt or
// GenerateDataKey succeeded on a key when it was invoked after a DisableKey
// (or ScheduleKeyDeletion) of that key had been acknowledged, unless an
// EnableKey that might have taken effect after the disable was invoked
// before the crypto op returned. It is the stale read a deposed leader would
// serve; the linearizability checker finds it too, but this one names it.
func NoStaleCrypto(ops []history.Op) Result {
	const name = "no-stale-crypto"
	type span struct{ invoke, complete int64 }
	disables := map[string][]*history.Op{}
	enables := map[string][]span{}
	for i := range ops {
		op := &ops[i]
		switch {
		case (op.Type == history.DisableKey || op.Type == history.ScheduleDeletion) && op.Status == history.OK:
			disables[op.Key] = append(disables[op.Key], op)
		case op.Type == history.EnableKey && op.Status != history.Fail:
			// A refused EnableKey enabled nothing; an indeterminate one
			// may take effect at any time after its call.
			end := op.CompleteNS
			if op.Status == history.Info {
				end = math.MaxInt64
			}
			enables[op.Key] = append(enables[op.Key], span{op.InvokeNS, end})
		}
	}
	var v violations
	checked := 0
	for i := range ops {
		c := &ops[i]
		if !history.IsCrypto(c.Type) || c.Status != history.OK {
			continue
		}
		checked++
		for _, d := range disables[c.Key] {
			if d.CompleteNS >= c.InvokeNS {
				continue // the disable was not yet acknowledged
			}
			reenabled := false
			for _, e := range enables[c.Key] {
				// e may linearize after d (it had not finished when d
				// began) and before c (it began before c returned).
				if e.complete > d.InvokeNS && e.invoke < c.CompleteNS {
					reenabled = true
					break
				}
			}
			if !reenabled {
				v.add("%s\n  succeeded after %s\n  was acknowledged (%.3fs before the crypto op began), with no EnableKey of the key in between",
					c.String(), d.String(), float64(c.InvokeNS-d.CompleteNS)/1e9)
				break
			}
		}
	}
	summary := fmt.Sprintf("%d successful crypto ops checked against %d acknowledged disables", checked, countAll(disables))
	stats := map[string]any{"crypto_ok": checked, "disables": countAll(disables)}
	if v.n > 0 {
		return fail(name, summary+fmt.Sprintf("; %d stale", v.n), v.text(), stats)
	}
	return pass(name, summary, stats)
}

func countAll[T any](m map[string][]T) int {
	n := 0
	for _, l := range m {
		n += len(l)
	}
	return n
}
