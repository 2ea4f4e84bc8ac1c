package bench

import (
	"math"
	"math/bits"
	"time"
)

// histogram is a log-bucket latency histogram in the style of HdrHistogram.
// Values below 2*subBuckets fall in exact one-wide buckets; above that, each
// power of two is split into subBuckets equal buckets, so a bucket's width
// is at most 1/subBuckets of its lower bound and its midpoint is within
// 1/(2*subBuckets) (0.4%) of every value it holds. Recording is a few
// instructions and no allocation. A histogram is not safe for concurrent
// use: each worker owns one and Run merges them at the end.
type histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max int64
}

const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits // buckets per power of two
	// numBuckets covers every non-negative int64: the largest index is
	// bucketOf(MaxInt64) = (63-subBucketBits)*subBuckets + 2*subBuckets-1.
	numBuckets = (64 - subBucketBits) * subBuckets
)

// bucketOf maps a non-negative value to its bucket index.
func bucketOf(v int64) int {
	u := uint64(v)
	if u < 2*subBuckets {
		return int(u)
	}
	shift := bits.Len64(u) - (subBucketBits + 1) // u>>shift is in [subBuckets, 2*subBuckets)
	return shift*subBuckets + int(u>>shift)
}

// bucketRange is the inclusive range of values bucketOf maps to i.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subBuckets {
		return int64(i), int64(i)
	}
	shift := i/subBuckets - 1
	top := int64(i - shift*subBuckets) // in [subBuckets, 2*subBuckets)
	lo = top << shift
	return lo, lo + (int64(1) << shift) - 1
}

// record adds one value; negative values count as zero.
func (h *histogram) record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[bucketOf(v)]++
	h.n++
}

func (h *histogram) recordDuration(d time.Duration) { h.record(int64(d)) }

// merge adds every value of o to h.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile is the nearest-rank q-quantile (0 ≤ q ≤ 1): the value at rank
// ceil(q*n) of the sorted values, to within the bucket error, clamped to the
// exact minimum and maximum. It is 0 for an empty histogram.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	rank = min(rank, h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return min(max(lo+(hi-lo)/2, h.min), h.max)
		}
	}
	return h.max
}

func (h *histogram) quantileDuration(q float64) time.Duration { return time.Duration(h.quantile(q)) }
