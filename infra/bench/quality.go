package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/provider/procedural"
	"github.com/designerbff/pipeline/shared/quality"
)

// The calibration set. Every clean image is degraded by known amounts; a
// "clear" level is one a designer would reject at a glance and counts
// toward defect_recall, a "mild" level is reported but not counted (the
// validator may pass it). Sizes are in working-size terms where the metric
// is computed on the working plane (blur) and in full-size levels where it
// is computed at full size (noise, JPEG quality).
type degradation struct {
	defect string // the defect and the reason code that must be present
	level  string // "clear" or "mild"
	label  string // what was done, for the report
	apply  func(img *image.NRGBA, long int) *image.NRGBA
	jpegQ  int  // > 0: encode as JPEG at this quality instead of the clean encoding
	colour bool // only for images whose colours can be shifted (colourfulness ≥ minShiftColour)
}

// minShiftColour is the colourfulness under which a palette shift changes
// too little to call "clear": greys stay grey under a hue rotation.
const minShiftColour = 20

var degradations = []degradation{
	{defect: quality.ReasonBlurry, level: "clear", label: "Gaussian blur σ = 3 px at the 512 px working size",
		apply: func(img *image.NRGBA, long int) *image.NRGBA { return gaussianBlur(img, 3*float64(long)/512) }},
	{defect: quality.ReasonBlurry, level: "mild", label: "Gaussian blur σ = 1 px at working size",
		apply: func(img *image.NRGBA, long int) *image.NRGBA { return gaussianBlur(img, float64(long)/512) }},
	{defect: quality.ReasonNoisy, level: "clear", label: "Gaussian noise σ = 24 levels per channel (full size)",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return addNoise(img, 24) }},
	{defect: quality.ReasonNoisy, level: "mild", label: "Gaussian noise σ = 8 levels per channel",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return addNoise(img, 8) }},
	{defect: quality.ReasonUnderexposed, level: "clear", label: "gamma 3, then scaled to a mean luma of 0.10",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return toMeanLuma(mapChannels(img, gammaOf(3)), 0.10) }},
	{defect: quality.ReasonUnderexposed, level: "mild", label: "gamma 1.5",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA {
			return mapChannels(img, func(v float64) float64 { return 255 * math.Pow(v/255, 1.5) })
		}},
	{defect: quality.ReasonOverexposed, level: "clear", label: "gain so the 35th percentile of the darkest channel reaches white (≥ 65 % of pixels clipped)",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return clipAbove(img, 0.35) }},
	{defect: quality.ReasonOverexposed, level: "mild", label: "gamma 0.6",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA {
			return mapChannels(img, func(v float64) float64 { return 255 * math.Pow(v/255, 0.6) })
		}},
	{defect: quality.ReasonBlocky, level: "clear", label: "JPEG quality 5",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return img }, jpegQ: 5},
	{defect: quality.ReasonBlocky, level: "mild", label: "JPEG quality 30",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return img }, jpegQ: 30},
	{defect: quality.ReasonBlank, level: "clear", label: "blanked to the mean colour ±1 level",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return blanked(img) }},
	{defect: quality.ReasonOffPalette, level: "clear", label: "hue rotated 180° (a*, b* negated), same lightness",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return hueFlip(img, 1) }, colour: true},
	{defect: quality.ReasonOffPalette, level: "mild", label: "chroma shifted a quarter of the way to the opposite hue",
		apply: func(img *image.NRGBA, _ int) *image.NRGBA { return hueFlip(img, 0.25) }, colour: true},
}

// sample is one clean image of the set with its encoding and reference.
type sample struct {
	name   string
	source string // "procedural" or "photo"
	img    *image.NRGBA
	ref    []generation.Color
	jpeg   bool // clean encoding: JPEG q92 (photos) or PNG
}

type benchOutcome struct {
	defect, level, label string
	n, detected, failed  int
	misses               []string
	values               []float64 // the defect's key metric on each image
}

