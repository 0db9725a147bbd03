package engine_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"digitalpost/internal/adapters/printhouse"
	"digitalpost/internal/desks/borgerservice"
	"digitalpost/internal/desks/postoffice"
	"digitalpost/internal/domain/letters"
	"digitalpost/internal/infra/testenv"
)

var metricName = regexp.MustCompile(`\b(?:digitalpost|temporal)_[a-z0-9_]+`)

// Every metric a panel of the Grafana dashboard queries is exposed at /metrics once the
// system has done its work: a letter read, one on paper answered by the print house, a case.
func TestDashboardQueriesOnlyExposedMetrics(t *testing.T) {
	t.Parallel() // its own database and Temporal: see testenv.StartSystem
	s := testenv.StartSystem(t)
	seed(t, s)
	seedMunicipality(t, s)
	ctx := context.Background()

	digital, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: annaCPR, Subject: "Brev", Body: "Tekst"})
	if err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, digital.LetterID, letters.Notified)
	if _, err := s.PostOffice.Open(ctx, digital.LetterID, annaCPR); err != nil {
		t.Fatal(err)
	}
	paper, err := s.PostOffice.Submit(ctx, postoffice.Submission{SenderID: "region-midt", RecipientCPR: boCPR, Subject: "Papir", Body: "Tekst", PhysicalOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitForResult(t, s, paper.LetterID); err != nil {
		t.Fatal(err)
	}
	if _, err := (printhouse.DevHouse{Spool: s.Config.SpoolDir(), Now: time.Now}).Answer(); err != nil {
		t.Fatal(err)
	}
	waitForStatus(t, s, paper.LetterID, letters.Posted)
	if _, err := s.Desk.Apply(ctx, borgerservice.Application{CitizenCPR: boCPR, Grounds: []string{"no-computer"}, MunicipalityID: "aarhus-kommune"}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForResult(t, s, digital.LetterID); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	exposed := map[string]bool{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if name := metricName.FindString(line); name != "" && !strings.HasPrefix(line, "#") {
			exposed[name] = true
		}
	}
	b, err := os.ReadFile("../../../deploy/grafana/dashboards/digitalpost.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	queried := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				queried++
				if !exposed[name] {
					t.Errorf("panel %q queries %s, which /metrics does not expose", p.Title, name)
				}
			}
		}
	}
	if queried < 10 {
		t.Fatalf("the dashboard queries only %d metrics", queried)
	}
	if !strings.Contains(rec.Body.String(), "digitalpost_cases_open 1") {
		t.Fatal("the open case is not counted")
	}
}
