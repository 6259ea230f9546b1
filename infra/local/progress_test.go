package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

// A top-up raising the total holds the percentage instead of pulling it
// back; the count shows the growing total.
func TestProgressNeverGoesBackwards(t *testing.T) {
	t.Parallel()
	p := newProgress(&bytes.Buffer{}, 10)
	step := func(kind sfnlocal.EventKind, n int) {
		for range n {
			p.event(sfnlocal.Event{Kind: kind})
		}
	}
	step(sfnlocal.IterationStarted, 10)
	step(sfnlocal.IterationSucceeded, 5)
	require.Equal(t, 50, p.percent())
	require.Equal(t, "candidates 5/10", p.label())

	step(sfnlocal.IterationStarted, 6) // a top-up: 16 in all
	require.Equal(t, 50, p.percent(), "5/16 would be 31 %%")
	require.Equal(t, "candidates 5/16", p.label())
	step(sfnlocal.IterationSucceeded, 3) // 8/16
	require.Equal(t, 50, p.percent())
	step(sfnlocal.IterationFailed, 4) // 12/16
	require.Equal(t, 75, p.percent())
	step(sfnlocal.IterationSucceeded, 4)
	require.Equal(t, 100, p.percent())
	require.Equal(t, 16, p.done())
}

// Not a terminal (a buffer, a log file, a pipe): nothing is drawn.
func TestProgressDrawsOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newProgress(&out, 4)
	for _, k := range []sfnlocal.EventKind{sfnlocal.IterationStarted, sfnlocal.IterationSucceeded} {
		p.event(sfnlocal.Event{Kind: k})
	}
	p.finish()
	require.Nil(t, p.bar)
	require.Empty(t, out.String())
}