// keyMetric is the metric each defect's reason is decided on.
var keyMetric = map[string]string{
	quality.ReasonBlurry:       quality.MetricLaplacianVar,
	quality.ReasonNoisy:        quality.MetricNoiseSigma,
	quality.ReasonUnderexposed: quality.MetricMeanLuma,
	quality.ReasonOverexposed:  quality.MetricClipHigh,
	quality.ReasonBlocky:       quality.MetricBlockiness,
	quality.ReasonBlank:        quality.MetricLumaStd,
	quality.ReasonOffPalette:   quality.MetricPaletteDistance,
}

// spread is "min / median / max" of vs.
func spread(vs []float64) string {
	if len(vs) == 0 {
		return "–"
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return fmt.Sprintf("%.3g / %.3g / %.3g", s[0], s[len(s)/2], s[len(s)-1])
}

func qualityCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "prepare" && args[0] != "report") {
		return errors.New("quality: usage: go run ./infra/bench quality prepare|report [flags]")
	}
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".local/bench-quality", "scratch folder (gitignored)")
	photos := fs.String("photos", "/usr/share/backgrounds/mate/nature", "folder of real photographs (Debian mate-backgrounds)")
	benchFile := fs.String("bench", "", "output of `go test -bench -cpu 1` on shared/quality")
	out := fs.String("out", "docs/quality-benchmark.md", "report to write")
	python := fs.String("python", "/usr/bin/python3", "python with OpenCV (python3-opencv) for the outside reference; skipped if absent")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	if args[0] == "prepare" {
		return prepareBenchFiles(*photos, *dir, stdout)
	}
	return benchQualityReport(ctx, *dir, *photos, *benchFile, *out, *python, stdout)
}

// prepareBenchFiles writes the 1024×1024 files the Go benchmarks and the
// OpenCV reference time: a centre crop of the first photograph, as JPEG q90
// and PNG.
func prepareBenchFiles(photos, dir string, stdout io.Writer) error {
	files, err := photoFiles(photos)
	if err != nil {
		return err
	}
	img, err := loadPhoto(files[0], 0)
	if err != nil {
		return err
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	crop := img.SubImage(image.Rect(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2, b.Min.X+(b.Dx()+side)/2, b.Min.Y+(b.Dy()+side)/2))
	sq := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	xdraw.CatmullRom.Scale(sq, sq.Rect, crop, crop.Bounds(), xdraw.Src, nil)
	var jb, pb bytes.Buffer
	if err := jpeg.Encode(&jb, sq, &jpeg.Options{Quality: 90}); err != nil {
		return fmt.Errorf("bench-quality: encode jpeg: %w", err)
	}
	if err := png.Encode(&pb, sq); err != nil {
		return fmt.Errorf("bench-quality: encode png: %w", err)
	}
	for name, data := range map[string][]byte{"bench1024.jpg": jb.Bytes(), "bench1024.png": pb.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("bench-quality: %w", err)
		}
	}
	fmt.Fprintf(stdout, "wrote %s/bench1024.{jpg,png} from %s\n", dir, filepath.Base(files[0]))
	return nil
}

func photoFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("bench-quality: no photographs in %s (install Debian's mate-backgrounds: make bench-quality does)", dir)
	}
	sort.Strings(files)
	return files, nil
}

// loadPhoto decodes a photograph and, when long > 0, scales it to that long
// side (generator-sized; it also removes the file's own JPEG grid).
func loadPhoto(path string, long int) (*image.NRGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench-quality: %w", err)
	}
	defer f.Close()
	src, err := jpeg.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("bench-quality: decode %s: %w", path, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if long > 0 {
		w, h = w*long/max(w, h), h*long/max(w, h)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Rect, src, b, xdraw.Src, nil)
	return dst, nil
}

