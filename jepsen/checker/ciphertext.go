package checker

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	"github.com/keyraft/keyraft/jepsen/history"
)

// Ciphertext is one blob a client was given by a successful Encrypt or
// GenerateDataKey, with the plaintext it must decrypt to.
type Ciphertext struct {
	Op        int64
	Key       string
	Blob      []byte
	Context   map[string]string
	Plaintext []byte
}

// Ciphertexts lists every acknowledged ciphertext of a history.
func Ciphertexts(ops []history.Op) []Ciphertext {
	var out []Ciphertext
	for _, op := range ops {
		if op.Status != history.OK || len(op.Out.Ciphertext) == 0 {
			continue
		}
		c := Ciphertext{Op: op.ID, Key: op.Key, Blob: op.Out.Ciphertext, Context: op.In.Context}
		switch op.Type {
		case history.Encrypt:
			c.Plaintext = op.In.Plaintext
		case history.GenerateDataKey:
			c.Plaintext = op.Out.Plaintext
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

// DecryptOutcome is one decryption's answer: a plaintext, or an error code
// (the AWS __type, or "unavailable" when the node could not be asked).
type DecryptOutcome struct {
	Plaintext []byte
	Err       string
}

// DecryptFunc decrypts c by asking node. The harness passes one that calls
// the cluster; tests pass a fake.
type DecryptFunc func(node string, c Ciphertext) DecryptOutcome

// DurableOptions configures the ciphertext checker.
type DurableOptions struct {
	Nodes   []string
	Decrypt DecryptFunc
	// Deleted are keys the cluster reported deleted after the run (their
	// windows ended): their ciphertexts may no longer open.
	Deleted map[string]bool
	// Parallel bounds concurrent decrypts (default 4).
	Parallel int
}

// Durable checks that every acknowledged ciphertext decrypts to its
// plaintext on every node after the run, unless its key was deleted, and
// that every successful Decrypt during the run returned the right plaintext.
func Durable(ops []history.Op, opt DurableOptions) Result {
	const name = "ciphertexts"
	cts := Ciphertexts(ops)
	byOp := map[int64]Ciphertext{}
	for _, c := range cts {
		byOp[c.Op] = c
	}
	var v violations
	inRun := 0
	for _, op := range ops {
		if op.Type != history.Decrypt || op.Status != history.OK {
			continue
		}
		inRun++
		if src, ok := byOp[op.In.SourceOp]; ok && !bytes.Equal(src.Plaintext, op.Out.Plaintext) {
			v.add("during the run, %s returned %q for the ciphertext of op %d, which encrypted %q", op.String(), op.Out.Plaintext, src.Op, src.Plaintext)
		}
	}

	type job struct {
		node string
		c    Ciphertext
	}
	type answer struct {
		job
		out DecryptOutcome
	}
	jobs := make(chan job)
	answers := make(chan answer)
	par := max(opt.Parallel, 1)
	if opt.Parallel == 0 {
		par = 4
	}
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				answers <- answer{j, opt.Decrypt(j.node, j.c)}
			}
		}()
	}
	go func() {
		for _, c := range cts {
			for _, n := range opt.Nodes {
				jobs <- job{n, c}
			}
		}
		close(jobs)
		wg.Wait()
		close(answers)
	}()
	var all []answer
	for a := range answers {
		all = append(all, a)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].c.Op != all[j].c.Op {
			return all[i].c.Op < all[j].c.Op
		}
		return all[i].node < all[j].node
	})
	var ok, deleted, unreachable int
	for _, a := range all {
		switch {
		case a.out.Err == "" && bytes.Equal(a.out.Plaintext, a.c.Plaintext):
			ok++
		case a.out.Err == "":
			v.add("ciphertext of op %d (key %s) decrypted on %s to %q, want %q", a.c.Op, a.c.Key, a.node, a.out.Plaintext, a.c.Plaintext)
		case opt.Deleted[a.c.Key]:
			deleted++
		case a.out.Err == "unavailable":
			unreachable++
		default:
			v.add("ciphertext of op %d (key %s, not deleted) no longer decrypts on %s: %s", a.c.Op, a.c.Key, a.node, a.out.Err)
		}
	}
	stats := map[string]any{"ciphertexts": len(cts), "decrypts_ok": ok, "skipped_deleted_key": deleted,
		"unreachable": unreachable, "in_run_decrypts": inRun, "nodes": len(opt.Nodes)}
	summary := fmt.Sprintf("%d acknowledged ciphertexts x %d nodes: %d decrypted, %d under deleted keys", len(cts), len(opt.Nodes), ok, deleted)
	if v.n > 0 {
		return fail(name, summary+fmt.Sprintf(", %d lost or wrong", v.n), v.text(), stats)
	}
	if unreachable > 0 {
		return Result{Name: name, Verdict: Unknown, Summary: summary + fmt.Sprintf(", %d could not be asked", unreachable), Stats: stats}
	}
	return pass(name, summary, stats)
}
