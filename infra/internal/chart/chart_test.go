package chart

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFigureDrawsPanelsUnderOneLegend(t *testing.T) {
	t.Parallel()
	line := Series{Name: "ours", Color: Green, Marks: true, Points: []Point{{0, 0.2}, {0.5, 0.9}, {1, 1.7}}}
	fig := Figure{
		Title:  "a figure",
		Legend: []Series{line, {Name: "target", Color: Dark, Dashed: true}},
		Note:   "a note",
		Cols:   2,
		Panels: []Panel{
			{Title: "left", XLabel: "x", YLabel: "y", XMax: 1, YMax: 1, HLines: []float64{0.5}, Bands: []Band{{0.5, 1}},
				YTicks: Ticks("%.1f", 0, 0.5, 1), Series: []Series{line}},
			{Title: "right", XMax: 1, YMax: 1, Series: []Series{{Name: "dots", Color: Red, NoLine: true, Points: []Point{{0.5, 0.5}}}}},
			{Title: "third, alone on its row", XMax: 1, YMax: 1},
		},
	}
	svg, err := fig.SVG()
	require.NoError(t, err)
	s := string(svg)
	require.Contains(t, s, "<svg ")
	for _, text := range []string{"a figure", "ours", "target", "a note", "left", "right", "third, alone on its row", "0.5"} {
		require.Contains(t, s, ">"+text+"<")
	}
	require.Equal(t, 1, strings.Count(s, ">ours<"), "the legend names a series once, not per panel")
	again, err := fig.SVG()
	require.NoError(t, err)
	require.Equal(t, svg, again, "the same figure, the same bytes: committed charts diff only when the data does")

	_, err = Figure{}.SVG()
	require.Error(t, err)
}
