package audit

import "testing"

// state is a named string type, as fsm.KeyState is.
type state string

// TestResponseElementsKeepNamedScalars: an answer member of a named string
// (or number) type is logged with its value, not dropped to null.
func TestResponseElementsKeepNamedScalars(t *testing.T) {
	type count int32
	r := ResponseElements(map[string]any{"KeyState": state("PendingDeletion"), "PendingWindowInDays": count(7)})
	if r["keyState"] != "PendingDeletion" {
		t.Errorf("keyState: %#v, want \"PendingDeletion\"", r["keyState"])
	}
	if r["pendingWindowInDays"] == nil {
		t.Errorf("pendingWindowInDays: nil, want 7")
	}
}