// calibrationSet is the clean half: procedural images (the request palette is
// the reference, as in the pipeline) and photographs (their own palette is
// the reference, as if the user had uploaded them).
func calibrationSet(ctx context.Context, photos string) ([]sample, error) {
	var set []sample
	gen := procedural.New(procedural.Options{NoDefects: true})
	prompts := []string{"navy wool coat", "linen summer dress", "leather boots", "silk scarf", "denim jacket", "knitted jumper"}
	palettes := [][]generation.Color{
		nil, // the provider's fallback palette
		{{R: 20, G: 30, B: 90, Weight: 0.6}, {R: 230, G: 220, B: 200, Weight: 0.4}},
		{{R: 200, G: 60, B: 50, Weight: 0.5}, {R: 240, G: 240, B: 235, Weight: 0.3}, {R: 30, G: 30, B: 30, Weight: 0.2}},
		{{R: 90, G: 140, B: 80, Weight: 0.5}, {R: 220, G: 200, B: 150, Weight: 0.5}},
	}
	for i := range 24 {
		side := 512
		if i%2 == 1 {
			side = 1024
		}
		pal := palettes[i%len(palettes)]
		got, err := gen.Generate(ctx, generation.ProviderRequest{
			Prompt: prompts[i%len(prompts)], Seed: int64(1000 + i), Width: side, Height: side * 3 / 4, ReferencePalette: pal,
		})
		if err != nil {
			return nil, fmt.Errorf("bench-quality: procedural: %w", err)
		}
		img, _, err := image.Decode(bytes.NewReader(got.Bytes))
		if err != nil {
			return nil, fmt.Errorf("bench-quality: decode procedural: %w", err)
		}
		ref := pal
		if ref == nil {
			ref = quality.Palette(img) // no request palette: judge against what it drew
		}
		set = append(set, sample{name: fmt.Sprintf("procedural-%02d-%d", i, side), source: "procedural", img: toNRGBA(img), ref: ref})
	}
	files, err := photoFiles(photos)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		img, err := loadPhoto(f, 1024)
		if err != nil {
			return nil, err
		}
		set = append(set, sample{name: "photo-" + strings.TrimSuffix(filepath.Base(f), ".jpg"), source: "photo",
			img: img, ref: quality.Palette(img), jpeg: true})
	}
	return set, nil
}

