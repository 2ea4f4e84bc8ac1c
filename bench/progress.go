package bench

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// reportProgress writes one line per second to out until stop is closed:
// time since the timed phase began (or of warm-up), throughput over the
// last second and errors so far. It reads only the workers' atomic counters.
func reportProgress(out io.Writer, workers []*worker, phase *atomic.Int32, timedStart *atomic.Int64, total time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	last, lastAt := uint64(0), start
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			if phase.Load() == phaseDone {
				return
			}
			var done, failed uint64
			for _, w := range workers {
				done += w.done.Load()
				failed += w.failed.Load()
			}
			rate := float64(done-last) / now.Sub(lastAt).Seconds()
			last, lastAt = done, now
			// A tick within half a second of the phase change reports the
			// second before it, which was mostly warm-up.
			label := fmt.Sprintf("warmup %.0fs", now.Sub(start).Seconds())
			if ts := timedStart.Load(); phase.Load() == phaseTimed && now.Sub(time.Unix(0, ts)) >= time.Second/2 {
				label = fmt.Sprintf("%.0fs/%.0fs", now.Sub(time.Unix(0, ts)).Seconds(), total.Seconds())
			}
			fmt.Fprintf(out, "bench: %s  %8.0f ops/s  %d errors\n", label, rate, failed)
		}
	}
}
