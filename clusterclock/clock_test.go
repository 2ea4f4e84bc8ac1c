package clusterclock

import (
	"strings"
	"testing"
	"time"
)

// fake is a wall clock, a monotonic clock and a last committed timestamp
// that a test moves by hand.
type fake struct {
	wall time.Time
	mono time.Duration
	last int64
}

func (f *fake) clock() *Clock {
	c := &Clock{Last: func() int64 { return f.last }, Wall: func() time.Time { return f.wall }, Tolerance: time.Minute}
	c.mono = func() time.Duration { return f.mono }
	return c
}

// pass moves real time on: both clocks advance together.
func (f *fake) pass(d time.Duration) { f.wall, f.mono = f.wall.Add(d), f.mono+d }

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func TestNowFollowsWallAndNeverRunsBackwards(t *testing.T) {
	f := &fake{wall: t0, last: t0.UnixNano()}
	c := f.clock()
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	f.pass(time.Hour)
	if got := c.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after an hour Now = %v", got)
	}
	before := c.Now()
	f.wall = f.wall.Add(-48 * time.Hour) // the wall clock goes back two days
	if got := c.Now(); got.Before(before) {
		t.Fatalf("the cluster clock ran backwards: %v after %v", got, before)
	}
	f.pass(time.Hour) // and stays frozen until the wall clock catches up
	if got := c.Now(); !got.Equal(before) {
		t.Fatalf("with the wall behind, Now = %v, want %v", got, before)
	}
}

func TestNowAdvancesNoFasterThanRealTime(t *testing.T) {
	f := &fake{wall: t0, last: t0.UnixNano()}
	c := f.clock()
	c.Now()
	f.wall = f.wall.Add(60 * 24 * time.Hour) // a jump forward of 60 days
	f.pass(10 * time.Second)
	if got := c.Now(); !got.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("after a 60-day jump and 10 s, Now = %v, want %v", got, t0.Add(10*time.Second))
	}
}

func TestLaterCommittedTimestampMovesTheClock(t *testing.T) {
	f := &fake{wall: t0, last: t0.UnixNano()}
	c := f.clock()
	c.Now()
	f.last = t0.Add(time.Second).UnixNano() // another leader stamped a little ahead
	if got := c.Now(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("Now = %v, want the committed %v", got, t0.Add(time.Second))
	}
}

func TestUnknownClockIsTheWall(t *testing.T) {
	f := &fake{wall: t0}
	c := f.clock()
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("with nothing committed Now = %v, want the wall %v", got, t0)
	}
	if ch := c.Assess(nil, 1); ch.Alarm != "" {
		t.Fatalf("alarm with nothing committed: %s", ch.Alarm)
	}
}

func TestAssess(t *testing.T) {
	agree := func(f *fake, n int) map[string]time.Time {
		m := map[string]time.Time{}
		for i := 0; i < n; i++ {
			m[string(rune('a'+i))] = f.wall
		}
		return m
	}
	t.Run("in step", func(t *testing.T) {
		f := &fake{wall: t0, last: t0.UnixNano()}
		if ch := f.clock().Assess(agree(f, 2), 3); ch.Alarm != "" || ch.CaughtUp {
			t.Fatalf("%+v", ch)
		}
	})
	t.Run("leader stepped forward while running, peers disagree", func(t *testing.T) {
		f := &fake{wall: t0, last: t0.UnixNano()}
		c := f.clock()
		peers := agree(f, 2)
		c.Now()
		f.wall = f.wall.Add(60 * 24 * time.Hour)
		ch := c.Assess(peers, 3)
		if ch.Alarm == "" || !ch.Stepped || ch.Agreeing != 0 || !strings.Contains(ch.Alarm, "ahead of") {
			t.Fatalf("%+v", ch)
		}
		if got := c.Now(); !got.Equal(t0) {
			t.Fatalf("the alarm moved the clock to %v", got)
		}
	})
	t.Run("started with a jumped clock, peers disagree", func(t *testing.T) {
		f := &fake{wall: t0.Add(60 * 24 * time.Hour), last: t0.UnixNano()}
		peers := map[string]time.Time{"a": t0, "b": t0}
		ch := f.clock().Assess(peers, 3)
		if ch.Alarm == "" || ch.Stepped || ch.Agreeing != 1 {
			t.Fatalf("%+v", ch)
		}
	})
	t.Run("cluster was down, every clock agrees: catch up", func(t *testing.T) {
		f := &fake{wall: t0.Add(72 * time.Hour), last: t0.UnixNano()}
		c := f.clock()
		ch := c.Assess(agree(f, 2), 3)
		if ch.Alarm != "" || !ch.CaughtUp {
			t.Fatalf("%+v", ch)
		}
		if got := c.Now(); !got.Equal(f.wall) {
			t.Fatalf("after catching up Now = %v, want %v", got, f.wall)
		}
	})
	t.Run("one voter stepped while running", func(t *testing.T) {
		f := &fake{wall: t0, last: t0.UnixNano()}
		c := f.clock()
		c.Now()
		f.wall = f.wall.Add(60 * 24 * time.Hour)
		if ch := c.Assess(nil, 1); ch.Alarm == "" || ch.CaughtUp {
			t.Fatalf("%+v", ch)
		}
	})
	t.Run("wall went back", func(t *testing.T) {
		f := &fake{wall: t0, last: t0.UnixNano()}
		c := f.clock()
		c.Now()
		f.wall = f.wall.Add(-24 * time.Hour)
		ch := c.Assess(agree(f, 2), 3)
		if ch.Alarm == "" || ch.CaughtUp || !strings.Contains(ch.Alarm, "behind") {
			t.Fatalf("%+v", ch)
		}
	})
}
