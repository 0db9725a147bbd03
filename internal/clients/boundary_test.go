// Package clients_test holds the rule that makes the clients' boundary: the senders' API, the
// pages and the command line talk to the desks, and the desks own the data. A client that
// gets hold of a store, the database pool or the engine's parts fails this test with the line.
package clients_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	poolPackage  = "github.com/jackc/pgx/v5/pgxpool"
	enginePath   = "digitalpost/internal/infra/engine"
	desksPrefix  = "digitalpost/internal/desks/"
	commandLine  = "digitalpost/starter"
	clientPrefix = "digitalpost/internal/clients/"
)

// engineParts are what the command line may take from the engine it is handed: the desks,
// the configuration and the Temporal client (histories, rollouts).
var engineParts = map[string]bool{"PostOffice": true, "Desk": true, "Operations": true, "Config": true, "Temporal": true, "Deployment": true}

// forbiddenImports are the database's packages: a client opens no connection of its own.
var forbiddenImports = []string{"digitalpost/internal/infra/store", "github.com/jackc/pgx/"}

type listed struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	Imports    []string
}

func TestClientsHoldNoStore(t *testing.T) {
	root := moduleRoot(t)
	out, err := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Dir,Export,GoFiles,Imports",
		clientPrefix+"...", commandLine, "digitalpost/internal/domain/letters", "digitalpost/activities").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	var targets []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if strings.HasPrefix(p.ImportPath, clientPrefix) || p.ImportPath == commandLine {
			targets = append(targets, p)
		}
	}
	if len(targets) < 5 {
		t.Fatalf("found %d client packages, expected the API, the pages, the senders' API client, … and the command line", len(targets))
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	stores := storeFinder{}
	selfCheck(t, imp, stores)

	var violations []string
	for _, p := range targets {
		for _, path := range p.Imports {
			for _, bad := range forbiddenImports {
				if strings.HasPrefix(path, bad) {
					violations = append(violations, fmt.Sprintf("%s imports %s: a client opens no database connection", p.ImportPath, path))
				}
			}
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{},
			Types: map[ast.Expr]types.TypeAndValue{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		report := func(pos token.Pos, what string) {
			at := fset.Position(pos)
			rel, _ := filepath.Rel(root, at.Filename)
			violations = append(violations, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), at.Line, what))
		}
		// The command line's operator and demo commands are handed the engine and take only
		// its engineParts; the API and the pages are handed desks and never see the engine.
		handedEngine := p.ImportPath == commandLine
		for sel, s := range info.Selections {
			owner := holder(s.Recv())
			switch {
			case owner == nil:
			case isEngine(owner) && handedEngine:
				if !engineParts[sel.Sel.Name] {
					report(sel.Sel.Pos(), "takes the engine's "+sel.Sel.Name+": only its desks, configuration and Temporal client are a command's")
				}
			case isDesk(owner) && stores.holdsData(owner) && s.Kind() == types.FieldVal:
				report(sel.Sel.Pos(), fmt.Sprintf("opens the desk %s to its field %s: ask the desk", owner.Obj().Name(), sel.Sel.Name))
			}
		}
		// Any value of a store, the pool or the engine in a client's hands, however it got there:
		// a variable, a call's result, an argument passed on.
		for expr, tv := range info.Types {
			n := holder(tv.Type)
			if n == nil || !stores.holdsPool(n) || (handedEngine && isEngine(n)) {
				continue
			}
			if id, ok := expr.(*ast.Ident); ok && info.Uses[id] == nil {
				continue // a declaration's name, reported where the value is used
			}
			report(expr.Pos(), fmt.Sprintf("holds a %s.%s, which holds the database: ask a desk", n.Obj().Pkg().Path(), n.Obj().Name()))
		}
	}
	slices.Sort(violations)
	for _, v := range slices.Compact(violations) {
		t.Error(v)
	}
}

// selfCheck proves the finder finds: a store, a type holding stores, the engine and the pool
// are found, a desk is not. Without it a renamed pool package would pass every client.
func selfCheck(t *testing.T, imp types.Importer, stores storeFinder) {
	t.Helper()
	named := func(path, name string) *types.Named {
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("self-check: %v", err)
		}
		obj := pkg.Scope().Lookup(name)
		if obj == nil {
			t.Fatalf("self-check: %s.%s is gone; update the self-check", path, name)
		}
		return obj.Type().(*types.Named)
	}
	for _, c := range []struct {
		path, name string
		store      bool
	}{
		{"digitalpost/internal/domain/letters", "Store", true},
		{"digitalpost/activities", "Activities", true}, // holds stores, not the pool itself
		{enginePath, "Engine", true},
		{poolPackage, "Pool", true},
		{desksPrefix + "postoffice", "PostOffice", false},
		{"digitalpost/internal/infra/config", "Config", false},
	} {
		if got := stores.holdsPool(named(c.path, c.name)); got != c.store {
			t.Fatalf("self-check: %s.%s holds the database: %v, want %v", c.path, c.name, got, c.store)
		}
	}
}

// storeFinder tells a store: a type of ours, outside the desks, that holds the database pool
// in a field, directly or through another such type; or the pool itself. A desk holds the
// data too, and is what a client may hold: it is asked, never opened.
type storeFinder map[*types.Named]bool

func (f storeFinder) holdsPool(n *types.Named) bool { return !isDesk(n) && f.holdsData(n) }

// holdsData tells whether a type holds the pool, through any number of fields.
func (f storeFinder) holdsData(n *types.Named) bool {
	if held, seen := f[n]; seen {
		return held
	}
	f[n] = false // a cycle holds nothing new
	held := f.find(n)
	f[n] = held
	return held
}

func (f storeFinder) find(n *types.Named) bool {
	obj := n.Obj()
	if obj.Pkg() == nil {
		return false
	}
	if obj.Pkg().Path() == poolPackage && obj.Name() == "Pool" {
		return true
	}
	if !strings.HasPrefix(obj.Pkg().Path(), "digitalpost/") {
		return false
	}
	st, ok := n.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range st.NumFields() {
		if h := holder(st.Field(i).Type()); h != nil && f.holdsData(h) {
			return true
		}
	}
	return false
}

// holder is the named type of a value, through one pointer.
func holder(t types.Type) *types.Named {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, _ := t.(*types.Named)
	return n
}

func isDesk(n *types.Named) bool {
	return n.Obj().Pkg() != nil && strings.HasPrefix(n.Obj().Pkg().Path(), desksPrefix)
}

func isEngine(n *types.Named) bool {
	return n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == enginePath && n.Obj().Name() == "Engine"
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
