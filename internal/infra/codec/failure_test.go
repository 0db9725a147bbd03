package codec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// A failure that names a citizen, as an activity's error easily does: the message of each
// failure in the chain, and a panic's stack trace, leave sealed.
var failureSecrets = []string{"Anna Jensen", "0101801234", "+4520000001", "twilio status 503", "SendNotice(0101801234)"}

// panicked is the error an activity's recovered panic becomes: message and stack trace.
func panicked(t *testing.T) error {
	t.Helper()
	plain := temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{
		Message:    "panic: no mobile for Anna Jensen (0101801234)",
		StackTrace: "goroutine 7 [running]:\ndigitalpost/activities.(*Activities).SendNotice(0101801234)",
		FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
			Type: "PanicError"}},
	})
	var p *temporal.PanicError
	if !errors.As(plain, &p) || p.StackTrace() == "" {
		t.Fatalf("test setup: %T %v is no panic with a stack trace", plain, plain)
	}
	return p
}

func TestFailureMessagesAndStackTracesLeaveSealedAndOpenWithTheKeys(t *testing.T) {
	keys := keyring(t, NewKeySpec("k1"))
	fc := FailureConverter(DataConverter(keys))
	for name, err := range map[string]error{
		"an error with its cause": temporal.NewApplicationErrorWithCause("notice to Anna Jensen not sent", "NoticeFailed",
			errors.New("twilio status 503 for +4520000001")),
		"a panic": panicked(t),
	} {
		t.Run(name, func(t *testing.T) {
			f := fc.ErrorToFailure(err)
			depth := 0
			for c := f; c != nil; c = c.GetCause() {
				depth++
				if c.GetMessage() != encodedMessage || c.GetStackTrace() != "" {
					t.Fatalf("failure %d leaves with message %q and stack %q, want both sealed", depth, c.GetMessage(), c.GetStackTrace())
				}
				if enc := c.GetEncodedAttributes(); string(enc.GetMetadata()[metaEncoding]) != Encoding {
					t.Fatalf("failure %d: encoded attributes %v are not sealed", depth, enc.GetMetadata())
				}
			}
			if want := map[bool]int{true: 2, false: 1}[name == "an error with its cause"]; depth != want {
				t.Fatalf("%d failures in the chain, want %d", depth, want)
			}
			stored, _ := proto.Marshal(f)
			asStored := proto.Clone(f)
			for _, s := range failureSecrets {
				if strings.Contains(string(stored), s) {
					t.Fatalf("the failure as stored holds %q in plaintext", s)
				}
			}

			// An operator with the keys (the codec server, a history dump) reads the message
			// and the stack trace.
			opened, err := New(keys).Decode([]*commonpb.Payload{f.GetEncodedAttributes()})
			if err != nil {
				t.Fatal(err)
			}
			var attrs struct {
				Message    string `json:"message"`
				StackTrace string `json:"stack_trace"`
			}
			if err := json.Unmarshal(opened[0].GetData(), &attrs); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(attrs.Message, "Anna Jensen") {
				t.Fatalf("opened message %q", attrs.Message)
			}
			if name == "a panic" && !strings.Contains(attrs.StackTrace, "SendNotice(0101801234)") {
				t.Fatalf("opened stack trace %q", attrs.StackTrace)
			}
			// Without the keys it does not open.
			if _, err := New(keyring(t, NewKeySpec("k1"))).Decode([]*commonpb.Payload{f.GetEncodedAttributes()}); err == nil {
				t.Fatal("a sealed failure opened with another key")
			}

			// A worker turns it back into the error it was, and the failure it read stays sealed:
			// the SDK keeps a local activity's failure for its marker after turning it into an error.
			back := fc.FailureToError(f)
			if !strings.Contains(back.Error(), "Anna Jensen") {
				t.Fatalf("error after the round trip: %v", back)
			}
			var p *temporal.PanicError
			if name == "a panic" && (!errors.As(back, &p) || !strings.Contains(p.StackTrace(), "SendNotice(0101801234)")) {
				t.Fatalf("the panic came back as %T without its stack trace", back)
			}
			if name == "an error with its cause" && !strings.Contains(errors.Unwrap(back).Error(), "twilio status 503") {
				t.Fatalf("the cause came back as %v", errors.Unwrap(back))
			}
			// Compared as messages: the bytes of a message with maps are in no fixed order.
			if !proto.Equal(f, asStored) {
				t.Fatal("turning the failure into an error wrote the plaintext into the failure itself")
			}
		})
	}
}
