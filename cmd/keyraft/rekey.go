package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
)

var rekeyOrder = []string{"started", "nonce", "started_at", "new_shares", "new_threshold", "required", "progress",
	"verification_required", "verification_nonce", "verification_progress", "complete"}

// rekeyMode is the step an `operator rekey` command line asks for.
type rekeyMode int

const (
	rekeySubmit rekeyMode = iota // a current share, or with -verify a new one
	rekeyInit
	rekeyCancel
	rekeyStatus
)

// rekeyArgs is what an `operator rekey` command line asks for.
type rekeyArgs struct {
	mode              rekeyMode
	shares, threshold int
	verify            bool
	nonce, share      string
}

// parseRekey parses an `operator rekey` command line. The steps are
// exclusive and each takes only its own flags and arguments: a command
// line that names two (`-status -init`) or carries what its step ignores
// (a share after -init, -nonce with -cancel) is refused, with the usage on
// stderr, before anything is sent; a rekey is not a thing to start or
// cancel by a guess at what was meant.
func parseRekey(args []string) (*operatorFlags, rekeyArgs, error) {
	fs, of := newOperatorFlags("rekey",
		"operator rekey -init -key-shares N -key-threshold T [-verify] [flags]\n"+
			"       keyraft operator rekey [-nonce NONCE] [flags] SHARE\n"+
			"       keyraft operator rekey -verify [-nonce VERIFICATION_NONCE] [flags] NEW_SHARE\n"+
			"       keyraft operator rekey -cancel [flags]\n"+
			"       keyraft operator rekey -status [flags]",
		"Replace the root key and its shares: start a rekey with the new share count and\n"+
			"threshold, then have a threshold of the CURRENT share holders submit theirs with the\n"+
			"nonce. The new shares are printed once, to whoever submits the last one. With -verify\n"+
			"the switch waits until a threshold of the NEW shares is submitted with -verify.\n"+
			"-init, -cancel, -status and submitting a share are exclusive.\n"+
			"Every step is signed with $AWS_ACCESS_KEY_ID (the root, or a user allowed keyraft:Rekey).\n"+
			"Shares are kept only in the leader's memory: after a leader change, submit them again.")
	var ra rekeyArgs
	start := fs.Bool("init", false, "start a rekey")
	fs.IntVar(&ra.shares, "key-shares", 5, "with -init: number of new shares to make")
	fs.IntVar(&ra.threshold, "key-threshold", 3, "with -init: new shares needed to unseal")
	fs.BoolVar(&ra.verify, "verify", false, "with -init: require the new shares to verify the rekey before it takes effect; without -init: submit a NEW share to verify it")
	cancel := fs.Bool("cancel", false, "cancel the rekey in progress and drop its progress")
	status := fs.Bool("status", false, "print the rekey in progress")
	fs.StringVar(&ra.nonce, "nonce", "", "with a share: the rekey's nonce (with -verify, its verification nonce); default: the one in progress")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, ra, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var modes []string
	for _, m := range []struct {
		name string
		on   bool
		mode rekeyMode
	}{{"-init", *start, rekeyInit}, {"-cancel", *cancel, rekeyCancel}, {"-status", *status, rekeyStatus}} {
		if m.on {
			modes = append(modes, m.name)
			ra.mode = m.mode
		}
	}
	// Each step and the flags it does not take.
	refused := map[rekeyMode][]string{
		rekeySubmit: {"key-shares", "key-threshold"},
		rekeyInit:   {"nonce"},
		rekeyCancel: {"key-shares", "key-threshold", "verify", "nonce"},
		rekeyStatus: {"key-shares", "key-threshold", "verify", "nonce"},
	}
	step := map[rekeyMode]string{rekeySubmit: "submitting a share", rekeyInit: "-init", rekeyCancel: "-cancel", rekeyStatus: "-status"}[ra.mode]
	switch {
	case len(modes) > 1:
		err = fmt.Errorf("%s are exclusive: give one of -init, -cancel, -status, or a share", strings.Join(modes, " and "))
	case ra.mode == rekeySubmit && len(pos) != 1:
		err = fmt.Errorf("give exactly one share (base64), or one of -init, -cancel, -status; got %d arguments", len(pos))
	case ra.mode != rekeySubmit && len(pos) != 0:
		err = fmt.Errorf("%s takes no argument, got %d (a share is submitted on its own, without %s)", step, len(pos), step)
	}
	if err == nil {
		for _, name := range refused[ra.mode] {
			if set[name] {
				err = fmt.Errorf("-%s does not go with %s", name, step)
				break
			}
		}
	}
	if err != nil {
		// Never the arguments themselves: one may be a share.
		fmt.Fprintf(os.Stderr, "keyraft operator rekey: %v\n\n", err)
		fs.SetOutput(os.Stderr)
		fs.Usage()
		return nil, ra, err
	}
	if ra.mode == rekeySubmit {
		ra.share = pos[0]
	}
	return of, ra, nil
}