func benchQualityReport(ctx context.Context, dir, photos, benchFile, out, python string, stdout io.Writer) error {
	set, err := calibrationSet(ctx, photos)
	if err != nil {
		return err
	}
	v := quality.New(0)
	judge := func(s sample, img *image.NRGBA, jpegQ int) (generation.Verdict, time.Duration, error) {
		data, err := encodeSample(img, s.jpeg, jpegQ)
		if err != nil {
			return generation.Verdict{}, 0, err
		}
		start := time.Now()
		vd, err := v.Validate(ctx, data, generation.ValidationSpec{Reference: generation.ReferenceFeatures{Palette: s.ref}})
		return vd, time.Since(start), err
	}

	var cleanFails []string
	cleanBySource := map[string][2]int{} // source → {n, failed}
	var elapsed time.Duration
	var judged int
	cleanVerdicts := make([]generation.Verdict, len(set))
	colourful := make([]bool, len(set))
	for i, s := range set {
		vd, d, err := judge(s, s.img, 0)
		if err != nil {
			return fmt.Errorf("bench-quality: %s: %w", s.name, err)
		}
		elapsed += d
		judged++
		cleanVerdicts[i] = vd
		colourful[i] = vd.Metrics[quality.MetricColourfulness] >= minShiftColour
		c := cleanBySource[s.source]
		c[0]++
		if !vd.Passed {
			c[1]++
			cleanFails = append(cleanFails, fmt.Sprintf("%s (%.1f: %s)", s.name, vd.Score, strings.Join(vd.Reasons, ", ")))
		}
		cleanBySource[s.source] = c
	}

	var outcomes []benchOutcome
	for _, dg := range degradations {
		o := benchOutcome{defect: dg.defect, level: dg.level, label: dg.label}
		for i, s := range set {
			if dg.colour && !colourful[i] {
				continue
			}
			long := max(s.img.Rect.Dx(), s.img.Rect.Dy())
			vd, d, err := judge(s, dg.apply(s.img, long), dg.jpegQ)
			if err != nil {
				return fmt.Errorf("bench-quality: %s %s: %w", s.name, dg.label, err)
			}
			elapsed += d
			judged++
			o.n++
			if k, ok := keyMetric[dg.defect]; ok {
				if x, ok := vd.Metrics[k]; ok {
					o.values = append(o.values, x)
				}
			}
			if !vd.Passed {
				o.failed++
			}
			if !vd.Passed && slices.Contains(vd.Reasons, dg.defect) {
				o.detected++
			} else {
				o.misses = append(o.misses, fmt.Sprintf("%s (%.1f: %s)", s.name, vd.Score, strings.Join(vd.Reasons, ", ")))
			}
		}
		outcomes = append(outcomes, o)
	}

	// Near-duplicates: every clean image next to a re-encoded, slightly
	// brightened, 2 %-cropped copy of itself, all in one generation.
	cands := make([]generation.Candidate, 0, 2*len(set))
	var twinDistances []float64
	for i, s := range set {
		vd := cleanVerdicts[i]
		vd.Passed = true // judge duplicates among all, whatever else failed
		cands = append(cands, generation.Candidate{ID: s.name, Index: 2 * i, Verdict: &vd})
		twin, d, err := judge(s, nearCopy(s.img), 80)
		if err != nil {
			return fmt.Errorf("bench-quality: %s twin: %w", s.name, err)
		}
		elapsed += d
		judged++
		twin.Passed = true
		if d, ok := quality.FingerprintDistance(vd.Fingerprint, twin.Fingerprint); ok {
			twinDistances = append(twinDistances, float64(d))
		}
		cands = append(cands, generation.Candidate{ID: s.name + "~twin", Index: 2*i + 1, Verdict: &twin})
	}
	_, marked := generation.MarkDuplicates(cands, v.SameImage)
	dupPairs, falseDup := 0, 0
	pairMarked := map[string]bool{}
	for _, id := range marked {
		pairMarked[strings.TrimSuffix(id, "~twin")] = true
	}
	for _, s := range set {
		if pairMarked[s.name] {
			dupPairs++
		}
	}
	// A clean image is a false duplicate when it matches another clean one.
	var falseDupNames []string
	var cleanDistances []float64
	for i := range set {
		for j := i + 1; j < len(set); j++ {
			if d, ok := quality.FingerprintDistance(cleanVerdicts[i].Fingerprint, cleanVerdicts[j].Fingerprint); ok {
				cleanDistances = append(cleanDistances, float64(d))
			}
		}
		for j := range set {
			if i != j && v.SameImage(cleanVerdicts[i], cleanVerdicts[j]) {
				falseDup++
				falseDupNames = append(falseDupNames, set[i].name)
				break
			}
		}
	}
	outcomes = append(outcomes, benchOutcome{defect: generation.ReasonDuplicate, level: "clear",
		label: "JPEG q80, +6 levels, 2 % crop of an image in the same generation", n: len(set), detected: dupPairs, failed: dupPairs,
		values: twinDistances})

	// Timings.
	timings, err := readBench(benchFile)
	if err != nil {
		return err
	}
	cv, cvErr := opencvReference(python, dir)

	var clearN, clearHit int
	for _, o := range outcomes {
		if o.level == "clear" {
			clearN += o.n
			clearHit += o.detected
		}
	}
	var cleanN, cleanFailed int
	for _, c := range cleanBySource {
		cleanN += c[0]
		cleanFailed += c[1]
	}
	recall := float64(clearHit) / float64(clearN)
	fr := float64(cleanFailed+falseDup) / float64(cleanN)

	var md strings.Builder
	fmt.Fprintf(&md, "# Validator calibration and speed (%s)\n\n", quality.New(0).Version())
	md.WriteString("Generated by `make bench-quality` (`go run ./infra/bench quality report`); do not edit by hand.\n\n")
	fmt.Fprintf(&md, "## Set\n\n- %d clean images: %d procedural (the embedded provider, no defects, 512 and 1024 px, PNG; reference = the request palette) and %d photographs from Debian's `mate-backgrounds` (GPL-2+, `/usr/share/backgrounds/mate/nature`, scaled to 1024 px, JPEG q92; reference = their own palette). Nothing is downloaded or committed.\n", cleanN, cleanBySource["procedural"][0], cleanBySource["photo"][0])
	md.WriteString("- Each is degraded by known amounts. **Clear** levels (counted in `defect_recall`) are ones a designer rejects at a glance; **mild** ones are reported only. Palette shifts are applied only to images with colourfulness ≥ 20 (a hue rotation leaves greys grey).\n")
	md.WriteString("- A degraded image counts as detected when it fails **and** carries the defect's reason code.\n\n")
	md.WriteString("## Detection\n\nKey metric: min / median / max over the images (for `duplicate`: dHash Hamming distance between twins).\n\n| defect (reason) | level | degradation | images | detected with the reason | failed (any reason) | key metric |\n|---|---|---|---|---|---|---|\n")
	for _, o := range outcomes {
		fmt.Fprintf(&md, "| `%s` | %s | %s | %d | %d (%.0f %%) | %d | %s |\n", o.defect, o.level, o.label, o.n, o.detected, pct(o.detected, o.n), o.failed, spread(o.values))
	}
	md.WriteString("\nThe same metrics on the clean images:\n\n| metric | min / median / max |\n|---|---|\n")
	for _, k := range []string{quality.MetricLaplacianVar, quality.MetricNoiseSigma, quality.MetricMeanLuma, quality.MetricClipHigh, quality.MetricBlockiness, quality.MetricLumaStd, quality.MetricPaletteDistance, quality.MetricColourfulness} {
		var vs []float64
		for _, vd := range cleanVerdicts {
			if x, ok := vd.Metrics[k]; ok {
				vs = append(vs, x)
			}
		}
		fmt.Fprintf(&md, "| `%s` | %s |\n", k, spread(vs))
	}
	fmt.Fprintf(&md, "| dHash distance between distinct clean images | %s |\n", spread(cleanDistances))
	fmt.Fprintf(&md, "\n**Clear defects detected with the right reason: %d of %d (%.1f %%).**\n\n", clearHit, clearN, 100*recall)
	md.WriteString("## Clean images\n\n| source | images | failed |\n|---|---|---|\n")
	for _, src := range []string{"procedural", "photo"} {
		c := cleanBySource[src]
		fmt.Fprintf(&md, "| %s | %d | %d |\n", src, c[0], c[1])
	}
	fmt.Fprintf(&md, "\nFalse duplicates among distinct clean images: %d. **Clean false-reject rate: %d of %d (%.1f %%).**\n", falseDup, cleanFailed+falseDup, cleanN, 100*fr)
	if len(cleanFails)+len(falseDupNames) > 0 {
		md.WriteString("\nClean images that failed: " + strings.Join(append(cleanFails, falseDupNames...), "; ") + ".\n")
	}
	md.WriteString("\n### Misses at clear levels\n\n")
	anyMiss := false
	for _, o := range outcomes {
		if o.level == "clear" && len(o.misses) > 0 {
			anyMiss = true
			fmt.Fprintf(&md, "- `%s`: %s\n", o.defect, strings.Join(o.misses, "; "))
		}
	}
	if !anyMiss {
		md.WriteString("None.\n")
	}
	md.WriteString("\n## Speed (one core)\n\n")
	md.WriteString("`go test -run '^$' -bench 1024 -cpu 1 ./shared/quality` on 1024×1024 files made by `go run ./infra/bench quality prepare` (a centre crop of a photograph; WebP is the same pixels as lossless VP8L, since x/image has no encoder). CPU ms/op is the process's CPU time per operation (getrusage) on one core; the summary uses it because this machine is shared and wall time includes waiting for the core. `Metrics1024/*` runs every check on an already decoded image of that format (the decoder's own image type) with a reference palette, and the summary's `metrics_ms_1024` is the slowest of the three; `Validate1024/*` is decode + every check; `Decode1024/*` is decoding alone, with the validator's decoders: the standard library's image/jpeg and image/png, and x/image/webp. Each figure is the median of the runs shown (`-count`), because this machine's speed drifts by a third between runs.\n\n| benchmark | runs | CPU ms/op | wall ms/op |\n|---|---|---|---|\n")
	for _, t := range timings {
		cpu := "–"
		if t.cpuSeen {
			cpu = fmt.Sprintf("%.2f", t.ms)
		}
		fmt.Fprintf(&md, "| `%s` | %d | %s | %.2f |\n", t.name, t.runs, cpu, t.wallMS)
	}
	if len(timings) == 0 {
		md.WriteString("| (no benchmark output given: pass --bench) | | | |\n")
	}
	fmt.Fprintf(&md, "\nWhole calibration run: %d images validated (decode + metrics) in %.2f s, %.1f ms each on average, sizes 384–1024 px.\n", judged, elapsed.Seconds(), float64(elapsed.Milliseconds())/float64(judged))
	md.WriteString("\n### Outside reference: OpenCV\n\n")
	if cvErr != nil {
		fmt.Fprintf(&md, "Not measured: %v.\n", cvErr)
	} else {
		fmt.Fprintf(&md, "OpenCV %s (Debian `python3-opencv`, `cv2.setNumThreads(1)`), same files: `cv2.imread(…, IMREAD_GRAYSCALE)` + `cv2.Laplacian(…, CV_64F).var()` — the sharpness metric alone, at full size; process CPU time per op, median of 7 runs of 10:\n\n| file | CPU ms/op |\n|---|---|\n", cv.Version)
		for _, k := range []string{"jpeg", "png"} {
			fmt.Fprintf(&md, "| %s | %.2f |\n", k, cv.MS[k])
		}
	}
	// The metrics' figure is the slowest format's: PNG and WebP decode to
	// RGBA, whose luma costs a conversion per pixel that a JPEG's Y plane
	// does not.
	metricsJPEG, metricsPNG, metricsWebP := benchMS(timings, "BenchmarkMetrics1024/jpeg"), benchMS(timings, "BenchmarkMetrics1024/png"), benchMS(timings, "BenchmarkMetrics1024/webp")
	metricsMS := max(metricsJPEG, metricsPNG, metricsWebP)
	summary := fmt.Sprintf("defect_recall=%.3f clean_false_reject=%.3f metrics_ms_1024=%.1f jpeg_decode_metrics_ms_1024=%.1f png_decode_metrics_ms_1024=%.1f webp_decode_metrics_ms_1024=%.1f metrics_jpeg_png_webp_ms_1024=%.1f/%.1f/%.1f",
		recall, fr, metricsMS, benchMS(timings, "BenchmarkValidate1024/jpeg"), benchMS(timings, "BenchmarkValidate1024/png"), benchMS(timings, "BenchmarkValidate1024/webp"),
		metricsJPEG, metricsPNG, metricsWebP)
	if cvErr == nil {
		summary += fmt.Sprintf(" opencv_jpeg_decode_laplacian_ms_1024=%.1f", cv.MS["jpeg"])
	}
	fmt.Fprintf(&md, "\n## Summary\n\n```\n%s\n```\n", summary)
	if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	for _, o := range outcomes {
		fmt.Fprintf(stdout, "%-14s %-5s %3d/%-3d %s [%s]\n", o.defect, o.level, o.detected, o.n, o.label, spread(o.values))
		if o.level == "clear" && len(o.misses) > 0 {
			fmt.Fprintf(stdout, "    misses: %s\n", strings.Join(o.misses, "; "))
		}
	}
	if len(cleanFails)+len(falseDupNames) > 0 {
		fmt.Fprintf(stdout, "clean failures: %s\n", strings.Join(append(cleanFails, falseDupNames...), "; "))
	}
	fmt.Fprintf(stdout, "wrote %s\n%s\n", out, summary)
	return nil
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// benchTiming is one benchmark: wall time and process CPU time per op (the
// benchmarks report cpu-ms/op; with -cpu 1 it is one core's work, and on a
// shared machine it is what other processes do not stretch).
type benchTiming struct {
	name    string
	runs    int // runs folded into the medians
	wallMS  float64
	ms      float64 // CPU ms/op, or wall when CPU was not reported
	cpuSeen bool
}

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	cpuField  = regexp.MustCompile(`([\d.]+) cpu-ms/op`)
)

