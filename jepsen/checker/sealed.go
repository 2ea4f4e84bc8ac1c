package checker

import (
	"fmt"

	"github.com/keyraft/keyraft/jepsen/history"
)

// SealedSilent checks that a sealed node answered no KMS request with
// success: an op sent to a node after its seal took effect and answered
// before its unseal began must have failed. A sealed node holds no keys;
// a success would mean it served from secrets it should have dropped (or
// forwarded while sealed, which it must not).
func SealedSilent(ops []history.Op, faults []history.Fault) Result {
	const name = "sealed-silent"
	var v violations
	windows, checked := 0, 0
	for _, f := range faults {
		if f.Kind != "seal" || f.Error != "" || f.AppliedNS == 0 || f.HealNS == 0 || len(f.Nodes) != 1 {
			continue
		}
		windows++
		for i := range ops {
			op := &ops[i]
			if op.Node != f.Nodes[0] || op.InvokeNS <= f.AppliedNS || op.CompleteNS >= f.HealNS {
				continue
			}
			checked++
			if op.Status == history.OK {
				v.add("%s succeeded while %s was sealed (sealed at %.3fs, unseal began at %.3fs)",
					op.String(), f.Nodes[0], float64(f.AppliedNS)/1e9, float64(f.HealNS)/1e9)
			}
		}
	}
	stats := map[string]any{"seal_windows": windows, "ops_to_sealed_nodes": checked}
	summary := fmt.Sprintf("%d ops sent to a node inside %d seal windows", checked, windows)
	if v.n > 0 {
		return fail(name, summary+fmt.Sprintf("; %d succeeded", v.n), v.text(), stats)
	}
	return pass(name, summary+": none succeeded", stats)
}
