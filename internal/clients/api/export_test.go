package api

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// RequestsUnderWay is how many of sender's requests are under way, for tests that must know
// a slow upload has been let in before they go on.
func (s *Server) RequestsUnderWay(sender string) int {
	s.inflight.mu.Lock()
	defer s.inflight.mu.Unlock()
	return s.inflight.requests[sender]
}

// WaitForBatchStarts waits until the batch starts the server runs in the background after its
// answers (POST /v1/batches) are done: a test that checks nothing more happened knows then
// that everything a request set going has had its turn, and no start outlives its test.
func (s *Server) WaitForBatchStarts() { s.background.Wait() }

// RouteOf is the pattern the server's mux takes a request to ("" or "/" when none).
func (s *Server) RouteOf(method, path string) string {
	_, pattern := s.mux.Handler(httptest.NewRequest(method, path, nil))
	return pattern
}

// RegisteredRoutes are the patterns this package registers, as its own source says: every
// call, in any file, whose first argument is a literal shaped like a mux pattern ("GET /v1/…"),
// whatever helper makes it (handle, handleSpooled, mux.HandleFunc). Read from the code that
// registers them, so a route added there shows here with no list to keep. A call in routes()
// whose first argument is not a literal cannot be read and is an error; the test also asks
// the mux whether each pattern found is one it routes to.
func RegisteredRoutes() ([]string, error) {
	entries, err := os.ReadDir(".")
	if err != nil {
		return nil, err
	}
	shaped := regexp.MustCompile(`^([A-Z]+ )?/`)
	fset := token.NewFileSet()
	var routes, problems []string
	for _, entry := range entries {
		name := entry.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					if fn.Name.Name == "routes" && onServer(call) {
						problems = append(problems, fmt.Sprintf("%s: a registration in routes() whose pattern is not a literal", fset.Position(call.Pos())))
					}
					return true
				}
				pattern, err := strconv.Unquote(lit.Value)
				if err == nil && shaped.MatchString(pattern) {
					routes = append(routes, pattern)
				}
				return true
			})
		}
	}
	if len(problems) > 0 {
		return routes, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return routes, nil
}

// onServer tells whether a call is s.something(…) or s.mux.something(…): a registration.
func onServer(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	if inner, ok := sel.X.(*ast.SelectorExpr); ok {
		sel = inner
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "s"
}
