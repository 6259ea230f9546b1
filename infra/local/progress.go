package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/designerbff/pipeline/infra/local/sfnlocal"
)

// progress follows the demo's candidates: done out of a total that grows
// when a top-up round adds candidates. On a terminal it draws a bar whose
// percentage never goes backwards: progressbar's own percentage falls when
// its max grows, so the bar runs on a fixed 0–100 scale set from percent,
// and the growing count is its description. Anywhere else (a log, a pipe,
// CI) it draws nothing: no \r frames in a file.
type progress struct {
	mu       sync.Mutex
	bar      *progressbar.ProgressBar // nil: stderr is not a terminal
	expected int                      // the planned total before any top-up
	started  int
	finished int
	pct      int
}

func newProgress(w io.Writer, expected int) *progress {
	p := &progress{expected: expected}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(100,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(p.label()),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// event is the interpreter's event hook.
func (p *progress) event(e sfnlocal.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case sfnlocal.IterationStarted:
		p.started++
	case sfnlocal.IterationSucceeded, sfnlocal.IterationFailed:
		p.finished++
	default:
		return
	}
	pct := p.percent()
	if p.bar != nil {
		p.bar.Describe(p.label())
		_ = p.bar.Set(pct)
	}
}

// total is what is known now: the plan, or more once top-ups started more.
func (p *progress) total() int { return max(p.expected, p.started) }

// percent is finished/total, held at its highest so far: a top-up that
// raises the total pauses the bar instead of pulling it back.
func (p *progress) percent() int {
	if t := p.total(); t > 0 {
		p.pct = max(p.pct, min(100, 100*p.finished/t))
	}
	return p.pct
}

func (p *progress) label() string {
	return fmt.Sprintf("candidates %d/%d", p.finished, p.total())
}

// done is how many candidates' iterations ended.
func (p *progress) done() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.finished
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
