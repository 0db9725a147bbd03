package letters

import "testing"

// BenchmarkDecide is the routing decision every letter makes.
func BenchmarkDecide(b *testing.B) {
	c := adult()
	c.Mobile, c.Email = "+4520000001", "a@example.dk"
	for b.Loop() {
		if Decide(false, c, today).Channel != Digital {
			b.Fatal("wrong route")
		}
	}
}
