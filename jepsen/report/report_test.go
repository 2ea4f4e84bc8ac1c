package report

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyraft/keyraft/jepsen/checker"
	"github.com/keyraft/keyraft/jepsen/history"
)

func synthetic() ([]history.Op, []history.Fault) {
	r := rand.New(rand.NewPCG(1, 2))
	var ops []history.Op
	for i := range 3000 {
		start := int64(i) * 1e7
		lat := int64(1e6 + r.IntN(5e6))
		st := history.OK
		if start > 10e9 && start < 13e9 {
			st, lat = history.Info, 5e9
		} else if i%17 == 0 {
			st = history.Fail
		}
		ops = append(ops, history.Op{ID: int64(i), Type: history.Encrypt, Status: st, InvokeNS: start, CompleteNS: start + lat})
	}
	faults := []history.Fault{
		{Kind: "kill", Target: "leader", Nodes: []string{"n1"}, Leader: "n1", StartNS: 10e9, EndNS: 13e9},
		{Kind: "partition", Target: "halves", Nodes: []string{"n2"}, StartNS: 18e9, EndNS: 22e9},
	}
	return ops, faults
}

func TestPlot(t *testing.T) {
	ops, faults := synthetic()
	path := filepath.Join(t.TempDir(), PlotFile)
	if err := Plot(path, ops, faults, "test run"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() < 500 {
		t.Fatalf("image is %v", img.Bounds())
	}
}

func TestWriteSummary(t *testing.T) {
	ops, faults := synthetic()
	dir := t.TempDir()
	s := Summary{Seed: 7, Backend: "local", Nodes: 3, Duration: "30s", Replay: "jepsen -seed 7"}
	results := []checker.Result{{Name: "x", Verdict: checker.Pass, Summary: "fine"}}
	Summarize(&s, ops, faults, results)
	if !s.Valid || s.ByType["Encrypt"]["info"] == 0 || s.Latency["kill"].N > 1 || s.Latency["no-fault"].N == 0 {
		t.Fatalf("summary: valid=%v %v %v", s.Valid, s.ByType, s.Latency)
	}
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, ResultsText))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"seed=7", "verdict: PASS", "kill", "Encrypt"} {
		if !strings.Contains(string(txt), want) {
			t.Fatalf("results.txt lacks %q:\n%s", want, txt)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ResultsJSON)); err != nil {
		t.Fatal(err)
	}
}
