package checker

import (
	"testing"

	"github.com/keyraft/keyraft/jepsen/history"
)

func TestNoStaleCryptoClean(t *testing.T) {
	b := clean()
	// Concurrent with the disable: allowed either way.
	b.at(b.now+1, b.now+100, onKey(history.DisableKey, keyA))
	b.at(b.now-50, b.now+10, encryptOK(keyA, 2, "racing"))
	if r := NoStaleCrypto(b.ops); !r.OK() {
		t.Fatalf("clean history rejected:\n%s", r)
	}
}

func TestNoStaleCryptoAfterDisable(t *testing.T) {
	b := clean()
	b.seq(onKey(history.DisableKey, keyA))
	b.seq(encryptOK(keyA, 2, "stale"))
	r := NoStaleCrypto(b.ops)
	if r.Verdict != Fail {
		t.Fatalf("encrypt after an acknowledged disable accepted:\n%s", r)
	}
	t.Log(r)
}

func TestNoStaleCryptoReenabled(t *testing.T) {
	for _, enable := range []history.Op{onKey(history.EnableKey, keyA), info(onKey(history.EnableKey, keyA))} {
		b := clean()
		b.seq(onKey(history.DisableKey, keyA))
		b.seq(enable)
		b.seq(encryptOK(keyA, 2, "fine"))
		if r := NoStaleCrypto(b.ops); !r.OK() {
			t.Fatalf("encrypt after a re-enable (%s) rejected:\n%s", enable.Status, r)
		}
	}
	// A refused EnableKey enabled nothing.
	b := clean()
	b.seq(onKey(history.ScheduleDeletion, keyA))
	b.seq(failed(onKey(history.EnableKey, keyA), "KMSInvalidStateException"))
	dec := history.Op{Type: history.Decrypt, Key: keyA, Out: history.Output{KeyID: keyA, Plaintext: []byte("p1")}}
	b.seq(dec)
	if r := NoStaleCrypto(b.ops); r.Verdict != Fail {
		t.Fatalf("decrypt of a key pending deletion accepted:\n%s", r)
	}
}
