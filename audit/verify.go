package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
)

// Violation is the first break in the chain Verify found.
type Violation struct {
	Seq    uint64
	Reason string
}

func (v *Violation) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", v.Seq, v.Reason)
}

// Verify walks the whole log and reports the first removed, changed,
// reordered or inserted event; it returns how many events it checked.
// Stored bytes that are not a record (a checksum that no longer matches)
// are a changed event too: the one that should have come next.
func (s *Store) Verify() (checked uint64, viol *Violation, err error) {
	return s.VerifyContext(context.Background())
}

// VerifyContext is Verify that gives up, with ctx's error, once ctx ends:
// a log of millions of events takes minutes to read, and nobody may be
// waiting for the answer any more.
func (s *Store) VerifyContext(ctx context.Context) (checked uint64, viol *Violation, err error) {
	err = s.Read(func(v *View) error {
		checked, viol, err = v.verify(ctx)
		return err
	})
	return checked, viol, err
}

// link checks that r is the event after prev in the chain: the next
// number, prev's hash, and its own hash over its contents. It is the one
// rule of a chain link, for verify and for the streams a snapshot brings.
func link(prev, r Record) *Violation {
	switch {
	case r.Seq != prev.Seq+1:
		return &Violation{Seq: prev.Seq + 1, Reason: fmt.Sprintf("expected event %d, found event %d (removed or inserted events)", prev.Seq+1, r.Seq)}
	case r.Prev != prev.Hash:
		return &Violation{Seq: r.Seq, Reason: "its previous-hash does not match the event before it (reordered, removed or inserted events)"}
	case chainHash(r.Prev, r.Seq, r.Event) != r.Hash:
		return &Violation{Seq: r.Seq, Reason: "its contents do not match its hash " + hex.EncodeToString(r.Hash[:8]) + "… (changed)"}
	}
	return nil
}

// verifyCheckEvery is how many records verify checks between looks at
// its context.
const verifyCheckEvery = 4096

// verify is Verify over one view.
func (v *View) verify(ctx context.Context) (uint64, *Violation, error) {
	var checked uint64
	var viol *Violation
	var prev Record
	if a, ok := v.Anchor(); ok {
		prev = a
	}
	err := v.Each(0, func(r Record) (bool, error) {
		if checked%verifyCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		checked++
		viol = link(prev, r)
		prev = r
		return viol == nil, nil
	})
	var ce *CorruptError
	if viol == nil && errors.As(err, &ce) {
		viol = &Violation{Seq: prev.Seq + 1, Reason: fmt.Sprintf("its stored bytes are damaged: %s at offset %d of %s (changed, or removed bytes)", ce.Reason, ce.Offset, filepath.Base(ce.Path))}
		err = nil
	}
	return checked, viol, err
}
