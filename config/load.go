package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/memberlist"
)

// ErrUsage marks a command line the flag package refused; it has said why
// on the flag set's output already.
var ErrUsage = errors.New("bad command line")

// Load is the configuration the server subcommand's arguments give: the
// defaults, then what the -config file sets, then the flags on the command
// line, which win over the file; with -dev, the dev node's settings
// (devDefaults). The result is validated.
//
// -h is an error wrapping flag.ErrHelp (and ErrUsage): the usage has been
// printed on stdout, and the process should exit 0. A refused flag is
// said on stderr, with the usage.
func Load(args []string) (Node, error) {
	var out bytes.Buffer
	n, err := load(args, &out)
	w := os.Stderr
	if errors.Is(err, flag.ErrHelp) {
		w = os.Stdout
	}
	_, _ = w.Write(out.Bytes())
	return n, err
}

const serverUsage = `Usage: keyraft server -node-id ID -data-dir DIR [flags]
       keyraft server -dev [flags]

Run a keyraft node. Without -dev it starts sealed, in a cluster of the
servers it finds through -join (or alone until -bootstrap-expect are found);
-dev runs one unsealed node in a temporary data dir, on loopback.

Flags:
`

func load(args []string, out io.Writer) (Node, error) {
	n := Default()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serverUsage)
		fs.PrintDefaults()
	}
	f := newFlags(fs, &n)
	if err := fs.Parse(args); err != nil {
		return Node{}, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if f.file != "" {
		if err := f.applyFile(f.file); err != nil {
			return Node{}, err
		}
	}
	given := f.given()
	key, err := readGossipKey(given, f.gossipKey, f.gossipKeyFile)
	if err != nil {
		return Node{}, err
	}
	n.GossipKey = key
	if n.Dev {
		n.devDefaults(given)
	}
	if err := n.Validate(); err != nil {
		return Node{}, err
	}
	return n, nil
}

// applyFile sets every flag named in the file that the command line did
// not set. Test knobs are refused by name, in every build, so that a file
// written for a test binary cannot bend a release one (or the reverse).
func (f *flags) applyFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// Values stay JSON text until their flag parses them: through float64
	// a 1000000 would reach the flag as "1e+06", which no integer flag takes.
	var values map[string]json.RawMessage
	if err := json.Unmarshal(b, &values); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	given := f.given()
	for name, v := range values {
		if strings.HasPrefix(name, "test-") {
			return fmt.Errorf("config %s: %q is a test-only setting; it cannot be set from a config file", path, name)
		}
		if f.fs.Lookup(name) == nil {
			return fmt.Errorf("config %s: unknown setting %q", path, name)
		}
		if given[name] {
			continue
		}
		text, err := fileValue(v)
		if _, isList := f.fs.Lookup(name).Value.(listFlag); err == nil && !isList && bytes.HasPrefix(bytes.TrimSpace(v), []byte("[")) {
			err = errors.New("takes one value, not a list")
		}
		if err == nil {
			err = f.fs.Set(name, text)
		}
		if err != nil {
			return fmt.Errorf("config %s: %s: %w", path, name, err)
		}
	}
	return nil
}

// fileValue is the text a flag parses for a file's value: a JSON string's
// contents, a boolean as written, a number as an integer where it is a whole
// one however JSON spells it (1e3 and 100.0, as JSON writers emit whole
// numbers, are "1000" and "100"; 1000000 stays exact, which through float64
// it would not), and a list of strings joined by commas (-join). A null or
// an object names no value: refused rather than set to "<nil>" or "map[…]".
func fileValue(v json.RawMessage) (string, error) {
	var val any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&val); err != nil {
		return "", err
	}
	switch x := val.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		f, ok := new(big.Float).SetPrec(512).SetString(x.String())
		if ok && f.IsInt() {
			return f.Text('f', 0), nil
		}
		return x.String(), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", errors.New("a list may hold only strings")
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("want a string, number, boolean or list of strings")
}

// readGossipKey decodes the gossip key from -gossip-key or the file
// -gossip-key-file names; nil when neither is given. A flag given empty is
// an error rather than plaintext gossip.
func readGossipKey(given map[string]bool, key, file string) ([]byte, error) {
	switch {
	case given["gossip-key"] && given["gossip-key-file"]:
		return nil, errors.New("give -gossip-key or -gossip-key-file, not both")
	case given["gossip-key-file"]:
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("gossip key: %w", err)
		}
		key = string(b)
	case !given["gossip-key"]:
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	if err := memberlist.ValidateKey(b); err != nil {
		return nil, fmt.Errorf("gossip key: %d bytes: %w", len(b), err)
	}
	return b, nil
}

// devDefaults makes a -dev node one node on loopback, alone in its
// cluster: listeners neither the file nor a flag placed bind 127.0.0.1, it
// bootstraps alone whatever -join and -bootstrap-expect say, and with
// nothing to authenticate between nodes it runs insecure unless cluster TLS
// and a gossip key are given anyway. Its data dir, when none is given, is a
// temporary one the process makes.
func (n *Node) devDefaults(given map[string]bool) {
	for name, p := range map[string]*string{"api-addr": &n.APIAddr, "cluster-addr": &n.ClusterAddr, "raft-addr": &n.RaftAddr, "gossip-addr": &n.GossipAddr} {
		if !given[name] {
			*p = strings.Replace(*p, "0.0.0.0", "127.0.0.1", 1)
		}
	}
	if n.NodeID == "" {
		n.NodeID = "dev"
	}
	if n.ClusterCAFile == "" || len(n.GossipKey) == 0 {
		n.Insecure = true
	}
	n.BootstrapExpect, n.Join = 1, nil
}
