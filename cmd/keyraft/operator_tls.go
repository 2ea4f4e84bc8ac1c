package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyraft/keyraft/transport/tlsconfig"
)

// opTLSGen makes a cluster CA and node certificates in a directory, or what
// of them is missing.
func opTLSGen(args []string) int {
	fs := flag.NewFlagSet("tls-gen", flag.ContinueOnError)
	describe(fs, "operator tls-gen -out DIR -nodes n1,n2,n3 [flags]", "Write a cluster CA and a certificate per node for mutual TLS (docs/tls.md). Works locally.")
	out := fs.String("out", "", "an empty or absent directory to write to (created mode 0700)")
	force := fs.Bool("force", false, "write into a directory that is not empty (or that every user may write): add what it lacks, keep what it holds, sign only with a CA tls-gen made there")
	nodes := fs.String("nodes", "", "comma-separated node ids, one certificate each (e.g. n1,n2,n3)")
	hosts := fs.String("hosts", "", "comma-separated extra DNS names or IPs for every node certificate (besides the node id, localhost and 127.0.0.1)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	if *out == "" || *nodes == "" {
		fmt.Fprintln(os.Stderr, "keyraft operator tls-gen: -out DIR and -nodes n1,n2,… are required")
		return 2
	}
	g, err := tlsconfig.GenerateDir(*out, splitList(*nodes), splitList(*hosts), *force)
	if err != nil {
		return fail("tls-gen", err)
	}
	for _, f := range g.Written {
		fmt.Printf("wrote %s\n", filepath.Join(*out, f))
	}
	for _, f := range g.Kept {
		fmt.Printf("kept  %s\n", filepath.Join(*out, f))
	}
	fmt.Printf("\nStart each node with\n  -cluster-ca-file %s -cluster-cert-file %s -cluster-key-file %s\n"+
		"(NODE is its -node-id). %s signs new node certificates: keep it off the nodes.\n",
		filepath.Join(*out, tlsconfig.CAFile), filepath.Join(*out, "NODE.pem"), filepath.Join(*out, "NODE-key.pem"),
		filepath.Join(*out, tlsconfig.CAKeyFile))
	return 0
}

// opGossipKeygen prints a new gossip key, or writes it to a file that does
// not exist yet.
func opGossipKeygen(args []string) int {
	fs := flag.NewFlagSet("gossip-keygen", flag.ContinueOnError)
	describe(fs, "operator gossip-keygen [flags]", "Print a new -gossip-key (32 random bytes, base64), or write it to -out. Works locally.")
	out := fs.String("out", "", "write the key to this file (mode 0600) instead of stdout; an existing file is kept")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return fail("gossip-keygen", err)
	}
	key := base64.StdEncoding.EncodeToString(b) + "\n"
	if *out == "" {
		fmt.Print(key)
		return 0
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		fmt.Printf("kept  %s\n", *out)
		return 0
	}
	if err != nil {
		return fail("gossip-keygen", err)
	}
	if _, err := f.WriteString(key); err != nil {
		f.Close()
		return fail("gossip-keygen", err)
	}
	if err := f.Close(); err != nil {
		return fail("gossip-keygen", err)
	}
	fmt.Printf("wrote %s\n", *out)
	return 0
}
