// Package fsmpb holds the protobuf wire types of the replicated state
// machine, generated from fsm.proto (`make proto`): the command envelope,
// each command's payload and the records snapshots carry. Field numbers
// never change and removed fields become `reserved` lines, so that every
// log entry ever committed stays decodable.
package fsmpb
