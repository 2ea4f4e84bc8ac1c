package checker

import (
	"strings"
	"testing"

	"github.com/keyraft/keyraft/jepsen/history"
)

// fakeCluster decrypts the builder's fake blobs ("ct:" + plaintext).
func fakeCluster(lose map[string]bool) DecryptFunc {
	return func(node string, c Ciphertext) DecryptOutcome {
		if lose[node+"/"+string(c.Blob)] {
			return DecryptOutcome{Err: "InvalidCiphertextException"}
		}
		return DecryptOutcome{Plaintext: []byte(strings.TrimPrefix(string(c.Blob), "ct:"))}
	}
}

var nodes3 = []string{"n1", "n2", "n3"}

func TestDurableClean(t *testing.T) {
	b := clean()
	gdk := onKey(history.GenerateDataKey, keyA)
	gdk.Out = history.Output{KeyID: keyA, Version: 2, Ciphertext: []byte("ct:datakey"), Plaintext: []byte("datakey")}
	b.seq(gdk)
	r := Durable(b.ops, DurableOptions{Nodes: nodes3, Decrypt: fakeCluster(nil)})
	if !r.OK() {
		t.Fatalf("clean history rejected:\n%s", r)
	}
	if r.Stats["ciphertexts"] != 4 || r.Stats["decrypts_ok"] != 12 {
		t.Fatalf("stats: %v", r.Stats)
	}
}

func TestDurableLostCiphertext(t *testing.T) {
	b := clean()
	r := Durable(b.ops, DurableOptions{Nodes: nodes3, Decrypt: fakeCluster(map[string]bool{"n2/ct:p2": true})})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "n2") {
		t.Fatalf("lost ciphertext accepted:\n%s", r)
	}
	// Its key was deleted: then it may not open.
	r = Durable(b.ops, DurableOptions{Nodes: nodes3, Decrypt: fakeCluster(map[string]bool{"n2/ct:p2": true}), Deleted: map[string]bool{keyA: true}})
	if !r.OK() {
		t.Fatalf("ciphertext of a deleted key counted as lost:\n%s", r)
	}
}

func TestDurableWrongPlaintextDuringRun(t *testing.T) {
	b := clean()
	src := b.ops[2] // encrypt of "p1"
	dec := history.Op{Type: history.Decrypt, Key: keyA, In: history.Input{Ciphertext: src.Out.Ciphertext, SourceOp: src.ID},
		Out: history.Output{KeyID: keyA, Plaintext: []byte("something else")}}
	b.seq(dec)
	r := Durable(b.ops, DurableOptions{Nodes: nodes3, Decrypt: fakeCluster(nil)})
	if r.Verdict != Fail || !strings.Contains(r.Counterexample, "during the run") {
		t.Fatalf("wrong plaintext accepted:\n%s", r)
	}
}

func TestDurableUnreachableIsNotAPass(t *testing.T) {
	r := Durable(clean().ops, DurableOptions{Nodes: nodes3, Decrypt: func(string, Ciphertext) DecryptOutcome {
		return DecryptOutcome{Err: "unavailable"}
	}})
	if r.Verdict != Unknown {
		t.Fatalf("nothing decrypted, verdict %s", r.Verdict)
	}
}
