package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"digitalpost/internal/infra/devenv"
)

// TestFaultsLoseNothingAndSendNothingTwice runs every fault of the suite, shorter and with
// fewer letters: the worker killed mid-run and in the notice phase, providers answering 429
// and hanging, a stalled table, terminated connections, a Temporal restart, two other senders'
// single letters during a bulk run (fairness), and the bulk files that must be refused whole.
func TestFaultsLoseNothingAndSendNothingTwice(t *testing.T) {
	s := settings{Letters: 60, Rate: 20, ProviderTimeout: 2 * time.Second, Settle: 3 * time.Minute, Scale: 0.25}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	// Restarting PostgreSQL would break the other packages' tests if `go test ./...` ran them at
	// the same time; scripts/test runs this package alone, after the rest, and says so.
	if os.Getenv("FAULTS_RESTART_POSTGRES") == "" {
		s.Except = restartPostgresName
		t.Logf("%q left out: set FAULTS_RESTART_POSTGRES=1 when nothing else uses this PostgreSQL (scripts/test does)", restartPostgresName)
	}
	results, err := runSuite(ctx, s, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.failed() {
			t.Errorf("%s: %s (refused %t, written anyway %d)", r.Name, line(r), r.Refused, r.WrittenAnyway)
		}
	}
	want := 16 // eleven faults, the fairness row, the PostgreSQL restart, three refusals
	if s.Except != "" {
		want--
	}
	if len(results) < want {
		t.Fatalf("%d results, want %d: every fault and refusal", len(results), want)
	}
}

// The CLI must be told its ports, so they are picked by opening and closing a listener, and
// another process may take one before the dev server binds it. The server is then started
// again on new ports, not the suite failed: here the first port picked is held by a listener.
func TestDevServerStartsAgainOnNewPortsWhenOneIsTaken(t *testing.T) {
	cli, ok := devenv.FindTemporalCLI()
	if !ok {
		t.Fatalf("the fault suite needs the Temporal CLI (not found at %s): %s", cli, devenv.InstallHint)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	held := taken.Addr().(*net.TCPAddr).Port
	picks := 0
	pick := func() (int, error) {
		if picks++; picks == 1 {
			return held, nil
		}
		return freePort()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	s, o, err := startDevServer(ctx, devenv.TemporalOptions{CLI: cli, DBFile: filepath.Join(dir, "temporal.db"),
		LogFile: filepath.Join(dir, "temporal.log")}, pick, t.Logf)
	if err != nil {
		t.Fatalf("the dev server did not start once its first port was found taken: %v", err)
	}
	defer s.Stop()
	if o.Port == held || s.Address != fmt.Sprintf("127.0.0.1:%d", o.Port) || picks != 4 {
		t.Fatalf("the dev server runs on %s (options' port %d, the taken one %d) after %d picks, want new ports on a second start",
			s.Address, o.Port, held, picks)
	}
	c, err := net.DialTimeout("tcp", s.Address, 5*time.Second)
	if err != nil {
		t.Fatalf("the dev server does not answer on %s: %v", s.Address, err)
	}
	c.Close()
}
