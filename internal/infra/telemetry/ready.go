package telemetry

import "context"

// Check is one part a process needs to work, as its readiness probe asks it: the part's name
// (said in the answer) and how to ask it (its error goes to the log only: a driver's error
// carries hosts and users, and the probe answers anyone who reaches the port).
type Check struct {
	Part string
	Ping func(context.Context) error
}
