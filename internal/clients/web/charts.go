package web

import (
	"fmt"
	"math"
)

// A chart is drawn on the server as SVG: no script, nothing to load, and the same numbers
// stand in a table beside it for screen readers.
type chart struct {
	Label         string // the chart's accessible name
	Width, Height float64
	Bars          []bar
	Axis          []tick
	Groups        []groupLabel
	Legend        []legendEntry
}

type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string // shown on hover
}

type tick struct {
	Y     float64
	Label string
}

type groupLabel struct {
	X     float64
	Label string
}

type legendEntry struct {
	X     float64
	Class string
	Label string
}

// series is one kind of bar across the groups, e.g. digital letters per month.
type series struct {
	Label  string
	Class  string
	Values []int
}

const (
	chartHeight = 220.0
	plotTop     = 30.0
	plotBottom  = 190.0
	plotLeft    = 56.0
	legendStep  = 130.0
)

// groupedBars draws one group of bars per label (a month, a category), one bar per series.
func groupedBars(label string, groups []string, ss []series) chart {
	maxV := 1
	for _, s := range ss {
		for _, v := range s.Values {
			maxV = max(maxV, v)
		}
	}
	top := niceCeiling(maxV)
	// Wide enough for a label under each group and for the legend above.
	groupW := math.Max(76, 16*float64(len(ss))+20)
	c := chart{Label: label, Height: chartHeight,
		Width: math.Max(plotLeft+groupW*float64(len(groups))+10, plotLeft+legendStep*float64(len(ss))+10)}
	scale := (plotBottom - plotTop) / float64(top)
	for i := 0; i <= 4; i++ {
		v := top * i / 4
		c.Axis = append(c.Axis, tick{Y: plotBottom - float64(v)*scale, Label: funcs["thousands"].(func(int) string)(v)})
	}
	barW := (groupW - 12) / float64(len(ss))
	for gi, g := range groups {
		x0 := plotLeft + groupW*float64(gi) + 6
		c.Groups = append(c.Groups, groupLabel{X: x0 + (groupW-12)/2, Label: g})
		for si, s := range ss {
			v := 0
			if gi < len(s.Values) {
				v = s.Values[gi]
			}
			h := float64(v) * scale
			c.Bars = append(c.Bars, bar{X: x0 + barW*float64(si), Y: plotBottom - h, W: barW - 1, H: h, Class: s.Class,
				Title: fmt.Sprintf("%s, %s: %d", g, s.Label, v)})
		}
	}
	for i, s := range ss {
		c.Legend = append(c.Legend, legendEntry{X: plotLeft + legendStep*float64(i), Class: s.Class, Label: s.Label})
	}
	return c
}

// niceCeiling rounds up to 1, 2 or 5 times a power of ten, so the axis reads easily.
func niceCeiling(v int) int {
	p := 1
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
