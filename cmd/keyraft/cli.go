package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// describe gives fs the usage `keyraft <cmd> -h` prints: the command's
// synopsis with its positional arguments, what it does, and its flags,
// each default shown once (by the flag package).
func describe(fs *flag.FlagSet, synopsis, help string) {
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: keyraft %s\n\n", synopsis)
		if help != "" {
			fmt.Fprintf(out, "%s\n\n", strings.TrimRight(help, "\n"))
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(out, "Flags:")
			fs.PrintDefaults()
		}
	}
}

// errHelp is a command line that asked for help, which was printed.
var errHelp = errors.New("help printed")

// parseInterspersed parses fs from args, letting flags follow positional
// arguments (`unseal SHARE -address X`), and returns the positional ones.
// -h (-help, --help) prints the command's usage on stdout and returns
// errHelp; a refused flag prints why and the usage on stderr.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	defer fs.SetOutput(os.Stderr)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			_, _ = os.Stdout.Write(buf.Bytes())
			return nil, errHelp
		}
		if err != nil {
			_, _ = os.Stderr.Write(buf.Bytes())
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageExit is the exit status for a command line parseInterspersed
// refused: 0 when it asked for help, 2 otherwise.
func usageExit(err error) int {
	if errors.Is(err, errHelp) {
		return 0
	}
	return 2
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// nodeURL is -address as a base URL: a bare host:port means
// http://host:port, as Vault's -address does not but operators type.
func nodeURL(address string) (string, error) {
	a := strings.TrimSpace(address)
	if !strings.Contains(a, "://") {
		a = "http://" + a
	}
	u, err := url.Parse(a)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("-address %q: want http://host:port, https://host:port or host:port", address)
	}
	// A path is kept, for a node behind a proxy that serves it below one.
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// explainSendError adds to an error of the HTTP client what to check: the
// address when nothing listens there, the scheme when the node speaks the
// other one, the CA when its certificate is not trusted.
func explainSendError(base string, err error) error {
	var unknownCA x509.UnknownAuthorityError
	var recordHeader tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w\nnothing listens at %s: check that the node runs and that -address (or $KEYRAFT_ADDR) is its -api-addr", err, base)
	case errors.As(err, &recordHeader), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%w\nthe node at %s serves plain HTTP, not HTTPS: use -address http://%s", err, base, hostOf(base))
	case errors.As(err, &unknownCA):
		return fmt.Errorf("%w\nthe node's certificate is not signed by a CA this command trusts: give its CA with -ca-file (or $KEYRAFT_CACERT)", err)
	}
	return err
}

// httpToHTTPS reports whether body is what Go's server answers a plain
// HTTP request sent to its TLS listener.
func httpToHTTPS(status int, body []byte) bool {
	return status == 400 && bytes.Contains(body, []byte("Client sent an HTTP request to an HTTPS server"))
}

func wrongSchemeHTTP(base string) error {
	return fmt.Errorf("the node at %s serves HTTPS, not plain HTTP: use -address https://%s (and -ca-file or $KEYRAFT_CACERT for its CA)", base, hostOf(base))
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}
