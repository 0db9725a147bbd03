package fairness_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"digitalpost/internal/domain/fairness"
	"digitalpost/internal/infra/testenv"
)

// The Temporal server the engine runs on (the dev server as worker -dev, the tests and the
// bench start it) hands out a queue's tasks by priority and fairness: a backlog of one sender's
// bulk run does not hold back another sender's urgent letter, nor a third sender's bulk letters
// beyond their share. With the server's fairness configuration off, the queue is first come,
// first served and this test fails.
func TestTheQueueServesUrgentFirstAndSendersFairly(t *testing.T) {
	srv := testenv.StartTemporal(t)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendHostPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	queue := "fairness-" + uuid.NewString()[:8]
	weights := fairness.Weights{Default: 1}

	// Everything is queued before any worker polls: 30 bulk letters of skat, then 5 of
	// region-midt, then one urgent letter of aarhus-kommune.
	var ids []string
	start := func(sender string, urgent bool, n int) {
		for i := range n {
			id := fmt.Sprintf("%s-%d", sender, i)
			if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id + "-" + queue, TaskQueue: queue,
				Priority: weights.Priority(sender, urgent)}, "Letter"); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	start("skat", false, 30)
	start("region-midt", false, 5)
	start("aarhus-kommune", true, 1)

	var mu sync.Mutex
	var order []string
	w := worker.New(c, queue, worker.Options{MaxConcurrentWorkflowTaskExecutionSize: 2, // the least the SDK takes
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorSimpleMaximum(worker.PollerBehaviorSimpleMaximumOptions{MaximumNumberOfPollers: 2})})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		mu.Lock()
		defer mu.Unlock()
		id := workflow.GetInfo(ctx).WorkflowExecution.ID
		order = append(order, id[:len(id)-len(queue)-1])
		return nil
	}, workflow.RegisterOptions{Name: "Letter"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	testenv.Eventually(t, time.Minute, "every letter's first task", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(order) == len(ids)
	})

	mu.Lock()
	defer mu.Unlock()
	// A poll or two may already be under way for the first tasks when the worker starts.
	if at := slices.Index(order, "aarhus-kommune-0"); at > 2 {
		t.Errorf("the urgent letter ran %d. of %d (%v), want among the first three", at+1, len(order), order)
	}
	last := 0
	for i, id := range order {
		if len(id) > len("region-midt") && id[:len("region-midt")] == "region-midt" {
			last = i
		}
	}
	// Fair shares: region-midt's five alternate with skat's thirty, so all are done within the
	// first dozen or so; first come, first served would run them 31st to 35th.
	if last >= 15 {
		t.Errorf("region-midt's last bulk letter ran %d. of %d (%v): behind skat's backlog, not beside it", last+1, len(order), order)
	}
}
