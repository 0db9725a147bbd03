package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"digitalpost/internal/infra/engine"
)

// recorded is one history from testdata/histories, with what the suite checks it for.
type recorded struct {
	file         string
	history      *historypb.History
	workflowType string
	versions     map[string]int // change id → the version its marker recorded
}

// TestRecordedHistoriesReplay replays histories recorded from real runs (decrypted, in
// testdata/histories) against the current workflow code. A change that would break
// running workflows fails here: guard such changes with workflow.GetVersion.
// The workflow types are the ones the worker registers (engine.Workflows): one registered
// without a recorded history fails here. Record histories with TestRecordHistories
// (RECORD_HISTORIES=1), or one at a time with:
// go run ./starter history LETTER_ID --json > workflows/testdata/histories/NAME.json
func TestRecordedHistoriesReplay(t *testing.T) {
	histories := loadHistories(t)
	registered := map[string]bool{}
	for _, fn := range engine.Workflows() {
		registered[workflowTypeName(fn)] = true
	}
	// Every workflow type must have recorded histories, or this guard silently guards nothing.
	for name := range registered {
		if !slices.ContainsFunc(histories, func(h recorded) bool { return h.workflowType == name }) {
			t.Errorf("the worker registers %s, but testdata/histories holds no recorded history of it", name)
		}
	}
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	for _, h := range histories {
		t.Run(filepath.Base(h.file), func(t *testing.T) {
			if !registered[h.workflowType] {
				t.Fatalf("%s is a history of %s, which the worker no longer registers", h.file, h.workflowType)
			}
			r := worker.NewWorkflowReplayer()
			for _, fn := range engine.Workflows() {
				r.RegisterWorkflow(fn)
			}
			if err := r.ReplayWorkflowHistory(logger, h.history); err != nil {
				t.Fatalf("replay %s: %v", h.file, err)
			}
		})
	}
}

// TestEveryWorkflowVersionHasARecordedHistory: each workflow.GetVersion in the workflow code
// has a recorded history at its newest version, so the current path of every workflow is
// replayed too, not only the paths of the workflows started before it. Adding a version
// without recording a history of it fails here.
func TestEveryWorkflowVersionHasARecordedHistory(t *testing.T) {
	histories := loadHistories(t)
	newest := versionsInCode(t)
	if len(newest) == 0 {
		t.Fatal("found no workflow.GetVersion in the workflow code: the scan is broken")
	}
	for id, version := range newest {
		if !slices.ContainsFunc(histories, func(h recorded) bool { return h.versions[id] == version }) {
			t.Errorf("no recorded history runs %q at version %d, the code's newest: record one (TestRecordHistories)", id, version)
		}
	}
}

func loadHistories(t *testing.T) []recorded {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []recorded
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		_ = r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
		if started == nil {
			t.Fatalf("%s does not begin with the workflow's start", f)
		}
		out = append(out, recorded{file: f, history: h, workflowType: started.GetWorkflowType().GetName(), versions: versionMarkers(t, f, h)})
	}
	return out
}

// versionMarkers are the version markers workflow.GetVersion recorded in a history.
func versionMarkers(t *testing.T, file string, h *historypb.History) map[string]int {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	versions := map[string]int{}
	for _, e := range h.GetEvents() {
		m := e.GetMarkerRecordedEventAttributes()
		if m == nil || m.GetMarkerName() != "Version" {
			continue
		}
		var id string
		var version int
		if err := dc.FromPayloads(m.GetDetails()["change-id"], &id); err != nil {
			t.Fatalf("%s: version marker: %v", file, err)
		}
		if err := dc.FromPayloads(m.GetDetails()["version"], &version); err != nil {
			t.Fatalf("%s: version marker: %v", file, err)
		}
		versions[id] = version
	}
	return versions
}

// versionsInCode reads the workflow code (this directory's non-test files) for its
// workflow.GetVersion calls: change id → newest version. Ids and versions are literals or
// constants of this package.
func versionsInCode(t *testing.T) map[string]int {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]ast.Expr{}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					v := s.(*ast.ValueSpec)
					for i, n := range v.Names {
						if i < len(v.Values) {
							consts[n.Name] = v.Values[i]
						}
					}
				}
			}
		}
	}
	var resolve func(ast.Expr) string
	resolve = func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.BasicLit:
			return e.Value
		case *ast.Ident:
			if v, ok := consts[e.Name]; ok {
				return resolve(v)
			}
		}
		t.Fatalf("%s: a GetVersion argument that is neither a literal nor a constant of the package", fset.Position(e.Pos()))
		return ""
	}
	newest := map[string]int{}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "GetVersion" || len(call.Args) != 4 {
				return true
			}
			id, err := strconv.Unquote(resolve(call.Args[1]))
			if err != nil {
				t.Fatalf("%s: change id: %v", fset.Position(call.Pos()), err)
			}
			version, err := strconv.Atoi(resolve(call.Args[3]))
			if err != nil {
				t.Fatalf("%s: version: %v", fset.Position(call.Pos()), err)
			}
			newest[id] = max(newest[id], version)
			return true
		})
	}
	return newest
}

// workflowTypeName is the type name the SDK registers a workflow function under.
func workflowTypeName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return strings.TrimSuffix(name[strings.LastIndex(name, ".")+1:], "-fm")
}