// readBench reads `go test -bench` output; no file: no timings.
func readBench(path string) ([]benchTiming, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench-quality: %w", err)
	}
	defer f.Close()
	var out []benchTiming
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := benchLine.FindStringSubmatch(sc.Text()); m != nil {
			ns, _ := strconv.ParseFloat(m[2], 64)
			t := benchTiming{name: m[1], wallMS: ns / 1e6, ms: ns / 1e6}
			if c := cpuField.FindStringSubmatch(sc.Text()); c != nil {
				t.ms, _ = strconv.ParseFloat(c[1], 64)
				t.cpuSeen = true
			}
			out = append(out, t)
		}
	}
	return medianTimings(out), sc.Err()
}

// medianTimings folds repeated runs of a benchmark (-count k) into one
// timing, the median of each figure, keeping the first-seen order: this
// machine's speed drifts between runs, and a median of several is what a
// reader can reproduce.
func medianTimings(ts []benchTiming) []benchTiming {
	var order []string
	runs := map[string][]benchTiming{}
	for _, t := range ts {
		if _, seen := runs[t.name]; !seen {
			order = append(order, t.name)
		}
		runs[t.name] = append(runs[t.name], t)
	}
	median := func(rs []benchTiming, f func(benchTiming) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if n := len(v); n%2 == 0 {
			return (v[n/2-1] + v[n/2]) / 2
		}
		return v[len(v)/2]
	}
	out := make([]benchTiming, 0, len(order))
	for _, name := range order {
		rs := runs[name]
		out = append(out, benchTiming{
			name:    name,
			runs:    len(rs),
			wallMS:  median(rs, func(t benchTiming) float64 { return t.wallMS }),
			ms:      median(rs, func(t benchTiming) float64 { return t.ms }),
			cpuSeen: rs[0].cpuSeen,
		})
	}
	return out
}

