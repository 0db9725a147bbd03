package activities

import "context"

// SweepReport says what one recovery sweep found: rows whose workflow start was never
// confirmed, now started (or found running), and the ones that could not be started.
type SweepReport struct {
	Letters       int
	Cases         int
	ReadingAccess int
	NemSMS        int `json:",omitempty"`
	Failed        int
	Failures      []string // the first few, with their errors
}

// Sweeper starts what was stored but never started (internal/desks/recovery).
type Sweeper interface {
	Sweep(ctx context.Context, progress func(SweepReport)) (SweepReport, error)
}

// RecoverUnstarted runs one recovery sweep. It heartbeats per page, so a sweep through a
// large interrupted bulk run is not mistaken for a stuck one.
func (a *Activities) RecoverUnstarted(ctx context.Context) (SweepReport, error) {
	return a.Recovery.Sweep(ctx, func(r SweepReport) { heartbeat(ctx, r) })
}
