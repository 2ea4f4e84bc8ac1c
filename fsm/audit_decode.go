package fsm

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// auditBatchEvents reads the events of an audit batch entry straight out
// of data, without the copies proto.Unmarshal makes (the envelope's
// payload, then every event) and the garbage they leave: on a busy node
// those cost about as much CPU as the audit store's own write (measured
// with BenchmarkAuditMemory). The events alias data; the audit store
// copies them before AppendBatches returns.
//
// A deflated batch (the version the leader writes) is inflated into a
// pooled buffer that the events alias: release gives it back once the
// audit store has copied them (nil for a plain batch, whose events alias
// data).
//
// ok is false for any other command and for anything unusual (a version
// other than today's, a field of an unexpected wire type, bytes that do
// not parse): the caller then takes the general path, which decides, and
// panics, exactly as it always has. FuzzAuditBatchEvents holds it to
// proto.Unmarshal's reading.
func auditBatchEvents(data []byte) (events [][]byte, release func(), ok bool) {
	var typ, version uint32
	var payload []byte
	for len(data) > 0 {
		num, wt, n := protowire.ConsumeTag(data)
		if n < 0 {
			return nil, nil, false
		}
		data = data[n:]
		switch {
		case (num == 1 || num == 2 || num == 3 || num == 4) && wt == protowire.VarintType:
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return nil, nil, false
			}
			data = data[n:]
			switch num {
			case 1:
				typ = uint32(v)
			case 2:
				version = uint32(v)
			}
		case num == 5 && wt == protowire.BytesType:
			b, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return nil, nil, false
			}
			data, payload = data[n:], b
		case num >= 1 && num <= 5:
			return nil, nil, false // a known field with another wire type
		default:
			n := skipField(num, wt, data)
			if n < 0 {
				return nil, nil, false
			}
			data = data[n:]
		}
	}
	if CommandType(typ) != CmdAuditBatch || typ > 255 {
		return nil, nil, false
	}
	switch version {
	case commandVersion:
	case auditBatchDeflated:
		p, rel, err := inflate(payload, maxInflatedBatch)
		if err != nil {
			return nil, nil, false // the general path panics, as it always has
		}
		payload, release = p, rel
	default:
		return nil, nil, false
	}
	fail := func() ([][]byte, func(), bool) {
		if release != nil {
			release()
		}
		return nil, nil, false
	}
	for len(payload) > 0 {
		num, wt, n := protowire.ConsumeTag(payload)
		if n < 0 {
			return fail()
		}
		payload = payload[n:]
		if num == 1 {
			// proto.Unmarshal would take a packed or otherwise typed field 1
			// as unknown: let it.
			if wt != protowire.BytesType {
				return fail()
			}
			b, n := protowire.ConsumeBytes(payload)
			if n < 0 {
				return fail()
			}
			payload, events = payload[n:], append(events, b)
			continue
		}
		n = skipField(num, wt, payload)
		if n < 0 {
			return fail()
		}
		payload = payload[n:]
	}
	return events, release, true
}

// skipField consumes an unknown field's value, or returns -1 for what the
// fast path leaves to proto.Unmarshal: groups, out-of-range numbers.
func skipField(num protowire.Number, wt protowire.Type, b []byte) int {
	if num > protowire.MaxValidNumber || wt == protowire.StartGroupType || wt == protowire.EndGroupType {
		return -1
	}
	return protowire.ConsumeFieldValue(num, wt, b)
}
