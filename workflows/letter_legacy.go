package workflows

// The lifecycles of letters started before the current one (versions 2 and 3 of reliable-letter),
// kept so that such letters, still waiting, replay and finish as they began. Nothing new takes
// these paths. `go run ./starter rollout` counts the letters still on them, with the
// visibility query
//
//	WorkflowType = 'LetterWorkflow' AND ExecutionStatus = 'Running'
//
// less those carrying TemporalChangeVersion IN ('reliable-letter-2', 'reliable-letter-3') (the SDK records the version
// a letter took; a letter whose first task has not run yet has no marker and is counted too, so
// read the count when no run is being started). At 0, delete in one change: this file, the
// legacy field of letter, the notify queue's worker (engine.Workers), and the recorded
// histories whose reliable-letter marker is below 2 or absent: letter-escalated,
// letter-failed, letter-opened, letter-opened-local-notices, letter-paper,
// letter-waiting-notice, letter-waiting-notice-local-notices, letter-withdrawn (no marker),
// letter-escalated-reliable, letter-opened-reliable, letter-withdrawn-reliable,
// letter-appointment-moved-reminded and letter-scheduled-reminded (version 1).
//
// runLegacy has no "withdraw-before-delivery" branch: that marker came after version 2, so no
// letter of an older lifecycle carries it, and a withdrawal before delivery cannot lose to an
// opening.

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"digitalpost/activities"
	"digitalpost/internal/adapters/notify"
	"digitalpost/internal/adapters/print"
	"digitalpost/internal/domain/letters"
)

// LegacyLifecycleChange and RunLifecycleVersions name the markers of the current lifecycle,
// for the query above.
const LegacyLifecycleChange = reliableLetter

// RunLifecycleVersions are the versions of LegacyLifecycleChange that run reads.
func RunLifecycleVersions() []int {
	var vs []int
	for v := oldestRunLifecycle; v <= currentLifecycle; v++ {
		vs = append(vs, v)
	}
	return vs
}

// legacyLetter is what a letter of an older lifecycle carries: set by runLegacy only.
type legacyLetter struct {
	// version is the letter's reliable-letter version: workflow.DefaultVersion (notices as
	// one activity, the withdrawal decided by the workflow alone) or 1 (the notices on the
	// providers' queues, the mailbox deciding, with the delivery and notices as separate steps
	// and both wait timers at once).
	version workflow.Version
	active  bool
}

// unreliable: a letter from before version 1, whose withdrawal update answers without refusal.
func (o legacyLetter) unreliable() bool { return o.active && o.version < 1 }

// runLegacy is the lifecycle of a letter started before the current one.
func (l *letter) runLegacy(ctx workflow.Context, version workflow.Version) (LetterState, error) {
	l.legacy = legacyLetter{version: version, active: true}
	reliable := version >= 1
	if done, err := l.awaitScheduledDelivery(ctx); done || err != nil {
		if err != nil {
			return l.fail(ctx, err)
		}
		return l.finishRecorded(ctx, letters.Withdrawn, "withdrawn by the sender before its delivery: "+l.withdrawal.Reason)
	}
	var plan activities.Delivery
	if err := workflow.ExecuteLocalActivity(dbStep(ctx), acts.Deliver, l.in.LetterID).Get(ctx, &plan); err != nil {
		return l.fail(ctx, err)
	}
	if l.withdrawal != nil {
		if !reliable {
			return l.finish(ctx, letters.Withdrawn, "", "withdrawn by the sender: "+l.withdrawal.Reason)
		}
		if err := l.decideWithdrawal(ctx); err != nil {
			return l.fail(ctx, err)
		}
		if l.withdrawn {
			return l.finishRecorded(ctx, letters.Withdrawn, "withdrawn by the sender: "+l.withdrawal.Reason)
		}
	}
	if plan.Route.Channel == letters.Paper {
		return l.sendOnPaper(ctx, print.PaperRoute, plan.Route.Reason, letters.Printed, letters.Paper)
	}
	l.transition(ctx, letters.Delivered, letters.Digital, "delivered to the digital mailbox")

	var sent notices
	if reliable {
		sent = l.notify(ctx, plan, l.firstTryOnItsOwn)
	} else {
		sent = l.notifyInOneActivity(ctx, plan)
	}
	waitingNotice := l.sendWaitingNotice(ctx, plan)

	if l.opened == nil && !l.withdrawn {
		l.awaitOpeningOrDeadline(ctx, plan, bothTimersAtOnce)
	}
	if reliable {
		if err := l.settleTheWait(ctx); err != nil {
			return l.fail(ctx, err)
		}
		sent.stop()
	}
	return l.end(ctx, sent, waitingNotice)
}

// firstTryOnItsOwn is version 1's first try of a notice: a local activity after the delivery.
func (l *letter) firstTryOnItsOwn(ctx workflow.Context, ch notify.Channel) workflow.Future {
	return workflow.ExecuteLocalActivity(noticeFirstTry(ctx), acts.SendNotice,
		activities.ChannelNotice{LetterID: l.in.LetterID, Channel: ch})
}

// notifyInOneActivity is the notices of a letter from before version 1: both channels in one
// activity, on the notify queue (before "notices-as-local-activity") or as a local activity.
func (l *letter) notifyInOneActivity(ctx workflow.Context, plan activities.Delivery) notices {
	future, settle := workflow.NewFuture(ctx)
	if !plan.Route.NotifySMS && !plan.Route.NotifyEmail {
		l.note(ctx, "no notice: the recipient registered neither e-mail nor mobile")
		settle.Set(nil, nil)
		return notices{done: future, stop: func() {}}
	}
	req := activities.NoticeRequest{LetterID: l.in.LetterID, SMS: plan.Route.NotifySMS, Email: plan.Route.NotifyEmail}
	var sent workflow.Future
	if workflow.GetVersion(ctx, "notices-as-local-activity", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		sent = workflow.ExecuteActivity(notifyStep(ctx), acts.NotifyRecipient, req)
	} else {
		sent = workflow.ExecuteLocalActivity(notifyLocalStep(ctx), acts.NotifyRecipient, req)
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		var res activities.NoticeResult
		err := sent.Get(ctx, &res)
		switch {
		case err != nil:
			l.note(ctx, "notice failed: "+failureText(err))
		case res.Any() && l.state.Status == letters.Delivered:
			l.transition(ctx, letters.Notified, "", fmt.Sprintf("notice sent (sms: %s, e-mail: %s)", orNone(res.SMS), orNone(res.Email)))
		default:
			l.note(ctx, fmt.Sprintf("notice (sms: %s, e-mail: %s)", orNone(res.SMS), orNone(res.Email)))
		}
		settle.Set(nil, err)
	})
	return notices{done: future, stop: func() {}}
}
