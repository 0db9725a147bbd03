// Package history fetches a workflow's history from Temporal and opens its encrypted
// payloads, for operators reading it and for the replay tests' recorded histories.
package history

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"digitalpost/internal/infra/codec"
)

// Fetch reads the whole history of a workflow's latest run, as stored on the server.
func Fetch(ctx context.Context, c client.Client, workflowID string) (*historypb.History, error) {
	return FetchRun(ctx, c, workflowID, "")
}

// FetchRun reads the whole history of one run of a workflow ("" for the latest): an earlier
// run of a case or reading access that continued as new, say.
func FetchRun(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

// Decode opens every sealed payload in the history in place, failures included.
func Decode(ctx context.Context, h *historypb.History, cd *codec.Codec) error {
	return proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return cd.Decode(p)
		},
	})
}

// WriteJSON writes the history in the JSON form the SDK's replayer reads.
func WriteJSON(w io.Writer, h *historypb.History) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes one line per event with its payloads as text, for an operator to read.
func WriteText(ctx context.Context, w io.Writer, h *historypb.History) error {
	for _, e := range h.Events {
		var parts []string
		err := proxy.VisitPayloads(ctx, e, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				for _, p := range ps {
					parts = append(parts, string(p.GetData()))
				}
				return ps, nil
			},
		})
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(e.GetEventType().String(), "EVENT_TYPE_")
		if detail := eventDetail(e); detail != "" {
			name += " " + detail
		}
		fmt.Fprintf(w, "%4d  %s  %-45s %s\n", e.GetEventId(), e.GetEventTime().AsTime().Local().Format(time.TimeOnly+".000"),
			name, strings.Join(parts, "  "))
	}
	return nil
}

// eventDetail names what an event is about: the activity, signal, update or timer.
func eventDetail(e *historypb.HistoryEvent) string {
	switch {
	case e.GetActivityTaskScheduledEventAttributes() != nil:
		return e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
	case e.GetWorkflowExecutionSignaledEventAttributes() != nil:
		return e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()
	case e.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
		return e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
	case e.GetTimerStartedEventAttributes() != nil:
		return e.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration().String()
	case e.GetMarkerRecordedEventAttributes() != nil:
		if t, ok := e.GetMarkerRecordedEventAttributes().GetDetails()["type"]; ok && len(t.GetPayloads()) > 0 {
			return strings.Trim(string(t.GetPayloads()[0].GetData()), `"`)
		}
	}
	return ""
}
