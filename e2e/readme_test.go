package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeBlock is one ```sh block of README.md.
type readmeBlock struct {
	line int    // where it starts, for messages
	skip string // the reason after "<!-- not run by TestREADME:", if any
	body string
}

// readmeBlocks extracts README.md's sh blocks. A block is left out only
// when the line before it says why (a comment "not run by TestREADME").
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeBlock
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		blk := readmeBlock{line: i + 1}
		if i > 0 {
			if why, ok := strings.CutPrefix(strings.TrimSpace(lines[i-1]), "<!-- not run by TestREADME:"); ok {
				blk.skip = strings.TrimSpace(strings.TrimSuffix(why, "-->"))
			}
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		blk.body = strings.Join(body, "\n")
		out = append(out, blk)
	}
	return out
}

// placeholder is the <KeyId> kind of word a newcomer cannot paste.
var placeholder = regexp.MustCompile(`<[A-Za-z][A-Za-z_ -]*>`)

// TestREADME runs every sh block of README.md not marked otherwise, in
// order and in one bash shell, with keyraft on the PATH and the exports a
// `server -dev` printed, as a newcomer pasting them would; any failing
// command fails the test. No block, run or not, may hold a placeholder.
func TestREADME(t *testing.T) {
	blocks := readmeBlocks(t)
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	run := 0
	for _, blk := range blocks {
		if m := placeholder.FindString(blk.body); m != "" {
			t.Errorf("README.md:%d: placeholder %s: capture the value in a shell variable instead", blk.line, m)
		}
		if blk.skip != "" {
			continue
		}
		run++
		script.WriteString("echo '=== README.md:" + strconv.Itoa(blk.line) + "' >&2\n" + blk.body + "\n")
	}
	if run < 4 {
		t.Fatalf("only %d README blocks run: the markers leave out what a newcomer pastes", run)
	}

	api, env, _, _ := devNodeProc(t)
	work := t.TempDir()
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir = work
	cmd.Env = append(append(os.Environ(), env...), "KEYRAFT_ADDR="+api,
		"PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+work, "AWS_CONFIG_FILE="+filepath.Join(work, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(work, "none"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README blocks: %v\n%s", err, out)
	}
	for _, want := range []string{"hello", "Enabled", "quarterly numbers: 42"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README blocks printed no %q:\n%s", want, out)
		}
	}
	// The envelope example leaves only what it means to keep: no data key.
	for _, gone := range []string{"dk.key", "dk.txt"} {
		if _, err := os.Stat(filepath.Join(work, gone)); !os.IsNotExist(err) {
			t.Errorf("%s left behind after the envelope example (%v)", gone, err)
		}
	}
}

// TestREADMEEnvelopeTrap: the envelope example removes the plaintext data
// key even when a step fails (here: openssl is not found).
func TestREADMEEnvelopeTrap(t *testing.T) {
	var envelope string
	for _, blk := range readmeBlocks(t) {
		if strings.Contains(blk.body, "generate-data-key") && strings.Contains(blk.body, "trap") {
			envelope = blk.body
		}
	}
	if envelope == "" {
		t.Fatal("README.md has no envelope example with a trap")
	}
	api, env, _, _ := devNodeProc(t)
	work := t.TempDir()
	// An alias the example uses, and an openssl that fails.
	setup := "set -euo pipefail\nID=$(aws kms create-key --query KeyMetadata.KeyId --output text)\n" +
		"aws kms create-alias --alias-name alias/app --target-key-id \"$ID\"\nopenssl() { return 3; }\nexport -f openssl\n"
	cmd := exec.Command("bash", "-c", setup+envelope)
	cmd.Dir = work
	cmd.Env = append(append(os.Environ(), env...), "KEYRAFT_ADDR="+api, "HOME="+work)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the envelope example succeeded with a failing openssl:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(work, "report.key.enc")); err != nil {
		t.Fatalf("the example failed before the data key was made, so the trap was not tested: %v\n%s", err, out)
	}
	for _, gone := range []string{"dk.key", "dk.txt"} {
		if _, err := os.Stat(filepath.Join(work, gone)); !os.IsNotExist(err) {
			t.Errorf("%s left behind by a failed envelope example (%v)", gone, err)
		}
	}
}
