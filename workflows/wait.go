package workflows

import "go.temporal.io/sdk/workflow"

// fired tells whether a timer went off: ready, and not cancelled. The wait shape of every
// workflow here: handlers record, the run method awaits a condition over what they recorded and
// its timers, with no goroutine per timer or signal.
func fired(ctx workflow.Context, timer workflow.Future) bool {
	return timer.IsReady() && timer.Get(ctx, nil) == nil
}
