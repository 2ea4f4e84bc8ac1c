package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

func TestNodeURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8200":          "http://127.0.0.1:8200",
		"http://127.0.0.1:8200/":  "http://127.0.0.1:8200",
		"https://kms.example:443": "https://kms.example:443",
		" localhost:8200 ":        "http://localhost:8200",
		"[::1]:8200":              "http://[::1]:8200",
	} {
		if got, err := nodeURL(in); err != nil || got != want {
			t.Errorf("nodeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ftp://h:1", "http://", "://x", "unix:///run/k.sock"} {
		if got, err := nodeURL(in); err == nil {
			t.Errorf("nodeURL(%q) = %q, want an error", in, got)
		}
	}
}

// FuzzNodeURL: whatever -address is, nodeURL refuses it or gives an
// http(s) URL with a host, to which the CLI appends its paths.
func FuzzNodeURL(f *testing.F) {
	f.Fuzz(func(t *testing.T, address string) {
		got, err := nodeURL(address)
		if err != nil {
			return
		}
		u, err := url.Parse(got + "/v1/sys/health")
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(got, "/") {
			t.Fatalf("nodeURL(%q) = %q: %v", address, got, err)
		}
	})
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"UserName": "user_name", "AccessKeyId": "access_key_id", "Arn": "arn", "ARN": "arn",
		"IsTruncated": "is_truncated", "AccessKeyMetadata": "access_key_metadata", "PolicyNames": "policy_names",
		"node_id": "node_id", "KeyARNValue": "key_arn_value", "Sha256Sum": "sha256_sum", "": "",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSnakeKeys: whatever JSON a node answers, snakeKeys keeps its shape
// and values and leaves only keys without capitals.
func FuzzSnakeKeys(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		out := snakeKeys(v)
		var walk func(a, b any)
		walk = func(a, b any) {
			switch x := a.(type) {
			case map[string]any:
				y, ok := b.(map[string]any)
				if !ok || len(y) > len(x) {
					t.Fatalf("%v became %v", a, b)
				}
				for k, val := range x {
					sk := snakeCase(k)
					if strings.IndexFunc(sk, unicode.IsUpper) >= 0 {
						t.Fatalf("key %q became %q", k, sk)
					}
					if _, ok := y[sk]; !ok {
						t.Fatalf("key %q lost", k)
					}
					if len(y) == len(x) {
						walk(val, y[sk])
					}
				}
			case []any:
				y, ok := b.([]any)
				if !ok || len(y) != len(x) {
					t.Fatalf("%v became %v", a, b)
				}
				for i := range x {
					walk(x[i], y[i])
				}
			default:
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Fatalf("value %v became %v", a, b)
				}
			}
		}
		walk(v, out)
	})
}
