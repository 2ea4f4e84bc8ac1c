package seal

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestBarrierUnseal(t *testing.T) {
	for _, tc := range []struct{ n, threshold int }{{1, 1}, {3, 2}, {5, 3}, {10, 7}} {
		t.Run("", func(t *testing.T) {
			in := mustInit(t, tc.n, tc.threshold)
			b := NewBarrier()
			if st := b.Status(tc.threshold); !st.Sealed || st.Progress != 0 || st.Threshold != tc.threshold {
				t.Fatalf("new barrier status %+v", st)
			}
			if _, err := b.Keyring(); !errors.Is(err, ErrSealed) {
				t.Fatalf("Keyring on sealed barrier: %v", err)
			}
			var nonce string
			for i := range tc.threshold - 1 {
				st, err := b.Unseal(in.shares[i], in.sealedKeyring, tc.threshold)
				if err != nil {
					t.Fatal(err)
				}
				if !st.Sealed || st.Progress != i+1 || st.Threshold != tc.threshold || st.Nonce == "" {
					t.Fatalf("after %d shares: %+v", i+1, st)
				}
				if nonce == "" {
					nonce = st.Nonce
				} else if st.Nonce != nonce {
					t.Fatal("nonce changed within one attempt")
				}
			}
			st, err := b.Unseal(in.shares[tc.n-1], in.sealedKeyring, tc.threshold)
			if err != nil {
				t.Fatal(err)
			}
			if st.Sealed || st.Progress != 0 || st.Nonce != "" {
				t.Fatalf("after threshold: %+v", st)
			}
			kr, err := b.Keyring()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(kr.key, in.keyring.key) {
				t.Fatal("unsealed keyring differs from the initialised one")
			}
			// Unseal on an unsealed barrier is a no-op, even with junk.
			if st, err := b.Unseal([]byte("junk"), in.sealedKeyring, tc.threshold); err != nil || st.Sealed {
				t.Fatalf("Unseal when unsealed: %+v, %v", st, err)
			}
		})
	}
}

func TestBarrierFewerThanThreshold(t *testing.T) {
	in := mustInit(t, 5, 3)
	b := NewBarrier()
	for i, want := range []int{1, 2} {
		st, err := b.Unseal(in.shares[i], in.sealedKeyring, 3)
		if err != nil || !st.Sealed || st.Progress != want {
			t.Fatalf("share %d: %+v, %v", i, st, err)
		}
	}
	if st := b.Status(3); !st.Sealed || st.Progress != 2 || st.Threshold != 3 {
		t.Fatalf("status %+v", st)
	}
	if _, err := b.Keyring(); !errors.Is(err, ErrSealed) {
		t.Fatalf("want ErrSealed, got %v", err)
	}
	if st := b.ResetProgress(); !st.Sealed || st.Progress != 0 || st.Nonce != "" {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestBarrierDuplicateShareIgnored(t *testing.T) {
	in := mustInit(t, 3, 2)
	b := NewBarrier()
	for range 3 {
		st, err := b.Unseal(in.shares[1], in.sealedKeyring, 2)
		if err != nil || !st.Sealed || st.Progress != 1 {
			t.Fatalf("duplicate: %+v, %v", st, err)
		}
	}
	// A copy in a different slice is still a duplicate.
	if st, _ := b.Unseal(bytes.Clone(in.shares[1]), in.sealedKeyring, 2); st.Progress != 1 {
		t.Fatalf("cloned duplicate counted: %+v", st)
	}
	if st, err := b.Unseal(in.shares[2], in.sealedKeyring, 2); err != nil || st.Sealed {
		t.Fatalf("second distinct share: %+v, %v", st, err)
	}
}

func TestBarrierTamperedShare(t *testing.T) {
	in := mustInit(t, 5, 3)
	// Flip each byte position of one share in turn, including its x coordinate.
	for pos := range in.shares[0] {
		b := NewBarrier()
		bad := bytes.Clone(in.shares[0])
		bad[pos] ^= 0x01
		for _, s := range [][]byte{bad, in.shares[1]} {
			if _, err := b.Unseal(s, in.sealedKeyring, 3); err != nil {
				t.Fatal(err)
			}
		}
		st, err := b.Unseal(in.shares[2], in.sealedKeyring, 3)
		if !errors.Is(err, ErrWrongShares) {
			t.Fatalf("byte %d: want ErrWrongShares, got %v", pos, err)
		}
		if !st.Sealed || st.Progress != 0 || st.Nonce != "" {
			t.Fatalf("byte %d: progress not reset: %+v", pos, st)
		}
		if strings.Contains(err.Error(), string(bad)) {
			t.Fatal("error message contains share bytes")
		}
		// The correct shares still unseal.
		for i, s := range [][]byte{in.shares[3], in.shares[1], in.shares[0]} {
			st, err = b.Unseal(s, in.sealedKeyring, 3)
			if err != nil {
				t.Fatalf("byte %d: correct share %d: %v", pos, i, err)
			}
		}
		if st.Sealed {
			t.Fatalf("byte %d: correct shares did not unseal", pos)
		}
	}
}

func TestBarrierSharesFromAnotherInit(t *testing.T) {
	a, other := mustInit(t, 3, 2), mustInit(t, 3, 2)
	b := NewBarrier()
	b.Unseal(other.shares[0], a.sealedKeyring, 2)
	if _, err := b.Unseal(other.shares[1], a.sealedKeyring, 2); !errors.Is(err, ErrWrongShares) {
		t.Fatalf("want ErrWrongShares, got %v", err)
	}
	b.Unseal(a.shares[0], a.sealedKeyring, 2)
	if st, err := b.Unseal(a.shares[2], a.sealedKeyring, 2); err != nil || st.Sealed {
		t.Fatalf("%+v, %v", st, err)
	}
}

func TestBarrierUnsealErrors(t *testing.T) {
	in := mustInit(t, 3, 2)
	single := mustInit(t, 1, 1)
	for _, tc := range []struct {
		name      string
		share     []byte
		sealed    []byte
		threshold int
		want      error
	}{
		{"not initialized", in.shares[0], nil, 2, ErrNotInitialized},
		{"threshold 0", in.shares[0], in.sealedKeyring, 0, ErrBadParameters},
		{"threshold 256", in.shares[0], in.sealedKeyring, 256, ErrBadParameters},
		{"short share", in.shares[0][:32], in.sealedKeyring, 2, ErrInvalidShare},
		{"empty share", nil, in.sealedKeyring, 2, ErrInvalidShare},
		{"33-byte share at threshold 1", in.shares[0], single.sealedKeyring, 1, ErrInvalidShare},
		{"wrong single share", in.rootKey, single.sealedKeyring, 1, ErrWrongShares},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBarrier()
			st, err := b.Unseal(tc.share, tc.sealed, tc.threshold)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if !st.Sealed || st.Progress != 0 {
				t.Fatalf("status %+v", st)
			}
		})
	}
	// An invalid share keeps the progress already made.
	b := NewBarrier()
	b.Unseal(in.shares[0], in.sealedKeyring, 2)
	if st, err := b.Unseal([]byte("short"), in.sealedKeyring, 2); !errors.Is(err, ErrInvalidShare) || st.Progress != 1 {
		t.Fatalf("%+v, %v", st, err)
	}
}