func benchMS(ts []benchTiming, name string) float64 {
	for _, t := range ts {
		if t.name == name {
			return t.ms
		}
	}
	return math.NaN()
}

type opencvTimes struct {
	Version string             `json:"version"`
	MS      map[string]float64 `json:"ms"`
}

// opencvScript times decode + Laplacian variance on the bench files with one
// thread, the median of several runs per file (as the Go figures are).
const opencvScript = `
import cv2, json, sys, time
cv2.setNumThreads(1)
out = {"version": cv2.__version__, "ms": {}}
for kind, path in (("jpeg", sys.argv[1] + "/bench1024.jpg"), ("png", sys.argv[1] + "/bench1024.png")):
    runs = []
    for _ in range(7):
        t = time.process_time()
        for _ in range(10):
            g = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            cv2.Laplacian(g, cv2.CV_64F).var()
        runs.append((time.process_time() - t) / 10)
    out["ms"][kind] = sorted(runs)[len(runs) // 2] * 1000
print(json.dumps(out))
`

func opencvReference(python, dir string) (opencvTimes, error) {
	var t opencvTimes
	if _, err := os.Stat(filepath.Join(dir, "bench1024.jpg")); err != nil {
		return t, errors.New("no bench files (run go run ./infra/bench quality prepare)")
	}
	out, err := exec.Command(python, "-c", opencvScript, dir).Output()
	if err != nil {
		return t, fmt.Errorf("%s with cv2 unavailable (%v)", python, err)
	}
	if err := json.Unmarshal(out, &t); err != nil {
		return t, fmt.Errorf("read OpenCV timings: %w", err)
	}
	return t, nil
}

