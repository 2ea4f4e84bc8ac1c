// Package checker holds the verdicts on a history: linearizability of key
// metadata, durability of ciphertexts, no crypto on disabled keys, audit
// completeness, and availability. Each checker is a pure function of the
// history and what was read from the cluster afterwards, so each is tested
// offline against doctored histories.
package checker

import (
	"fmt"
	"strings"
)

// Verdict is a checker's answer.
type Verdict string

const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
	// Unknown: the checker could not decide (porcupine timed out, or the
	// cluster could not be read). It is not a pass.
	Unknown Verdict = "unknown"
)

// Result is one checker's verdict with the first counterexample.
type Result struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// Summary is one line of what was checked.
	Summary string `json:"summary"`
	// Counterexample is the first violation found, as text; empty on a pass.
	Counterexample string `json:"counterexample,omitempty"`
	// Stats are the checker's measurements (JSON-able).
	Stats map[string]any `json:"stats,omitempty"`
}

// OK reports a pass.
func (r Result) OK() bool { return r.Verdict == Pass }

func (r Result) String() string {
	s := fmt.Sprintf("%-16s %-7s %s", r.Name, strings.ToUpper(string(r.Verdict)), r.Summary)
	if r.Counterexample != "" {
		s += "\n    " + strings.ReplaceAll(strings.TrimRight(r.Counterexample, "\n"), "\n", "\n    ")
	}
	return s
}

func pass(name, summary string, stats map[string]any) Result {
	return Result{Name: name, Verdict: Pass, Summary: summary, Stats: stats}
}

func fail(name, summary, counter string, stats map[string]any) Result {
	return Result{Name: name, Verdict: Fail, Summary: summary, Counterexample: counter, Stats: stats}
}

// violations collects counterexamples, keeping the first few in full.
type violations struct {
	n     int
	first []string
}

const keepViolations = 5

func (v *violations) add(format string, args ...any) {
	v.n++
	if len(v.first) < keepViolations {
		v.first = append(v.first, fmt.Sprintf(format, args...))
	}
}

func (v *violations) text() string {
	s := strings.Join(v.first, "\n")
	if v.n > len(v.first) {
		s += fmt.Sprintf("\n(and %d more)", v.n-len(v.first))
	}
	return s
}
