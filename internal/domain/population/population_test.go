package population_test

import (
	"context"
	"math"
	"testing"

	"digitalpost/internal/domain/population"
	"digitalpost/internal/domain/registry"
	"digitalpost/internal/domain/statistics"
	"digitalpost/internal/infra/store"
)

// A generated population follows the national shares, its CPR numbers are valid and its own,
// and generating it again adds nothing.
func TestGeneratedPopulationFollowsTheNationalShares(t *testing.T) {
	db, _ := store.NewTestDB(t)
	ctx := context.Background()
	reg := registry.New(db)
	if err := reg.AddSender(ctx, registry.Sender{ID: "skat", Organisation: "Skattestyrelsen"}); err != nil {
		t.Fatal(err)
	}
	const n = 30_000
	opts := population.Options{Citizens: n, Months: 12, Senders: []string{"skat"}, Seed: 7}
	res, err := population.Generate(ctx, db, opts)
	if err != nil || res.Citizens != n || res.Letters != n {
		t.Fatalf("generated %+v (%v), want %d citizens and letters", res, err, n)
	}
	p, err := statistics.New(db).Population(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		got  int
		want float64
	}{
		"e-mail": {p.Email, population.ShareEmail}, "mobile": {p.Mobile, population.ShareMobile},
		"neither": {p.Neither, population.ShareNeither}, "self-enrolled": {p.SelfEnrolled, population.ShareSelf},
		"exempt": {p.Exempt, population.ShareExempt}, "automatic": {p.AutoEnrolled, population.ShareAuto},
	} {
		if share := p.Share(c.got); math.Abs(share-c.want) > 0.01 {
			t.Errorf("%s: %.3f of the population, want %.3f ± 0.01", name, share, c.want)
		}
	}
	list, err := reg.FirstCitizens(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if !c.CPR.BirthDate().Equal(c.BirthDate) {
			t.Fatalf("citizen %s: CPR number gives %s, registry says %s", c.ID, c.CPR.BirthDate(), c.BirthDate)
		}
	}
	again, err := population.Generate(ctx, db, opts)
	if err != nil || again.Citizens != 0 || again.Letters != 0 {
		t.Fatalf("second run wrote %+v (%v), want nothing", again, err)
	}
}