// opRekey is `operator rekey`, as Vault's: one command whose flags pick
// the step (start, submit a current share, verify with a new share,
// cancel, status).
func opRekey(args []string) int {
	of, ra, err := parseRekey(args)
	if err != nil {
		return usageExit(err)
	}
	var out map[string]any
	switch ra.mode {
	case rekeyInit:
		if ra.threshold < 1 || ra.threshold > ra.shares || ra.shares > 255 || (ra.shares >= 2 && ra.threshold < 2) {
			return fail("rekey", fmt.Errorf("need 1 <= -key-threshold <= -key-shares <= 255, and -key-threshold >= 2 when -key-shares >= 2"))
		}
		err = call(of, http.MethodPost, "/v1/sys/rekey/init", map[string]any{"secret_shares": ra.shares, "secret_threshold": ra.threshold, "require_verification": ra.verify}, &out)
	case rekeyCancel:
		err = call(of, http.MethodDelete, "/v1/sys/rekey/init", nil, &out)
	case rekeyStatus:
		err = call(of, http.MethodGet, "/v1/sys/rekey/init", nil, &out)
	default:
		n := ra.nonce
		if n == "" {
			var st map[string]any
			if err := call(of, http.MethodGet, "/v1/sys/rekey/init", nil, &st); err != nil {
				return fail("rekey", err)
			}
			key := "nonce"
			if ra.verify {
				key = "verification_nonce"
			}
			n, _ = st[key].(string)
			if n == "" {
				return fail("rekey", fmt.Errorf("no rekey is waiting for this step; start one with -init"))
			}
		}
		path := "/v1/sys/rekey/update"
		if ra.verify {
			path = "/v1/sys/rekey/verify"
		}
		err = call(of, http.MethodPost, path, map[string]any{"key": ra.share, "nonce": n}, &out)
	}
	if err != nil {
		return fail("rekey", err)
	}
	if of.format == "json" {
		printJSON(out)
		return 0
	}
	keys, _ := out["keys_base64"].([]any)
	for i, k := range keys {
		fmt.Printf("Key %d: %v\n", i+1, k)
	}
	if len(keys) > 0 {
		fmt.Println()
		if w, ok := out["warning"]; ok {
			fmt.Printf("WARNING: %v\n", w)
			return 1
		}
		if out["verification_required"] == true {
			fmt.Printf("Verification nonce: %v\n\nThe rekey waits for verification: %v holders of the NEW shares must each run\n"+
				"`keyraft operator rekey -verify NEW_SHARE`. Until then the current shares stay in force.\n", out["verification_nonce"], out["threshold"])
		} else {
			fmt.Printf("The rekey is complete: the keyring is sealed under a new root key, split into %v shares\n"+
				"with a threshold of %v. The old shares no longer unseal any node. These are shown only now.\n", out["shares"], out["threshold"])
		}
		return 0
	}
	printTable(out, rekeyOrder)
	return 0
}

// parseRotate parses an `operator rotate` command line. A rotation
// changes the keyring for good: a command line with more than the command
// (`rotate now please`) is refused, with the usage on stderr, not guessed at.
func parseRotate(args []string) (*operatorFlags, error) {
	fs, of := newOperatorFlags("rotate", "operator rotate [flags]",
		"Add a keyring term: every value sealed from now on is sealed under a new key; values\n"+
			"sealed under older terms stay readable while the leader re-seals them in the background\n"+
			"(`operator status` shows keyring_term and reseal_remaining). Signed with\n"+
			"$AWS_ACCESS_KEY_ID (the root, or a user allowed keyraft:RotateKeyring).")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 0 {
		err = fmt.Errorf("takes no argument, got %d", len(pos))
		fmt.Fprintf(os.Stderr, "keyraft operator rotate: %v\n\n", err)
		fs.SetOutput(os.Stderr)
		fs.Usage()
		return nil, err
	}
	return of, nil
}

// opRotate is `operator rotate`: a new keyring term.
func opRotate(args []string) int {
	of, err := parseRotate(args)
	if err != nil {
		return usageExit(err)
	}
	var out map[string]any
	if err := call(of, http.MethodPost, "/v1/sys/rotate", nil, &out); err != nil {
		return fail("rotate", err)
	}
	if of.format == "json" {
		printJSON(out)
		return 0
	}
	printTable(out, []string{"keyring_term", "reseal_remaining"})
	return 0
}
