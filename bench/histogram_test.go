package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketRangeInvertsBucketOf(t *testing.T) {
	values := []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<40 + 12345, math.MaxInt64}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of [0,%d)", v, i, numBuckets)
		}
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d = [%d,%d]", v, i, lo, hi)
		}
		if w := hi - lo + 1; w > 1 && float64(w)/float64(lo) > 1.0/subBuckets {
			t.Errorf("bucket %d = [%d,%d] is wider than 1/%d of its bound", i, lo, hi, subBuckets)
		}
	}
	// Consecutive buckets tile the line with no gap or overlap.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestHistogramQuantilesMatchSortedOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := []struct {
		name string
		n    int
		gen  func() int64
	}{
		{"constant", 1000, func() int64 { return 1_234_567 }},
		{"single", 1, func() int64 { return 42_000 }},
		{"small-exact", 5000, func() int64 { return r.Int64N(256) }},
		{"uniform-ms", 100_000, func() int64 { return 100_000 + r.Int64N(10_000_000) }},
		{"exponential", 100_000, func() int64 { return int64(r.ExpFloat64() * 2e6) }},
		{"lognormal", 100_000, func() int64 { return int64(math.Exp(13 + 1.5*r.NormFloat64())) }},
		{"bimodal", 50_000, func() int64 {
			if r.IntN(100) < 95 {
				return 500_000 + r.Int64N(200_000)
			}
			return 40_000_000 + r.Int64N(20_000_000)
		}},
		{"pareto-tail", 200_000, func() int64 { return int64(300_000 / math.Pow(1-r.Float64(), 1/1.2)) }},
	}
	quantiles := []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 0.9999, 1}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			// Split over two histograms to exercise merge as Run does.
			var a, b histogram
			vals := make([]int64, d.n)
			for i := range vals {
				vals[i] = d.gen()
				if i%2 == 0 {
					a.record(vals[i])
				} else {
					b.record(vals[i])
				}
			}
			var h histogram
			h.merge(&a)
			h.merge(&b)
			slices.Sort(vals)
			if h.n != uint64(len(vals)) {
				t.Fatalf("count %d, want %d", h.n, len(vals))
			}
			for _, q := range quantiles {
				rank := max(int(math.Ceil(q*float64(len(vals)))), 1)
				want := vals[rank-1]
				got := h.quantile(q)
				if diff := math.Abs(float64(got - want)); diff > 0.01*float64(want) {
					t.Errorf("q=%v: got %d, oracle %d (error %.3f%%)", q, got, want, 100*diff/float64(want))
				}
			}
		})
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h histogram
	if got := h.quantile(0.5); got != 0 {
		t.Fatalf("empty quantile = %d, want 0", got)
	}
}
