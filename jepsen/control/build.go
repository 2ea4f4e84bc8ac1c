package control

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Source resolves what a run builds: cfg.Src's working tree, or the
// commit cfg.Rev names, extracted to DIR/src. It returns the directory to
// build in and the commit ("" for a working tree).
func Source(ctx context.Context, cfg Config) (dir, commit string, err error) {
	if cfg.Rev == "" {
		return cfg.Src, "", nil
	}
	out, err := exec.CommandContext(ctx, "git", "-C", cfg.Src, "rev-parse", "--verify", cfg.Rev+"^{commit}").Output()
	if err != nil && cfg.Rev == "HEAD" {
		// Not a git checkout (an exported tree): build what is there.
		cfg.logf("%s is not a git checkout; building its files as they are", cfg.Src)
		return cfg.Src, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("git rev-parse %s: %w", cfg.Rev, err)
	}
	commit = strings.TrimSpace(string(out))
	dir = filepath.Join(cfg.Dir, "src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	archive := exec.CommandContext(ctx, "git", "-C", cfg.Src, "archive", "--format=tar", commit)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	untar.Stdin = pipe
	if err := untar.Start(); err != nil {
		return "", "", err
	}
	if err := archive.Run(); err != nil {
		return "", "", fmt.Errorf("git archive %s: %w", commit, err)
	}
	if err := untar.Wait(); err != nil {
		return "", "", fmt.Errorf("untar %s: %w", commit, err)
	}
	return dir, commit, nil
}

// buildHost compiles ./cmd/keyraft of the checkout for this machine.
func buildHost(ctx context.Context, cfg *Config) (string, error) {
	bin := filepath.Join(cfg.Dir, "bin", "keyraft")
	return bin, goBuild(ctx, cfg.Src, bin, nil)
}

// buildLinuxStatic compiles the binary the Dockerfile expects: static,
// for linux, as `make image` does.
func buildLinuxStatic(ctx context.Context, cfg *Config, out string) error {
	return goBuild(ctx, cfg.Src, out, []string{"CGO_ENABLED=0", "GOOS=linux"}, "-trimpath", "-ldflags=-s -w")
}

func goBuild(ctx context.Context, src, out string, env []string, flags ...string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	// -test-day-length (Config.DayLength) exists only in test builds.
	args := append([]string{"build", "-tags", "keyraft_testknobs"}, flags...)
	args = append(args, "-o", out, "./cmd/keyraft")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/keyraft in %s: %w\n%s", src, err, b)
	}
	return nil
}