func TestBarrierSealZeroesKeyring(t *testing.T) {
	in := mustInit(t, 3, 2)
	b := NewBarrier()
	b.Unseal(in.shares[0], in.sealedKeyring, 2)
	if _, err := b.Unseal(in.shares[1], in.sealedKeyring, 2); err != nil {
		t.Fatal(err)
	}
	kr, _ := b.Keyring()
	key := kr.key
	if bytes.Equal(key, make([]byte, len(key))) {
		t.Fatal("key already zero")
	}
	b.Unseal(in.shares[2], in.sealedKeyring, 2) // no-op while unsealed
	b.Seal()
	if !bytes.Equal(key, make([]byte, len(key))) {
		t.Fatal("Seal did not zero the keyring's key")
	}
	if _, err := b.Keyring(); !errors.Is(err, ErrSealed) {
		t.Fatalf("want ErrSealed, got %v", err)
	}
	if _, err := kr.Seal("p", nil, nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("stale keyring: want ErrSealed, got %v", err)
	}
	if st := b.Status(2); !st.Sealed || st.Progress != 0 {
		t.Fatalf("status %+v", st)
	}
	// Progress is dropped by Seal too.
	b.Unseal(in.shares[0], in.sealedKeyring, 2)
	b.Seal()
	if st := b.Status(2); st.Progress != 0 {
		t.Fatalf("Seal kept progress: %+v", st)
	}
	// And it unseals again.
	b.Unseal(in.shares[1], in.sealedKeyring, 2)
	if st, err := b.Unseal(in.shares[2], in.sealedKeyring, 2); err != nil || st.Sealed {
		t.Fatalf("%+v, %v", st, err)
	}
}

func TestBarrierThresholdChangeResetsProgress(t *testing.T) {
	in := mustInit(t, 5, 3)
	b := NewBarrier()
	b.Unseal(in.shares[0], in.sealedKeyring, 3)
	if st, _ := b.Unseal(in.shares[1], in.sealedKeyring, 4); st.Progress != 1 {
		t.Fatalf("progress after threshold change: %+v", st)
	}
}

func TestBarrierSubscribe(t *testing.T) {
	in := mustInit(t, 2, 2)
	b := NewBarrier()
	ch := b.Subscribe()
	if sealed := <-ch; !sealed {
		t.Fatal("initial state must be sealed")
	}
	b.Unseal(in.shares[0], in.sealedKeyring, 2)
	select {
	case s := <-ch:
		t.Fatalf("progress alone must not notify, got %v", s)
	default:
	}
	b.Unseal(in.shares[1], in.sealedKeyring, 2)
	if sealed := <-ch; sealed {
		t.Fatal("want unsealed")
	}
	late := b.Subscribe()
	if sealed := <-late; sealed {
		t.Fatal("late subscriber: want current state unsealed")
	}
	b.Seal()
	b.Seal() // no transition, no extra value
	if sealed := <-ch; !sealed {
		t.Fatal("want sealed")
	}
	select {
	case s := <-ch:
		t.Fatalf("unexpected extra value %v", s)
	default:
	}
	// An unread value is replaced by the latest state, never blocking.
	b.Unseal(in.shares[0], in.sealedKeyring, 2)
	b.Unseal(in.shares[1], in.sealedKeyring, 2)
	b.Seal()
	if sealed := <-late; !sealed {
		t.Fatal("slow subscriber must see the latest state")
	}
}

func TestBarrierConcurrent(t *testing.T) {
	in := mustInit(t, 5, 3)
	b := NewBarrier()
	sub := b.Subscribe()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.Unseal(in.shares[i%5], in.sealedKeyring, 3)
			if kr, err := b.Keyring(); err == nil {
				kr.Seal("p", []byte("v"), nil) // may race with Seal: must not be a data race
			}
			if i%7 == 0 {
				b.Seal()
			}
			b.Status(3)
		}()
	}
	wg.Wait()
	<-sub
}
