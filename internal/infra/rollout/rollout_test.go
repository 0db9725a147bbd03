package rollout

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"
)

// A binary built with the Dockerfile's -ldflags carries its build id, whatever its tree.
func TestBuildIDStampedAtLinkTime(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "printbuild")
	build := exec.Command("go", "build", "-ldflags", "-X digitalpost/internal/infra/rollout.Stamped=abc123", "-o", bin, "./testdata/printbuild")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "abc123" {
		t.Fatalf("build id %q, want the stamped abc123", out)
	}
}

func TestUnversionedWithoutADeploymentName(t *testing.T) {
	if opts := For("", "v1").WorkerOptions(); opts.UseVersioning {
		t.Fatal("an empty deployment name must leave the workers unversioned")
	}
	opts := For("digitalpost", "").WorkerOptions()
	if !opts.UseVersioning || opts.Version.BuildID == "" || opts.DefaultVersioningBehavior != workflow.VersioningBehaviorAutoUpgrade {
		t.Fatalf("versioned options %+v", opts)
	}
}