func encodeSample(img *image.NRGBA, asJPEG bool, jpegQ int) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	switch {
	case jpegQ > 0:
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQ})
	case asJPEG:
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
	default:
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fmt.Errorf("encode sample: %w", err)
	}
	return buf.Bytes(), nil
}

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok {
		return n
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(out, out.Rect, img, b.Min, xdraw.Src)
	return out
}

func clampByte(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

func mapChannels(img *image.NRGBA, f func(float64) float64) *image.NRGBA {
	var lut [256]uint8
	for v := range lut {
		lut[v] = clampByte(f(float64(v)))
	}
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = lut[img.Pix[i]], lut[img.Pix[i+1]], lut[img.Pix[i+2]], img.Pix[i+3]
	}
	return out
}

func gammaOf(g float64) func(float64) float64 {
	return func(v float64) float64 { return 255 * math.Pow(v/255, g) }
}

func lumaOf(p []uint8) float64 {
	return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
}

// toMeanLuma scales the channels so the mean luma is at most target (0–1).
func toMeanLuma(img *image.NRGBA, target float64) *image.NRGBA {
	var sum float64
	for i := 0; i < len(img.Pix); i += 4 {
		sum += lumaOf(img.Pix[i:])
	}
	mean := sum / float64(len(img.Pix)/4) / 255
	k := min(1, target/max(mean, 1e-9))
	return mapChannels(img, func(v float64) float64 { return v * k })
}

