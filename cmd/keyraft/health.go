package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// healthCodeFlags are Vault's status-code overrides of /v1/sys/health, with
// Vault's defaults; `operator health` sends only those given.
var healthCodeFlags = []struct {
	name string
	def  int
	help string
}{
	{"activecode", 200, "status code for the unsealed leader"},
	{"standbycode", 429, "status code for an unsealed follower"},
	{"haunhealthycode", 474, "status code for an unsealed follower that knows no leader"},
	{"sealedcode", 503, "status code for a sealed node"},
	{"uninitcode", 501, "status code for a node of an uninitialised cluster"},
}

// opHealth is `keyraft operator health`: a Docker HEALTHCHECK-style probe.
// It asks GET /v1/sys/health with the overrides given, prints what the
// node said, and exits 0 when the answer is a 2xx, 1 otherwise (or when
// the node cannot be reached).
func opHealth(args []string) int {
	fs, of := newOperatorFlags("health", "operator health [flags]",
		"Ask a node GET /v1/sys/health (unauthenticated) and exit 0 when it answers 2xx, 1 otherwise:\n"+
			"by default only the unsealed leader is healthy. -standbyok counts unsealed followers too;\n"+
			"the -*code flags move a state's status code (e.g. -sealedcode 200 counts a sealed node\n"+
			"healthy). For a container HEALTHCHECK or a load balancer's probe.")
	of.timeout = 5 * time.Second
	standbyOK := fs.Bool("standbyok", false, "an unsealed follower that knows its leader is healthy (answers -activecode)")
	codes := map[string]*int{}
	for _, c := range healthCodeFlags {
		codes[c.name] = fs.Int(c.name, c.def, c.help)
	}
	fs.DurationVar(&of.timeout, "timeout", of.timeout, "give up on the node after this long")
	if _, err := parseInterspersed(fs, args); err != nil {
		return usageExit(err)
	}
	q := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "standbyok":
			q.Set("standbyok", strconv.FormatBool(*standbyOK))
		case codes[f.Name] != nil:
			q.Set(f.Name, strconv.Itoa(*codes[f.Name]))
		}
	})
	status, body, err := getHealth(of, q)
	if err != nil {
		return fail("health", err)
	}
	body["status_code"] = status
	if of.format == "json" {
		printJSON(body)
	} else {
		printTable(body, []string{"status_code", "initialized", "sealed", "standby", "ha_connection_healthy", "version"})
	}
	if status/100 != 2 {
		return 1
	}
	return 0
}

// getHealth asks the node for its health with query q and returns the
// status code and the JSON body.
func getHealth(of *operatorFlags, q url.Values) (int, map[string]any, error) {
	base, err := nodeURL(of.address)
	if err != nil {
		return 0, nil, err
	}
	client, err := of.httpClient(of.timeout)
	if err != nil {
		return 0, nil, err
	}
	u := base + "/v1/sys/health"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := client.Get(u)
	if err != nil {
		return 0, nil, explainSendError(base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return 0, nil, err
	}
	if httpToHTTPS(resp.StatusCode, raw) {
		return 0, nil, wrongSchemeHTTP(base)
	}
	body, err := healthAnswer(resp.StatusCode, raw)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// healthAnswer decodes the body of a health answer with status code
// status. A refused query (400) is the error the node gave, said as
// plain text: its {"errors": [...]} joined, not a printed Go slice.
func healthAnswer(status int, raw []byte) (map[string]any, error) {
	body := map[string]any{}
	// A 204 (-activecode 204) has no body.
	if err := json.Unmarshal(raw, &body); err != nil && len(raw) > 0 {
		return nil, fmt.Errorf("HTTP %d: not a health answer: %.200q", status, raw)
	}
	if _, ok := body["errors"]; ok && status == http.StatusBadRequest {
		var e struct {
			Errors []string `json:"errors"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || len(e.Errors) == 0 {
			return nil, fmt.Errorf("HTTP 400: %.200q", raw)
		}
		return nil, fmt.Errorf("%s (HTTP 400)", strings.Join(e.Errors, "; "))
	}
	return body, nil
}
