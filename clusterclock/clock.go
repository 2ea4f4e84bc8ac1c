package clusterclock

import (
	"fmt"
	"sync"
	"time"
)

// Clock is one server's view of the cluster clock. Its zero value is not
// usable; set Last (and Wall, Tolerance when not the defaults).
//
// The clock holds an anchor: a value and the monotonic instant it was
// read. Now is max(anchor, min(wall, anchor + monotonic time since)), and
// becomes the new anchor, so the clock never runs backwards and never
// runs faster than real time, whatever the wall clock does. A committed
// timestamp later than the clock (another leader stamped it) moves the
// anchor up to it.
type Clock struct {
	// Last returns the latest committed leader timestamp, Unix
	// nanoseconds, zero while none is known (fsm.FSM.LastTimestamp).
	Last func() int64
	// Wall is this server's wall clock; nil is time.Now.
	Wall func() time.Time
	// Tolerance is how far the wall clock may stray from the cluster
	// clock before it is an alarm; zero is DefaultTolerance.
	Tolerance time.Duration

	mu     sync.Mutex
	value  int64         // anchor, Unix ns; 0 until a timestamp is known; guarded by mu
	at     time.Duration // mono() when value was read; guarded by mu
	mono   func() time.Duration
	start  time.Time // carries the monotonic reading mono measures from
	drift0 int64     // wall - mono at the first reading; guarded by mu
	began  bool      // drift0 is set; guarded by mu
}

// DefaultTolerance is how far a wall clock may stray from the cluster clock
// (NTP keeps servers within milliseconds; a step beyond this is a jump).
const DefaultTolerance = time.Minute

func (c *Clock) wall() time.Time {
	if c.Wall != nil {
		return c.Wall()
	}
	return time.Now()
}

func (c *Clock) tolerance() time.Duration {
	if c.Tolerance > 0 {
		return c.Tolerance
	}
	return DefaultTolerance
}

// monoLocked is the time elapsed on the monotonic clock since the first
// reading; unit tests replace it.
func (c *Clock) monoLocked() time.Duration {
	if c.mono != nil {
		return c.mono()
	}
	if c.start.IsZero() {
		c.start = time.Now()
	}
	return time.Since(c.start)
}

// Now reads the cluster clock. Until any committed timestamp is known (a
// cluster that has committed nothing yet) it is the wall clock, and
// anchors nothing: there is no state yet that time could destroy.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	mono, wall := c.monoLocked(), c.wall().UnixNano()
	c.noteDriftLocked(mono, wall)
	if v := c.readLocked(mono, wall); v != 0 {
		return time.Unix(0, v)
	}
	return time.Unix(0, wall)
}

// readLocked advances the anchor to now and returns it (0 while unknown).
func (c *Clock) readLocked(mono time.Duration, wall int64) int64 {
	if c.value != 0 {
		c.value = max(c.value, min(wall, c.value+int64(mono-c.at)))
		c.at = mono
	}
	if last := c.Last(); last > c.value {
		c.value, c.at = last, mono
	}
	return c.value
}

// noteDriftLocked remembers how the wall clock stood against the
// monotonic one at the first reading: a later difference is a step of the
// wall clock while this process ran.
func (c *Clock) noteDriftLocked(mono time.Duration, wall int64) {
	if !c.began {
		c.drift0, c.began = wall-int64(mono), true
	}
}

// Check is one assessment of this server's wall clock against the cluster
// clock and the voters' clocks.
type Check struct {
	// Skew is the wall clock minus the cluster clock.
	Skew time.Duration
	// Stepped is true when this server's wall clock has moved against its
	// monotonic clock, beyond the tolerance, since the process started.
	Stepped bool
	// Agreeing counts the voters whose wall clocks agree with this
	// server's, this server included unless its clock Stepped; Voters is
	// how many there are.
	Agreeing, Voters int
	// CaughtUp is true when the cluster clock lagged and was moved to the
	// wall clock, which a majority of the voters' clocks agree with.
	CaughtUp bool
	// Alarm, when not empty, says why time-driven destructive actions must
	// wait: the wall clock disagrees with the cluster clock and cannot be
	// trusted to move it.
	Alarm string
}

// Assess compares this server's wall clock with the cluster clock and
// with peers, the estimated wall clocks now of the other voters
// (cluster.Node.PeerWalls), of which there are voters in all, this server
// included. A cluster clock that lags the wall clock (the cluster was
// down; this server restarted long after the last commit) catches up
// when a majority of voters agree with this server's wall clock; one that
// leads it (the wall clock went back) waits for it. Either way, until the
// two agree the answer carries an alarm.
func (c *Clock) Assess(peers map[string]time.Time, voters int) Check {
	c.mu.Lock()
	defer c.mu.Unlock()
	tol := c.tolerance()
	mono, wallT := c.monoLocked(), c.wall()
	wall := wallT.UnixNano()
	c.noteDriftLocked(mono, wall)
	var ch Check
	step := wall - int64(mono) - c.drift0
	ch.Stepped = abs(time.Duration(step)) > tol
	v := c.readLocked(mono, wall)
	if v == 0 {
		return ch // nothing committed yet: nothing to protect
	}
	ch.Skew = time.Duration(wall - v)
	ch.Voters = max(voters, 1)
	if !ch.Stepped {
		ch.Agreeing++
	}
	for _, pw := range peers {
		if abs(wallT.Sub(pw)) <= tol {
			ch.Agreeing++
		}
	}
	if abs(ch.Skew) <= tol {
		return ch
	}
	if ch.Skew > 0 && 2*ch.Agreeing > ch.Voters {
		c.value, c.at = wall, mono
		ch.CaughtUp = true
		return ch
	}
	dir := "ahead of"
	if ch.Skew < 0 {
		dir = "behind"
	}
	ch.Alarm = fmt.Sprintf("this server's wall clock is %s %s the cluster clock (tolerance %s); %d of %d voters' clocks agree with it; "+
		"no key deletion, scheduled rotation or audit trimming by age until the clocks agree",
		abs(ch.Skew).Round(time.Second), dir, tol, ch.Agreeing, ch.Voters)
	if ch.Stepped {
		ch.Alarm += fmt.Sprintf(" (the wall clock was stepped by %s while this server ran)", time.Duration(step).Round(time.Second))
	}
	return ch
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
