package history

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// The rules by which Temporal Cloud bills a history's events as Actions (docs.temporal.io,
// "Temporal Cloud Actions"), one name per rule so a cost table can say which rule each
// Action falls under. Queries, rejected Updates and heartbeats leave no event and are not
// counted here; neither are start-time search attributes or the TemporalChangeVersion upsert
// that GetVersion makes, which Temporal does not bill.
const (
	RuleWorkflowStarted = "workflow started"
	RuleActivity        = "activity started or retried"
	RuleLocalActivities = "local activities of one workflow task"
	RuleTimer           = "timer started"
	RuleSignal          = "signal received"
	RuleUpdate          = "update accepted"
	RuleUpsert          = "search attributes upserted"
	RuleSideEffect      = "side effect recorded"
	RuleChildWorkflow   = "child workflow started (2)"
	RuleSignalExternal  = "signal sent to another workflow"
)

// BillableActions counts the Actions in one run's history, by rule.
func BillableActions(h *historypb.History) (total int, byRule map[string]int) {
	byRule = map[string]int{}
	add := func(rule string, n int) {
		if n > 0 {
			byRule[rule] += n
			total += n
		}
	}
	// Local activities are billed once per workflow task that ran any: their markers follow
	// the WorkflowTaskCompleted event of that task.
	var task int64
	localBilled := map[int64]bool{}
	for _, e := range h.GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			task = e.GetEventId()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			add(RuleWorkflowStarted, 1)
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			// Written once, when the last attempt ends; its attempt number counts the retries.
			add(RuleActivity, int(max(e.GetActivityTaskStartedEventAttributes().GetAttempt(), 1)))
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			switch e.GetMarkerRecordedEventAttributes().GetMarkerName() {
			case "LocalActivity":
				if !localBilled[task] {
					localBilled[task] = true
					add(RuleLocalActivities, 1)
				}
			case "SideEffect", "MutableSideEffect":
				add(RuleSideEffect, 1)
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			add(RuleTimer, 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			add(RuleSignal, 1)
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			add(RuleUpdate, 1)
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			if !onlyChangeVersion(e.GetUpsertWorkflowSearchAttributesEventAttributes()) {
				add(RuleUpsert, 1)
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			add(RuleChildWorkflow, 2)
		case enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			add(RuleSignalExternal, 1)
		}
	}
	return total, byRule
}

func onlyChangeVersion(a *historypb.UpsertWorkflowSearchAttributesEventAttributes) bool {
	fields := a.GetSearchAttributes().GetIndexedFields()
	for name := range fields {
		if name != "TemporalChangeVersion" {
			return false
		}
	}
	return len(fields) > 0
}
