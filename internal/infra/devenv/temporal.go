// Package devenv brings up the embedded default on one machine without Docker: a Temporal
// dev server (Web UI, SQLite file) and a PostgreSQL.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// TemporalCLIVersion is the newest CLI that installs from the Go module proxy here.
const TemporalCLIVersion = "v1.5.1"

const cliModule = "github.com/temporalio/cli/cmd/temporal@" + TemporalCLIVersion

// FindTemporalCLI looks for the temporal binary: $TEMPORAL_CLI, then PATH, then Go's bin folder.
func FindTemporalCLI() (string, bool) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		_, err := os.Stat(p)
		return p, err == nil
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, true
	}
	p := filepath.Join(goBin(), "temporal")
	_, err := os.Stat(p)
	return p, err == nil
}

// InstallHint says how to get the CLI when it is missing.
const InstallHint = "install it with scripts/install-tools (go install " + cliModule + ", about 5–10 minutes the first time)"

// EnsureTemporalCLI finds the CLI or installs it with `go install`, printing progress to log.
func EnsureTemporalCLI(ctx context.Context, log func(string)) (string, error) {
	if p, ok := FindTemporalCLI(); ok {
		return p, nil
	}
	log("Temporal CLI not found; installing " + cliModule + " (about 5–10 minutes the first time)…")
	cmd := exec.CommandContext(ctx, "go", "install", cliModule)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("install Temporal CLI: %w", err)
	}
	if p, ok := FindTemporalCLI(); ok {
		return p, nil
	}
	return "", errors.New("Temporal CLI installed but not found in " + goBin())
}

func goBin() string {
	if b := os.Getenv("GOBIN"); b != "" {
		return b
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		home, _ := os.UserHomeDir()
		return filepath.Join(home, "go", "bin")
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin")
}

// TemporalServer is a running dev server.
type TemporalServer struct {
	Address string
	UIURL   string
	cmd     *exec.Cmd
}

// TemporalOptions choose ports and files for the dev server.
type TemporalOptions struct {
	CLI           string
	DBFile        string // SQLite file so state survives restarts; "" keeps it in memory
	Port, UIPort  int
	CodecEndpoint string // shown to the UI so it can decode payloads
	LogFile       string
	// PIDFile records the server's process, so the next start can stop one left behind by a
	// run that could not stop it (one from before Pdeathsig, or a server slow to exit).
	PIDFile string
}

// StopLeftover stops the dev server a previous run recorded in pidFile, if it still runs the CLI.
func StopLeftover(pidFile, cli string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "start-dev") || !strings.HasPrefix(string(cmdline), cli) {
		return // gone, or the pid now belongs to someone else
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 50 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// DevServerTuning is the dynamic configuration the dev server runs with.
//
// Fairness between senders: the dev server (Temporal server 1.29.1 inside CLI v1.5.1) has task
// queue priority and fairness, off by default: matching.useNewMatcher turns on the priority
// matcher, matching.enableFairness the fair backlog, where each fairness key (a sender) is
// dispatched in proportion to its weight. Weights travel with each task; the server's per-key
// weight overrides (UpdateTaskQueueConfig) arrive only in server 1.32.
//
// One partition per task queue: a single-node server with a handful of pollers gains nothing
// from four, priority and fairness hold per partition, and a task written to a partition no
// poller is waiting on is forwarded to one that has a poller at a capped rate (about ten a
// second), so workflows started from another process (the CLI, a separate API process: no
// eager start) waited seconds for their first task.
//
// The transfer queue read more often: a workflow started from another process (no eager start)
// and every activity reach matching through the history shard's transfer queue, which the
// server loads at most history.transferProcessorMaxPollRPS (20) times a second per shard. The
// dev server has one shard: under a bulk run every new task waited up to 50 ms for the next
// load, whatever its priority (another sender's single letter: p99 250 ms, BENCHMARKS.md); at
// 200 loads a second it waits at most 5 ms. A cluster of 512 shards spreads the same load
// thin enough to keep the default (deploy/temporal/dynamicconfig.yaml).
func DevServerTuning() []string {
	return []string{
		"--dynamic-config-value", "matching.useNewMatcher=true",
		"--dynamic-config-value", "matching.enableFairness=true",
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		"--dynamic-config-value", "history.transferProcessorMaxPollRPS=200",
		// Worker Versioning: an old version is seen drained within seconds of the last workflow
		// that needs it, not the minutes a production cluster's visibility lag calls for.
		"--dynamic-config-value", "matching.wv.VersionDrainageStatusVisibilityGracePeriod=\"2s\"",
		"--dynamic-config-value", "matching.wv.VersionDrainageStatusRefreshInterval=\"1s\"",
	}
}

// StartTemporal starts `temporal server start-dev` and waits until it accepts connections.
func StartTemporal(ctx context.Context, o TemporalOptions) (*TemporalServer, error) {
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", fmt.Sprint(o.Port),
		"--ui-port", fmt.Sprint(o.UIPort), "--log-level", "warn", "--namespace", "default"}
	args = append(args, DevServerTuning()...)
	if o.DBFile != "" {
		args = append(args, "--db-filename", o.DBFile)
	}
	if o.CodecEndpoint != "" {
		args = append(args, "--ui-codec-endpoint", o.CodecEndpoint)
	}
	if o.PIDFile != "" {
		StopLeftover(o.PIDFile, o.CLI)
	}
	cmd := exec.Command(o.CLI, args...)
	// The dev server dies with the process that started it, however that one dies (SIGKILL
	// included), so a restart never finds the port taken. Go never retires the OS thread that
	// forked the child (it only does so for a goroutine that exits locked to its thread).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if o.LogFile != "" {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start Temporal dev server: %w", err)
	}
	if o.PIDFile != "" {
		_ = os.WriteFile(o.PIDFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o640)
	}
	s := &TemporalServer{Address: fmt.Sprintf("127.0.0.1:%d", o.Port), UIURL: fmt.Sprintf("http://127.0.0.1:%d", o.UIPort), cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("Temporal dev server exited at start (see %s): %v", o.LogFile, err)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", s.Address, time.Second); err == nil {
			c.Close()
			return s, nil
		}
	}
	s.Stop()
	return nil, fmt.Errorf("Temporal dev server did not open %s within 60s (see %s)", s.Address, o.LogFile)
}

// Stop ends the dev server.
func (s *TemporalServer) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _, _ = s.cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
}
