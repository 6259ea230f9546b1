package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/designerbff/pipeline/infra/bench/bufsim"
)

// bufferCommand runs the buffer simulation over bufsim.Grid (every
// cell from its own seed, so the report is reproducible), times Recalibrate
// on a big history, writes the report and the chart, and prints the summary
// as its last line.
func bufferCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("buffer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	requests := fs.Int("requests", 20000, "simulated requests per cell")
	out := fs.String("out", "docs", "directory of buffer-benchmark.md and buffer-benchmark.svg")
	rows := fs.Int("recalibrate-rows", 1_000_000, "validation rows to time Recalibrate on (0: skip)")
	runs := fs.Int("recalibrate-runs", 5, "Recalibrate runs to time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *requests < 1 || *rows < 0 || *runs < 2 {
		return fmt.Errorf("bench-buffer: --requests must be positive, --recalibrate-rows not negative, --recalibrate-runs at least 2")
	}

	start := time.Now()
	results, err := simulateGrid(ctx, *requests, stdout)
	if err != nil {
		return err
	}
	simTime := time.Since(start)

	var timing *recalibrateTiming
	if *rows > 0 {
		t, err := benchRecalibrate(ctx, *rows, *runs, stdout)
		if err != nil {
			return fmt.Errorf("bench-buffer: recalibrate: %w", err)
		}
		timing = &t
	}

	sum := summarise(results)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("bench-buffer: %w", err)
	}
	md := renderBufferReport(results, sum, timing, *requests, simTime)
	mdPath := filepath.Join(*out, "buffer-benchmark.md")
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return fmt.Errorf("bench-buffer: %w", err)
	}
	svgPath := filepath.Join(*out, "buffer-benchmark.svg")
	svg, err := renderBufferChart(results, *requests)
	if err != nil {
		return fmt.Errorf("bench-buffer: %w", err)
	}
	if err := os.WriteFile(svgPath, svg, 0o644); err != nil {
		return fmt.Errorf("bench-buffer: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s and %s (simulation %v)\n", mdPath, svgPath, simTime.Round(time.Second))
	fmt.Fprintln(stdout, sum.line(timing))
	return nil
}

// simulateGrid runs every cell on GOMAXPROCS workers, printing progress.
func simulateGrid(ctx context.Context, requests int, progress io.Writer) ([]bufsim.CellResult, error) {
	cells := bufsim.Grid()
	results := make([]bufsim.CellResult, len(cells))
	jobs := make(chan int)
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				results[i] = bufsim.Simulate(cells[i], requests, uint64(i)+1)
				mu.Lock()
				done++
				if done%36 == 0 || done == len(cells) {
					fmt.Fprintf(progress, "simulation: %d/%d cells (%d requests each), %v\n",
						done, len(cells), requests, time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		})
	}
	var err error
feed:
	for i := range cells {
		select {
		case jobs <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("bench-buffer: %w", err)
	}
	return results, nil
}

// benchSummary is what the "Done when" checks, from one run.
type benchSummary struct {
	worstOurs, worstEarlier, worstFixed bufsim.CellResult // lowest first-round delivery, n ≥ 20
	worstMargin                         bufsim.CellResult // lowest exact delivery − c for ours, n ≥ 20
	worstSimMargin                      bufsim.CellResult // the same, simulated
	n200, n2000                         imagesCheck       // ours' images / M*, n = 200 (p ≤ 0.5) against 1.10 and n = 2000 against 1.03
	minTopUp                            bufsim.CellResult // ours' lowest top-up delivery where no request was capped
	deliveryMisses                      int               // n ≥ 20 cells with delivery < c − 0.01
	topUpMisses                         int               // uncapped cells below 100 %
}

func ratio(r bufsim.CellResult) float64 { return r.Ours.FirstImages / float64(r.Oracle) }

// overSlack is the images criterion (proposed by the buffer issue's closing
// note, adopted by issue 15): ours may plan bound·M* or one image over M*,
// whichever is more. Where M* is a few
// images and P(M*) sits within the posterior's uncertainty of c, no history
// can tell whether M* suffices, and one image is all the planner adds; a
// ratio bound alone calls that +100 % at M* = 1.
func overSlack(r bufsim.CellResult, bound float64) bool {
	return r.Ours.FirstImages > max(bound*float64(r.Oracle), float64(r.Oracle+1))
}

