package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"go.yaml.in/yaml/v3"

	"digitalpost/internal/clients/api"
)

// The contract is what senders generate their clients from: every operation has an id a
// generator can name a method after and says how it is refused, and the YAML says what its
// author meant (a comma in a flow mapping once split a description into a key of its own).
func TestTheContractIsFitForClientGenerators(t *testing.T) {
	doc, err := libopenapi.NewDocument(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	operations := 0
	check := func(where string, item *v3.PathItem) {
		for method, op := range item.GetOperations().FromOldest() {
			operations++
			name := strings.ToUpper(method) + " " + where
			switch {
			case op.OperationId == "":
				t.Errorf("%s has no operationId", name)
			case seen[op.OperationId] != "":
				t.Errorf("%s and %s share the operationId %s", name, seen[op.OperationId], op.OperationId)
			}
			seen[op.OperationId] = name
			refused := false
			for code := range op.Responses.Codes.KeysFromOldest() {
				refused = refused || strings.HasPrefix(code, "4")
			}
			if !refused {
				t.Errorf("%s documents no 4xx answer", name)
			}
		}
	}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		check(path, item)
	}
	for name, item := range model.Model.Webhooks.FromOldest() {
		check("webhook "+name, item)
	}
	if operations < 19 {
		t.Errorf("only %d operations read from the document", operations)
	}

	var root yaml.Node
	if err := yaml.Unmarshal(api.OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, n *yaml.Node)
	walk = func(path string, n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, value := n.Content[i], n.Content[i+1]
				if value.Tag == "!!null" {
					t.Errorf("line %d: %s.%q has no value: a comma or colon in a flow mapping split a text", key.Line, path, key.Value)
				}
				walk(path+"."+key.Value, value)
			}
			return
		}
		for _, c := range n.Content {
			walk(path, c)
		}
	}
	walk("", &root)
}

// The routes anyone may call answer only GET; another method finds no route (404, a problem),
// as the contract says.
func TestPublicRoutesAnswerOtherMethodsAsTheContractSays(t *testing.T) {
	e := newAPIEnv(t, nil)
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.yaml"} {
		resp, err := http.Post(e.srv.URL+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("POST %s answered %d %s, want 404 with a problem as the contract says", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