// clipAbove applies the gain that takes quantile q of each pixel's darkest
// channel to white, so at least 1−q of the pixels clip to (255, 255, 255).
func clipAbove(img *image.NRGBA, q float64) *image.NRGBA {
	var hist [256]int
	n := len(img.Pix) / 4
	for i := 0; i < len(img.Pix); i += 4 {
		hist[min(img.Pix[i], img.Pix[i+1], img.Pix[i+2])]++
	}
	level, seen := 1, 0
	for v, c := range hist {
		seen += c
		if float64(seen) >= q*float64(n) {
			level = max(1, v)
			break
		}
	}
	gain := 255 / float64(level)
	return mapChannels(img, func(v float64) float64 { return v * gain })
}

func addNoise(img *image.NRGBA, sigma float64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(uint64(len(img.Pix)), 99))
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		for ch := range 3 {
			out.Pix[i+ch] = clampByte(float64(img.Pix[i+ch]) + sigma*rng.NormFloat64())
		}
		out.Pix[i+3] = img.Pix[i+3]
	}
	return out
}

func blanked(img *image.NRGBA) *image.NRGBA {
	var sum [3]float64
	n := float64(len(img.Pix) / 4)
	for i := 0; i < len(img.Pix); i += 4 {
		for ch := range 3 {
			sum[ch] += float64(img.Pix[i+ch])
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(out.Pix); i += 4 {
		j := float64(rng.IntN(3) - 1)
		for ch := range 3 {
			out.Pix[i+ch] = clampByte(sum[ch]/n + j)
		}
		out.Pix[i+3] = 255
	}
	return out
}

// hueFlip moves every pixel's chroma towards its opposite in YCbCr (k = 1:
// Cb and Cr negated, a 180° hue rotation at the same luma).
func hueFlip(img *image.NRGBA, k float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b := float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2])
		y := 0.299*r + 0.587*g + 0.114*b
		cb, cr := -0.168736*r-0.331264*g+0.5*b, 0.5*r-0.418688*g-0.081312*b
		s := 1 - 2*k
		cb, cr = cb*s, cr*s
		out.Pix[i] = clampByte(y + 1.402*cr)
		out.Pix[i+1] = clampByte(y - 0.344136*cb - 0.714136*cr)
		out.Pix[i+2] = clampByte(y + 1.772*cb)
		out.Pix[i+3] = img.Pix[i+3]
	}
	return out
}

// nearCopy is what a provider returns twice: 2 % cropped off each side and
// scaled back, 6 levels brighter (re-encoded as JPEG q80 by the caller).
func nearCopy(img *image.NRGBA) *image.NRGBA {
	b := img.Rect
	dx, dy := b.Dx()/50, b.Dy()/50
	out := image.NewNRGBA(b)
	xdraw.ApproxBiLinear.Scale(out, b, img, image.Rect(dx, dy, b.Dx()-dx, b.Dy()-dy), xdraw.Src, nil)
	return mapChannels(out, func(v float64) float64 { return v + 6 })
}

// gaussianBlur blurs R, G and B with a separable Gaussian of sigma px.
func gaussianBlur(img *image.NRGBA, sigma float64) *image.NRGBA {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	tmp := make([]float64, 4*w*h)
	for y := range h {
		for x := range w {
			var acc [3]float64
			for j, kv := range k {
				xx := min(w-1, max(0, x+j-r))
				p := img.Pix[y*img.Stride+4*xx:]
				acc[0], acc[1], acc[2] = acc[0]+kv*float64(p[0]), acc[1]+kv*float64(p[1]), acc[2]+kv*float64(p[2])
			}
			copy(tmp[4*(y*w+x):], acc[:])
		}
	}
	out := image.NewNRGBA(img.Rect)
	for y := range h {
		for x := range w {
			var acc [3]float64
			for j, kv := range k {
				yy := min(h-1, max(0, y+j-r))
				p := tmp[4*(yy*w+x):]
				acc[0], acc[1], acc[2] = acc[0]+kv*p[0], acc[1]+kv*p[1], acc[2]+kv*p[2]
			}
			o := out.Pix[y*out.Stride+4*x:]
			o[0], o[1], o[2], o[3] = clampByte(acc[0]), clampByte(acc[1]), clampByte(acc[2]), img.Pix[y*img.Stride+4*x+3]
		}
	}
	return out
}
