package rollout_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"digitalpost/internal/infra/rollout"
	"digitalpost/internal/infra/testenv"
)

func noop(workflow.Context) error { return nil }

// A build that adds a task queue (the urgent queue) is rolled out beside one that does not poll
// it. Work may start on the new queue only once the workers taking new workflows poll it: while
// the old build is current, or the new one only ramps, a letter started there would wait for a
// worker that never comes.
func TestANewQueueIsUsedOnlyOnceTheCurrentWorkersPollIt(t *testing.T) {
	t.Parallel()
	srv := testenv.StartTemporal(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort(), Logger: log.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := "routing-" + uuid.NewString()[:8]
	queue, added := "letters-"+name, "letters-"+name+"-urgent"
	poll := func(d rollout.Deployment, queues ...string) {
		for _, q := range queues {
			w := worker.New(c, q, worker.Options{DeploymentOptions: d.WorkerOptions()})
			w.RegisterWorkflow(noop)
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Stop)
		}
	}
	// A new Routing for every look: its answers are cached for seconds.
	polled := func(d rollout.Deployment, q string) bool { return rollout.NewRouting(d, c).Polled(ctx, q) }

	v1 := rollout.Deployment{Name: name, BuildID: "v1"}
	poll(v1, queue)
	if err := v1.AdoptIfFirst(ctx, c, quiet); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "v1 current and polling its queue", func() bool { return polled(v1, queue) })
	if polled(v1, added) {
		t.Fatal("the new queue counts as polled while only v1, which does not poll it, is current")
	}

	v2 := rollout.Deployment{Name: name, BuildID: "v2"}
	poll(v2, queue, added)
	h := c.WorkerDeploymentClient().GetHandle(name)
	testenv.Eventually(t, 30*time.Second, "v2 ramping", func() bool {
		desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
		if err != nil {
			return false
		}
		_, err = h.SetRampingVersion(ctx, client.WorkerDeploymentSetRampingVersionOptions{
			BuildID: "v2", Percentage: 50, ConflictToken: desc.ConflictToken})
		if err != nil && !strings.Contains(err.Error(), "missing active task queues") && !strings.Contains(err.Error(), "not found") {
			t.Fatal(err)
		}
		return err == nil
	})
	if polled(v2, added) {
		t.Fatal("the new queue counts as polled while v1, which does not poll it, is still current and v2 only ramps")
	}

	desc, err := h.Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.SetCurrentVersion(ctx, client.WorkerDeploymentSetCurrentVersionOptions{
		BuildID: "v2", ConflictToken: desc.ConflictToken}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the new queue polled once v2 is current", func() bool { return polled(v2, added) })

	// Unversioned workers: a queue counts as polled once a worker polls it.
	unversioned := rollout.Deployment{}
	lone := "lone-" + name
	if polled(unversioned, lone) {
		t.Fatal("a queue no worker polls counts as polled")
	}
	poll(unversioned, lone)
	testenv.Eventually(t, 10*time.Second, "an unversioned worker's queue polled", func() bool { return polled(unversioned, lone) })
}
