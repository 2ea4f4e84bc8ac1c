package main

import (
	"io"
	"strings"
	"testing"
)

// TestParseRekey: the rekey steps are exclusive, and a command line that
// names two, or carries what its step would ignore, is refused before
// anything is sent (opRekey exits 2 on the error).
func TestParseRekey(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-status", "-init"}, "-init and -status are exclusive"},
		{[]string{"-cancel", "-init"}, "-init and -cancel are exclusive"},
		{[]string{"-status", "-cancel"}, "-cancel and -status are exclusive"},
		{[]string{"-init", "-cancel", "-status"}, "-init and -cancel and -status are exclusive"},
		{[]string{"-init", "-key-shares", "3", "-key-threshold", "2", "SHARE"}, "-init takes no argument, got 1"},
		{[]string{"-cancel", "SHARE"}, "-cancel takes no argument"},
		{[]string{"-status", "SHARE", "MORE"}, "-status takes no argument, got 2"},
		{[]string{"ONE", "TWO"}, "give exactly one share"},
		{nil, "give exactly one share"},
		{[]string{"-key-shares", "3", "SHARE"}, "-key-shares does not go with submitting a share"},
		{[]string{"-init", "-nonce", "n"}, "-nonce does not go with -init"},
		{[]string{"-cancel", "-verify"}, "-verify does not go with -cancel"},
		{[]string{"-status", "-key-threshold", "2"}, "-key-threshold does not go with -status"},
		{[]string{"-status", "-nonce", "n"}, "-nonce does not go with -status"},
	} {
		if _, _, err := parseRekey(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want rekeyArgs
	}{
		{[]string{"-init", "-key-shares", "3", "-key-threshold", "2", "-verify"}, rekeyArgs{mode: rekeyInit, shares: 3, threshold: 2, verify: true}},
		{[]string{"-cancel"}, rekeyArgs{mode: rekeyCancel, shares: 5, threshold: 3}},
		{[]string{"-status", "-format", "json"}, rekeyArgs{mode: rekeyStatus, shares: 5, threshold: 3}},
		{[]string{"SHARE", "-nonce", "n"}, rekeyArgs{mode: rekeySubmit, shares: 5, threshold: 3, nonce: "n", share: "SHARE"}},
		{[]string{"-verify", "NEW"}, rekeyArgs{mode: rekeySubmit, shares: 5, threshold: 3, verify: true, share: "NEW"}},
	} {
		if of, got, err := parseRekey(tc.args); err != nil || of == nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

// TestParseRotate: `operator rotate` takes no argument; a stray one is
// refused rather than rotating the keyring anyway.
func TestParseRotate(t *testing.T) {
	if _, err := parseRotate([]string{"now", "please"}); err == nil || !strings.Contains(err.Error(), "takes no argument, got 2") {
		t.Errorf("rotate now please: %v", err)
	}
	if of, err := parseRotate([]string{"-format", "json"}); err != nil || of == nil || of.format != "json" {
		t.Errorf("rotate -format json: %v", err)
	}
}

// TestFormatIsChecked: an unknown -format is a usage error before anything
// is sent (a breaker's `operator rotate -format=garbage` rotated).
func TestFormatIsChecked(t *testing.T) {
	fs, of := newOperatorFlags("operator rotate", "operator rotate [flags]", "")
	fs.SetOutput(io.Discard)
	if err := fs.Parse([]string{"-format=garbage"}); err == nil {
		t.Fatal("-format=garbage parsed")
	}
	for _, f := range []string{"json", "table"} {
		if err := fs.Parse([]string{"-format=" + f}); err != nil || of.format != f {
			t.Fatalf("-format=%s: %v, format %q", f, err, of.format)
		}
	}
}
