// Package clusterclock holds the cluster clock: the time a server stamps
// on the commands it proposes and the time that decides when a key's
// deletion window ends, a rotation is due or an audit event is old enough
// to trim. It never runs backwards, advances at most as fast as real time
// has passed since the latest committed timestamp, and follows this
// server's wall clock only while that clock agrees with it or with a
// majority of the voters' clocks.
package clusterclock
