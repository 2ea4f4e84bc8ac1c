package report

import (
	"sort"

	"github.com/keyraft/keyraft/jepsen/history"
)

// Percentiles of ok-op latency in one phase, in milliseconds.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Latencies groups ok ops by the phase they were invoked in: "no-fault", or
// the kind of the fault in force, and "all".
func Latencies(ops []history.Op, faults []history.Fault) map[string]Percentiles {
	by := map[string][]float64{}
	for _, op := range ops {
		if op.Status != history.OK {
			continue
		}
		ms := float64(op.Latency()) / 1e6
		phase := "no-fault"
		for _, f := range faults {
			if op.InvokeNS >= f.StartNS && op.InvokeNS < f.EndNS {
				phase = f.Kind
				break
			}
		}
		by[phase] = append(by[phase], ms)
		by["all"] = append(by["all"], ms)
	}
	out := map[string]Percentiles{}
	for phase, l := range by {
		sort.Float64s(l)
		out[phase] = Percentiles{N: len(l), P50: at(l, 0.50), P99: at(l, 0.99), Max: l[len(l)-1]}
	}
	return out
}

func at(sorted []float64, q float64) float64 {
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}
