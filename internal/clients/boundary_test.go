// Package clients_test holds the rule that makes the clients' boundary: the senders' API, the
// pages and the command line talk to the desks, and the desks own the data. A client that
// names a store, the database pool or the whole engine fails this test with the line.
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
	"sort"
	"strings"
	"testing"
)

type listed struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
	Standard   bool
}

func TestClientsHoldNoStore(t *testing.T) {
	root := moduleRoot(t)
	out, err := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Dir,Export,GoFiles,Standard",
		"digitalpost/internal/clients/...", "digitalpost/starter").Output()
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
		if strings.HasPrefix(p.ImportPath, "digitalpost/internal/clients/") || p.ImportPath == "digitalpost/starter" {
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
	var violations []string
	for _, p := range targets {
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		report := func(pos token.Pos, what string) {
			at := fset.Position(pos)
			rel, _ := filepath.Rel(root, at.Filename)
			violations = append(violations, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(rel), at.Line, what))
		}
		for sel, s := range info.Selections {
			owner := holder(s.Recv())
			if owner == nil || !holdsPool(owner) {
				continue
			}
			if isEngine(owner) {
				// The engine is the command line's wiring: a command may take its desks, its
				// configuration and its Temporal client, never a store or the pool.
				f, ok := s.Obj().(*types.Var)
				if !ok || !f.IsField() || holder(f.Type()) == nil || !holdsPool(holder(f.Type())) {
					continue
				}
				report(sel.Sel.Pos(), fmt.Sprintf("takes the engine's %s (%s), which holds the database: ask a desk", sel.Sel.Name, f.Type()))
				continue
			}
			report(sel.Sel.Pos(), fmt.Sprintf("%s.%s reaches into %s, which holds the database: ask a desk", owner.Obj().Name(), sel.Sel.Name, owner.Obj().Pkg().Path()))
		}
		for id, obj := range info.Uses {
			tn, ok := obj.(*types.TypeName)
			if !ok {
				continue
			}
			// The command line's operator and demo commands are handed the engine and take
			// only its desks; the API and the pages are handed desks.
			demo := p.ImportPath == "digitalpost/starter"
			if n, ok := tn.Type().(*types.Named); ok && holdsPool(n) && !(demo && isEngine(n)) {
				report(id.Pos(), fmt.Sprintf("names %s.%s, which holds the database: ask a desk", tn.Pkg().Path(), tn.Name()))
			}
		}
	}
	sort.Strings(violations)
	for _, v := range violations {
		t.Error(v)
	}
}

// holder is the named type a selection is made on, through pointers.
func holder(t types.Type) *types.Named {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, _ := t.(*types.Named)
	return n
}

// holdsPool tells a store: a type of ours with the database pool in a field, or the pool itself.
func holdsPool(n *types.Named) bool {
	if n.Obj().Pkg() == nil {
		return false
	}
	if n.Obj().Pkg().Path() == "github.com/jackc/pgx/v5/pgxpool" && n.Obj().Name() == "Pool" {
		return true
	}
	if !strings.HasPrefix(n.Obj().Pkg().Path(), "digitalpost/") || isDesk(n) {
		return false // the desks own the data: they are what a client holds
	}
	st, ok := n.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range st.NumFields() {
		if p, ok := st.Field(i).Type().(*types.Pointer); ok {
			if pn, ok := p.Elem().(*types.Named); ok && pn.Obj().Pkg() != nil &&
				pn.Obj().Pkg().Path() == "github.com/jackc/pgx/v5/pgxpool" && pn.Obj().Name() == "Pool" {
				return true
			}
		}
	}
	return false
}

// isDesk tells a desk: a type from internal/desks.
func isDesk(t types.Type) bool {
	n := holder(t)
	return n != nil && n.Obj().Pkg() != nil && strings.HasPrefix(n.Obj().Pkg().Path(), "digitalpost/internal/desks/")
}

// isEngine tells the engine: the demo commands are handed it, and take only its desks.
func isEngine(n *types.Named) bool {
	return n.Obj().Pkg().Path() == "digitalpost/internal/infra/engine" && n.Obj().Name() == "Engine"
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