func summarise(results []bufsim.CellResult) benchSummary {
	var s benchSummary
	first := true
	for _, r := range results {
		if first {
			s.worstOurs, s.worstEarlier, s.worstFixed, s.worstMargin, s.worstSimMargin, s.minTopUp = r, r, r, r, r, r
			s.n200.max, s.n2000.max = r, r
			s.n200.max.Oracle, s.n2000.max.Oracle = 1<<30, 1<<30 // ratio ≈ 0 until a real cell
			first = false
		}
		if r.Ours.Capped == 0 {
			if r.Ours.TopUpDelivery < s.minTopUp.Ours.TopUpDelivery || s.minTopUp.Ours.Capped > 0 {
				s.minTopUp = r
			}
			if r.Ours.TopUpDelivery < 1 {
				s.topUpMisses++
			}
		}
		if r.History < 20 {
			continue
		}
		if r.Ours.FirstDelivery < s.worstOurs.Ours.FirstDelivery || s.worstOurs.History < 20 {
			s.worstOurs = r
		}
		if r.Earlier.FirstDelivery < s.worstEarlier.Earlier.FirstDelivery || s.worstEarlier.History < 20 {
			s.worstEarlier = r
		}
		if r.Fixed.FirstDelivery < s.worstFixed.Fixed.FirstDelivery || s.worstFixed.History < 20 {
			s.worstFixed = r
		}
		if r.OursExact-r.Confidence < s.worstMargin.OursExact-s.worstMargin.Confidence || s.worstMargin.History < 20 {
			s.worstMargin = r
		}
		if r.Ours.FirstDelivery-r.Confidence < s.worstSimMargin.Ours.FirstDelivery-s.worstSimMargin.Confidence || s.worstSimMargin.History < 20 {
			s.worstSimMargin = r
		}
		if r.OursExact < r.Confidence-0.01 {
			s.deliveryMisses++
		}
		if r.History == 200 && r.Fail <= 0.5 {
			s.n200.add(r, 1.10)
		}
		if r.History == 2000 {
			s.n2000.add(r, 1.03)
		}
	}
	return s
}

func (s benchSummary) line(t *recalibrateTiming) string {
	fields := []string{
		fmt.Sprintf("worst_delivery_ours=%.3f", s.worstOurs.Ours.FirstDelivery),
		fmt.Sprintf("worst_margin_ours_exact=%+.4f", s.worstMargin.OursExact-s.worstMargin.Confidence),
		fmt.Sprintf("worst_margin_ours_simulated=%+.4f", s.worstSimMargin.Ours.FirstDelivery-s.worstSimMargin.Confidence),
		fmt.Sprintf("worst_delivery_earlier=%.3f", s.worstEarlier.Earlier.FirstDelivery),
		fmt.Sprintf("worst_delivery_fixed20=%.3f", s.worstFixed.Fixed.FirstDelivery),
		fmt.Sprintf("max_images_ratio_n200=%.2f", ratio(s.n200.max)),
		fmt.Sprintf("max_images_ratio_n2000=%.2f", ratio(s.n2000.max)),
		fmt.Sprintf("topup_delivery=%.3f", s.minTopUp.Ours.TopUpDelivery),
		fmt.Sprintf("cells_below_c_minus_0.01=%d", s.deliveryMisses),
		fmt.Sprintf("cells_ratio_over_1.10_n200=%d", s.n200.misses),
		fmt.Sprintf("cells_ratio_over_1.03_n2000=%d", s.n2000.misses),
		fmt.Sprintf("cells_over_images_criterion_n200=%d", s.n200.slackMisses),
		fmt.Sprintf("cells_over_images_criterion_n2000=%d", s.n2000.slackMisses),
	}
	if t != nil {
		fields = append(fields, fmt.Sprintf("recalibrate_%dk_rows_ms=%.2f", t.ValidationRows/1000, float64(t.median().Microseconds())/1000))
	}
	return strings.Join(fields, " ")
}

func cellName(r bufsim.CellResult) string {
	return fmt.Sprintf("N=%d, p=%.2f, n=%d, c=%.2f", r.N, r.Fail, r.History, r.Confidence)
}

// machine describes where the benchmark ran.
func machine() string {
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s/%s, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// imagesCheck is the images-vs-M* criterion over one history length: the
// worst cell, and the cells above the pure ratio and above the criterion
// max(ratio·M*, M* + 1).
type imagesCheck struct {
	max                 bufsim.CellResult
	misses, slackMisses int
}

func (c *imagesCheck) add(r bufsim.CellResult, bound float64) {
	if ratio(r) > ratio(c.max) {
		c.max = r
	}
	if ratio(r) > bound {
		c.misses++
	}
	if overSlack(r, bound) {
		c.slackMisses++
	}
}
