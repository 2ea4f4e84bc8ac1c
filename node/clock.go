package node

import "github.com/keyraft/keyraft/cluster"

// checkClock compares this node's wall clock with the cluster clock and the
// voters' clocks, keeps the alarm that `operator status` shows, and logs
// each change. It reports whether time-driven destructive actions may run.
func (s *Server) checkClock() bool {
	ch := s.clock.Assess(s.node.PeerWalls(), s.node.Voters())
	if ch.CaughtUp {
		s.log.Warn("the cluster clock lagged this server's wall clock and caught up with it, which a majority of voters' clocks agree with",
			"lag", ch.Skew.String(), "agreeing", ch.Agreeing, "voters", ch.Voters)
	}
	prev := s.ClockAlarm()
	switch {
	case ch.Alarm != "" && prev == "":
		s.log.Error("clock alarm: "+ch.Alarm, "skew", ch.Skew.String(), "stepped", ch.Stepped)
	case ch.Alarm == "" && prev != "":
		s.log.Warn("clock alarm cleared: the wall clock agrees with the cluster clock again")
	}
	s.clockAlarm.Store(&ch.Alarm)
	return ch.Alarm == ""
}

// alarms are the NOSPACE alarms this node knows of and its own CLOCK alarm.
func (s *Server) alarms() []cluster.Alarm {
	a := s.node.Alarms()
	if m := s.ClockAlarm(); m != "" {
		a = append(a, cluster.Alarm{Alarm: "CLOCK", NodeID: s.cfg.NodeID, Message: m})
	}
	return a
}

// ClockAlarm is why this node takes no time-driven destructive action, or "".
func (s *Server) ClockAlarm() string {
	if p := s.clockAlarm.Load(); p != nil {
		return *p
	}
	return ""
}
