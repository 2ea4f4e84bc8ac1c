package main

import (
	"fmt"
	"net/http"
)

var rekeyOrder = []string{"started", "nonce", "started_at", "new_shares", "new_threshold", "required", "progress",
	"verification_required", "verification_nonce", "verification_progress", "complete"}

// opRekey is `operator rekey`, as Vault's: one command whose flags pick
// the step (start, submit a current share, verify with a new share,
// cancel, status).
func opRekey(args []string) int {
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
			"Every step is signed with $AWS_ACCESS_KEY_ID (the root, or a user allowed keyraft:Rekey).\n"+
			"Shares are kept only in the leader's memory: after a leader change, submit them again.")
	start := fs.Bool("init", false, "start a rekey")
	shares := fs.Int("key-shares", 5, "with -init: number of new shares to make")
	threshold := fs.Int("key-threshold", 3, "with -init: new shares needed to unseal")
	verify := fs.Bool("verify", false, "with -init: require the new shares to verify the rekey before it takes effect; without -init: submit a NEW share to verify it")
	cancel := fs.Bool("cancel", false, "cancel the rekey in progress and drop its progress")
	status := fs.Bool("status", false, "print the rekey in progress")
	nonce := fs.String("nonce", "", "the rekey's nonce (with -verify, its verification nonce); default: the one in progress")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageExit(err)
	}
	var out map[string]any
	switch {
	case *start:
		if *threshold < 1 || *threshold > *shares || *shares > 255 || (*shares >= 2 && *threshold < 2) {
			return fail("rekey", fmt.Errorf("need 1 <= -key-threshold <= -key-shares <= 255, and -key-threshold >= 2 when -key-shares >= 2"))
		}
		err = call(of, http.MethodPost, "/v1/sys/rekey/init", map[string]any{"secret_shares": *shares, "secret_threshold": *threshold, "require_verification": *verify}, &out)
	case *cancel:
		err = call(of, http.MethodDelete, "/v1/sys/rekey/init", nil, &out)
	case *status:
		err = call(of, http.MethodGet, "/v1/sys/rekey/init", nil, &out)
	default:
		if len(pos) != 1 {
			return fail("rekey", fmt.Errorf("give exactly one share (base64), or -init, -cancel, -status"))
		}
		n := *nonce
		if n == "" {
			var st map[string]any
			if err := call(of, http.MethodGet, "/v1/sys/rekey/init", nil, &st); err != nil {
				return fail("rekey", err)
			}
			key := "nonce"
			if *verify {
				key = "verification_nonce"
			}
			n, _ = st[key].(string)
			if n == "" {
				return fail("rekey", fmt.Errorf("no rekey is waiting for this step; start one with -init"))
			}
		}
		path := "/v1/sys/rekey/update"
		if *verify {
			path = "/v1/sys/rekey/verify"
		}
		err = call(of, http.MethodPost, path, map[string]any{"key": pos[0], "nonce": n}, &out)
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

// opRotate is `operator rotate`: a new keyring term.
func opRotate(args []string) int {
	fs, of := newOperatorFlags("rotate", "operator rotate [flags]",
		"Add a keyring term: every value sealed from now on is sealed under a new key; values\n"+
			"sealed under older terms stay readable while the leader re-seals them in the background\n"+
			"(`operator status` shows keyring_term and reseal_remaining). Signed with\n"+
			"$AWS_ACCESS_KEY_ID (the root, or a user allowed keyraft:RotateKeyring).")
	if _, err := parseInterspersed(fs, args); err != nil {
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
