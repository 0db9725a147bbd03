package history

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// An opened letter's shape: two local activities in the first task are one Action, the
// version upsert is free, a retried activity counts each attempt.
func TestBillableActionsFollowTemporalCloudRules(t *testing.T) {
	var events []*historypb.HistoryEvent
	add := func(e *historypb.HistoryEvent) {
		e.EventId = int64(len(events) + 1)
		events = append(events, e)
	}
	ev := func(t enumspb.EventType) *historypb.HistoryEvent { return &historypb.HistoryEvent{EventType: t} }
	marker := func(name string) *historypb.HistoryEvent {
		e := ev(enumspb.EVENT_TYPE_MARKER_RECORDED)
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{MarkerName: name}}
		return e
	}
	upsert := func(names ...string) *historypb.HistoryEvent {
		fields := map[string]*commonpb.Payload{}
		for _, n := range names {
			fields[n] = &commonpb.Payload{}
		}
		e := ev(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
		e.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields}}}
		return e
	}
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
	add(marker("Version"))
	add(upsert("TemporalChangeVersion"))
	add(marker("LocalActivity"))
	add(marker("LocalActivity"))
	add(upsert("LetterStatus"))
	add(ev(enumspb.EVENT_TYPE_TIMER_STARTED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED))
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
	add(marker("LocalActivity"))
	add(ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED))
	started := ev(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	started.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: 3}}
	add(started)
	add(ev(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED))

	total, byRule := BillableActions(&historypb.History{Events: events})
	want := map[string]int{RuleWorkflowStarted: 1, RuleLocalActivities: 2, RuleUpsert: 1, RuleTimer: 1, RuleSignal: 1, RuleActivity: 3}
	if total != 9 {
		t.Errorf("total = %d, want 9 (by rule %v)", total, byRule)
	}
	for rule, n := range want {
		if byRule[rule] != n {
			t.Errorf("%s = %d, want %d", rule, byRule[rule], n)
		}
	}
	if len(byRule) != len(want) {
		t.Errorf("rules = %v, want exactly %v", byRule, want)
	}
}
