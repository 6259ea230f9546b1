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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/designerbff/pipeline/shared/generation"
	"github.com/designerbff/pipeline/shared/quality"
)

// The quality bench has two steps. prepare builds the labelled set (see
// quality_set.go) into files under --dir with a manifest, scores every file
// with OpenCV's BRISQUE (the outside reference; slow, and independent of
// the validator, so it runs once) and writes the 1024×1024 files the Go
// benchmarks time. report validates every file with the current validator
// and writes docs/quality-benchmark.md; it is what to re-run while
// calibrating.

// entry is one file of the prepared set.
type entry struct {
	File   string             `json:"file"`
	Clean  string             `json:"clean"`  // the clean image it comes from
	Kind   string             `json:"kind"`   // the clean image's kind
	Origin string             `json:"origin"` // the picture the clean image was made from
	Family string             `json:"family"` // "" for the clean image itself, "duplicate" for its near-copy
	Level  string             `json:"level"`  // "clean", "strong", "mild" or "twin"
	Ref    []generation.Color `json:"ref"`    // the reference palette it is judged against
}

const (
	levelClean  = "clean"
	levelStrong = "strong"
	levelMild   = "mild"
	levelTwin   = "twin"
)

func qualityCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "fit-nss" {
		return fitNSSCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "scenes" {
		// The report's pipeline section alone (no prepared set needed):
		// what to re-run while changing a check against the reference.
		scenes, err := sceneFalseRejects(ctx, quality.New(0))
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, scenes.markdown())
		return nil
	}
	if len(args) == 0 || (args[0] != "prepare" && args[0] != "report") {
		return errors.New("quality: usage: go run ./infra/bench quality prepare|report|scenes|fit-nss [flags]")
	}
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".local/bench-quality", "scratch folder (gitignored)")
	benchFile := fs.String("bench", "", "output of `go test -bench -cpu 1` on shared/quality")
	out := fs.String("out", "docs/quality-benchmark.md", "report to write")
	python := fs.String("python", "/usr/bin/python3", "python with OpenCV's quality module (python3-opencv, opencv-data) for the BRISQUE reference")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*dir, "set"), 0o755); err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	if args[0] == "prepare" {
		return prepareSet(ctx, *dir, *python, stdout)
	}
	return benchQualityReport(ctx, *dir, *benchFile, *out, stdout)
}

// prepareSet writes every clean image, its degradations and its near-copy,
// the manifest, the BRISQUE scores and the benchmark files.
func prepareSet(ctx context.Context, dir, python string, stdout io.Writer) error {
	set, err := calibrationSet(ctx)
	if err != nil {
		return err
	}
	v := quality.New(0)
	var manifest []entry
	write := func(s sample, family, lvl string, img *image.NRGBA, jpegQ int) error {
		data, err := encodeSample(img, s.jpeg, jpegQ)
		if err != nil {
			return err
		}
		ext := ".png"
		if s.jpeg || jpegQ > 0 {
			ext = ".jpg"
		}
		name := s.name
		if family != "" {
			name += "." + family + "-" + lvl
		}
		if err := os.WriteFile(filepath.Join(dir, "set", name+ext), data, 0o644); err != nil {
			return fmt.Errorf("bench-quality: %w", err)
		}
		manifest = append(manifest, entry{File: name + ext, Clean: s.name, Kind: s.kind, Origin: s.origin, Family: family, Level: lvl, Ref: s.ref})
		return nil
	}
	for _, s := range set {
		if err := write(s, "", levelClean, s.img, 0); err != nil {
			return err
		}
		data, err := encodeSample(s.img, s.jpeg, 0)
		if err != nil {
			return err
		}
		vd, err := v.Validate(ctx, data, generation.ValidationSpec{})
		if err != nil {
			return fmt.Errorf("bench-quality: %w", err)
		}
		colourful := vd.Metrics[quality.MetricColourfulness] >= minShiftColour
		long := max(s.img.Rect.Dx(), s.img.Rect.Dy())
		for _, f := range families {
			if f.colour && !colourful {
				continue
			}
			if err := write(s, f.name, levelStrong, f.strong.apply(s.img, long), f.strong.jpegQ); err != nil {
				return err
			}
			if f.mild != nil {
				if err := write(s, f.name, levelMild, f.mild.apply(s.img, long), f.mild.jpegQ); err != nil {
					return err
				}
			}
		}
		if err := write(s, generation.ReasonDuplicate, levelTwin, nearCopy(s.img), 80); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", s.name)
	}
	data, err := json.MarshalIndent(manifest, "", " ")
	if err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	if err := writeBenchFiles(set, dir); err != nil {
		return err
	}
	start := time.Now()
	cmd := exec.Command(python, "-c", brisqueScript, dir)
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		return fmt.Errorf("bench-quality: BRISQUE with %s (python3-opencv and opencv-data installed?): %w", python, err)
	} else if err := os.WriteFile(filepath.Join(dir, "brisque.json"), out, 0o644); err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %d files, their manifest and BRISQUE scores (%.0f s) to %s\n", len(manifest), time.Since(start).Seconds(), dir)
	return nil
}

// brisqueScript scores every file of the manifest with OpenCV's BRISQUE
// (lower is better) using the LIVE model Debian's opencv-data ships, one
// thread, and prints {"file": score, ...}; it also times the scoring.
const brisqueScript = `
import cv2, json, math, sys, time
cv2.setNumThreads(1)
d = sys.argv[1]
model, rng = "/usr/share/opencv4/quality/brisque_model_live.yml", "/usr/share/opencv4/quality/brisque_range_live.yml"
out, cpu = {}, 0.0
for e in json.load(open(d + "/manifest.json")):
    img = cv2.imread(d + "/set/" + e["file"])
    t = time.process_time()
    s = cv2.quality.QualityBRISQUE_compute(img, model, rng)[0]
    cpu += time.process_time() - t
    out[e["file"]] = s if math.isfinite(s) else 1000.0
out["_cpu_ms_per_image"] = 1000 * cpu / max(1, len(out))
out["_version"] = float(cv2.__version__.replace(".", "")[:3])
print(json.dumps(out))
`

// writeBenchFiles writes the 1024×1024 files the Go benchmarks time: a
// centre crop of the first photograph, as JPEG q90 and PNG.
func writeBenchFiles(set []sample, dir string) error {
	var img *image.NRGBA
	for _, s := range set {
		if s.kind == kindPhoto {
			img = s.img
			break
		}
	}
	if img == nil {
		return errors.New("bench-quality: no photograph in the set")
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
	return nil
}

// judged is one file with its verdict and BRISQUE score.
type judged struct {
	entry
	v       generation.Verdict
	brisque float64
}

// auc is the probability that a clean image scores above a degraded one
// (ties count half): the area under the ROC curve of the score as a
// clean/degraded classifier.
func auc(clean, degraded []float64) float64 {
	if len(clean) == 0 || len(degraded) == 0 {
		return math.NaN()
	}
	var wins float64
	for _, c := range clean {
		for _, d := range degraded {
			switch {
			case c > d:
				wins++
			case c == d:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(clean)*len(degraded))
}

// familyResult is one family's figures.
type familyResult struct {
	f                   family
	n, failed, right    int
	mildN, mildFailed   int
	aucOurs, aucBrisque float64
	misses, mildFails   []string
}

func benchQualityReport(ctx context.Context, dir, benchFile, out string, stdout io.Writer) error {
	var manifest []entry
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("bench-quality: %w (run `go run ./infra/bench quality prepare` first)", err)
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return fmt.Errorf("bench-quality: manifest: %w", err)
	}
	brisque := map[string]float64{}
	if raw, err := os.ReadFile(filepath.Join(dir, "brisque.json")); err == nil {
		if err := json.Unmarshal(raw, &brisque); err != nil {
			return fmt.Errorf("bench-quality: brisque.json: %w", err)
		}
	}
	v := quality.New(0)
	var all []judged
	var elapsed time.Duration
	dump, err := os.Create(filepath.Join(dir, "verdicts.jsonl"))
	if err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	defer dump.Close()
	enc := json.NewEncoder(dump)
	// A picture's reference is the clean picture itself, inspected as the
	// API inspects an upload (its tone); a procedural image's is another
	// rendering of its request (see proceduralReference).
	tones := map[string]*generation.Tone{}
	palettes := map[string][]generation.Color{}
	for _, e := range manifest {
		if e.Level != levelClean {
			continue
		}
		if e.Kind == kindProcedural {
			var i int
			if _, err := fmt.Sscanf(e.Origin, "procedural-%d", &i); err != nil {
				return fmt.Errorf("bench-quality: %s: %w", e.Origin, err)
			}
			tone, err := proceduralReference(ctx, i)
			if err != nil {
				return err
			}
			tones[e.Clean] = tone
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "set", e.File))
		if err != nil {
			return fmt.Errorf("bench-quality: %w", err)
		}
		features, _, err := quality.Inspect(data)
		if err != nil {
			return fmt.Errorf("bench-quality: inspect %s: %w", e.File, err)
		}
		tones[e.Clean], palettes[e.Clean] = features.Tone, features.Palette
	}
	for _, e := range manifest {
		data, err := os.ReadFile(filepath.Join(dir, "set", e.File))
		if err != nil {
			return fmt.Errorf("bench-quality: %w", err)
		}
		start := time.Now()
		ref := generation.ReferenceFeatures{Palette: e.Ref, Tone: tones[e.Clean]}
		if p, ok := palettes[e.Clean]; ok {
			ref.Palette = p
		}
		vd, err := v.Validate(ctx, data, generation.ValidationSpec{Reference: ref})
		if err != nil {
			return fmt.Errorf("bench-quality: %s: %w", e.File, err)
		}
		elapsed += time.Since(start)
		b, ok := brisque[e.File]
		if !ok {
			b = math.NaN()
		}
		all = append(all, judged{entry: e, v: vd, brisque: b})
		if err := enc.Encode(map[string]any{"file": e.File, "kind": e.Kind, "family": e.Family, "level": e.Level,
			"score": vd.Score, "passed": vd.Passed, "reasons": vd.Reasons, "metrics": vd.Metrics, "brisque": b}); err != nil {
			return fmt.Errorf("bench-quality: %w", err)
		}
	}

	// Clean images.
	cleanBy := map[string][2]int{} // kind → {n, failed}
	var cleanFails []string
	var cleanScores, cleanBrisque []float64
	var cleans []judged
	cleanIdx := map[string]int{}
	for _, j := range all {
		if j.Level != levelClean {
			continue
		}
		cleanIdx[j.Clean] = len(cleans)
		cleans = append(cleans, j)
		c := cleanBy[j.Kind]
		c[0]++
		if !j.v.Passed {
			c[1]++
			cleanFails = append(cleanFails, fmt.Sprintf("%s (%.1f: %s)", j.Clean, j.v.Score, strings.Join(j.v.Reasons, ", ")))
		}
		cleanBy[j.Kind] = c
	}

	// Families.
	var results []*familyResult
	var allStrongOurs, allStrongBrisque []float64
	var strongN, strongFailed, strongRight, mildN, mildFailed int
	for _, f := range families {
		r := &familyResult{f: f}
		var sOurs, sBrisque, cOurs, cBrisque []float64
		for _, j := range all {
			if j.Family != f.name {
				continue
			}
			fails := !j.v.Passed
			why := fmt.Sprintf("%s (%.1f: %s)", j.Clean, j.v.Score, strings.Join(j.v.Reasons, ", "))
			switch j.Level {
			case levelStrong:
				r.n++
				sOurs, sBrisque = append(sOurs, j.v.Score), append(sBrisque, -j.brisque)
				c := cleans[cleanIdx[j.Clean]]
				cOurs, cBrisque = append(cOurs, c.v.Score), append(cBrisque, -c.brisque)
				if fails {
					r.failed++
				}
				if fails && slices.ContainsFunc(f.reasons, func(reason string) bool { return slices.Contains(j.v.Reasons, reason) }) {
					r.right++
				} else {
					r.misses = append(r.misses, why)
				}
			case levelMild:
				r.mildN++
				if fails {
					r.mildFailed++
					r.mildFails = append(r.mildFails, why)
				}
			}
		}
		r.aucOurs, r.aucBrisque = auc(cOurs, sOurs), auc(cBrisque, sBrisque)
		allStrongOurs, allStrongBrisque = append(allStrongOurs, sOurs...), append(allStrongBrisque, sBrisque...)
		strongN, strongFailed, strongRight = strongN+r.n, strongFailed+r.failed, strongRight+r.right
		mildN, mildFailed = mildN+r.mildN, mildFailed+r.mildFailed
		results = append(results, r)
	}
	for _, c := range cleans {
		cleanScores, cleanBrisque = append(cleanScores, c.v.Score), append(cleanBrisque, -c.brisque)
	}

	// Near-duplicates: every clean image next to its near-copy, all in one
	// generation; a clean image is a false duplicate when it matches
	// another clean one of a different origin (a low-key grade of a
	// photograph is meant to look like it).
	var cands []generation.Candidate
	var twinDistances []float64
	for _, j := range all {
		if j.Level != levelClean && j.Level != levelTwin {
			continue
		}
		vd := j.v
		vd.Passed = true // judge duplicates among all, whatever else failed
		id := j.Clean
		if j.Level == levelTwin {
			id += "~twin"
			if d, ok := quality.FingerprintDistance(cleans[cleanIdx[j.Clean]].v.Fingerprint, vd.Fingerprint); ok {
				twinDistances = append(twinDistances, float64(d))
			}
		}
		cands = append(cands, generation.Candidate{ID: id, Index: len(cands), Verdict: &vd})
	}
	_, marked := generation.MarkDuplicates(cands, v.SameImage)
	// A pair is caught when either of the two is marked (the lower-scored
	// one is, which may be the original) and the two match each other (a
	// low-key grade may be marked as a copy of its photograph instead).
	isMarked := map[string]bool{}
	for _, id := range marked {
		isMarked[id] = true
	}
	dupPairs := 0
	for _, j := range all {
		if j.Level == levelTwin && (isMarked[j.Clean] || isMarked[j.Clean+"~twin"]) && v.SameImage(cleans[cleanIdx[j.Clean]].v, j.v) {
			dupPairs++
		}
	}
	var falseDupNames []string
	var cleanDistances []float64
	for i := range cleans {
		for k := i + 1; k < len(cleans); k++ {
			if cleans[i].Origin == cleans[k].Origin {
				continue
			}
			if d, ok := quality.FingerprintDistance(cleans[i].v.Fingerprint, cleans[k].v.Fingerprint); ok {
				cleanDistances = append(cleanDistances, float64(d))
			}
		}
		for k := range cleans {
			if cleans[i].Origin != cleans[k].Origin && v.SameImage(cleans[i].v, cleans[k].v) {
				falseDupNames = append(falseDupNames, cleans[i].Clean+" (duplicate of "+cleans[k].Clean+")")
				break
			}
		}
	}

	timings, err := readBench(benchFile)
	if err != nil {
		return err
	}

	rejected := map[string]bool{}
	for _, j := range cleans {
		if !j.v.Passed {
			rejected[j.Clean] = true
		}
	}
	for _, n := range falseDupNames {
		rejected[strings.SplitN(n, " ", 2)[0]] = true
	}
	cleanFailed := len(rejected)
	recall := float64(strongFailed) / float64(strongN)
	right := float64(strongRight) / float64(strongN)
	fr := float64(cleanFailed) / float64(len(cleans))
	mild := float64(mildFailed) / float64(mildN)
	aucOurs, aucBrisque := auc(cleanScores, allStrongOurs), auc(cleanBrisque, allStrongBrisque)
	margin := math.Inf(1)
	for _, r := range results {
		margin = min(margin, r.aucOurs-r.aucBrisque)
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# Validator calibration and speed (%s)\n\n", v.Version())
	md.WriteString("Generated by `make bench-quality` (`go run ./infra/bench quality prepare`, then `report`); do not edit by hand.\n\n")
	fmt.Fprintf(&md, "## Set\n\n%d clean images, each degraded by every family at a strong and a mild level and near-copied once (%d files). Nothing is downloaded or committed: the recipe is `infra/bench/quality_set.go`.\n\n", len(cleans), len(all))
	md.WriteString("| kind | images | source |\n|---|---|---|\n")
	kindSource := map[string]string{
		kindProcedural:   "the embedded procedural provider, no defects, 512 and 1024 px, PNG; reference = the request palette, and the tone of another rendering of the same request (another seed), as the user's upload would be",
		kindPhoto:        "Debian `mate-backgrounds` nature photographs and `gnome-backgrounds` wood photographs, scaled to 1024 px, JPEG q92; reference = the clean picture itself as the API inspects an upload (palette and tone; as for every kind below)",
		kindIllustration: "Debian `ukui-wallpapers` rendered wallpapers (what a generator draws)",
		kindProduct:      "a feathered centre cut of a photograph on pure white with a soft shadow, 1024×1024 (" + strings.Join(productSubjects, ", ") + ")",
		kindLowKey:       "`ukui-wallpapers`' the-mouse, and photographs graded low-key: v' = 255·(v/255)^2.2, white and black kept (" + strings.Join(lowKeyGrades, ", ") + ")",
		kindDOF:          "mate's real macro shots (Garden, LadyBird, TwoWings, FreshFlower, YellowFlower, Aqua) and photographs blurred σ = 5 px outside a centred ellipse (" + strings.Join(dofFakes, ", ") + ")",
	}
	for _, k := range cleanKinds {
		fmt.Fprintf(&md, "| %s | %d | %s |\n", k, cleanBy[k][0], kindSource[k])
	}
	md.WriteString("\nA degraded image is **detected** when it fails; with the **right reason** when it also carries one of the family's reason codes. AUC: the probability that a clean image scores better than its family's strong degradation — ours on `Verdict.Score`, OpenCV's BRISQUE (Debian `python3-opencv` 4.6 with the LIVE model from `opencv-data`, lower is better) on the same files in the same run. Palette shifts apply only to images with colourfulness ≥ 20.\n\nA picture judged against its own clean version keeps the reference's composition, as an edit, a variation or an upscale of the reference does: such a picture is judged region by region against the reference's 16 × 16 layout (cast, exposure, lifted blacks, turned hues; `layout_*` metrics). A generation of a new scene is not, and there checks against the reference's tone are kept only where clean renders with catalog modifiers also pass against references of other scenes (`TestCleanImagesPassAgainstAReferenceOfAnotherScene`, and the section on them below), which is why there a cast shows only on grey greys and shadows, reach and lift are not judged against the reference. The procedural images are judged against another rendering (another seed): a new scene.\n\n")
	md.WriteString("## Per family\n\n| family | strong level | n | failed | right reason | AUC ours | AUC BRISQUE | margin | mild level | mild failed |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		mildLabel, mildCell := "–", "–"
		if r.f.mild != nil {
			mildLabel, mildCell = r.f.mild.label, fmt.Sprintf("%d / %d", r.mildFailed, r.mildN)
		}
		fmt.Fprintf(&md, "| %s (`%s`) | %s | %d | %.2f | %.2f | %.3f | %.3f | %+.3f | %s | %s |\n", r.f.name, strings.Join(r.f.reasons, "`, `"), r.f.strong.label, r.n,
			frac(r.failed, r.n), frac(r.right, r.n), r.aucOurs, r.aucBrisque, r.aucOurs-r.aucBrisque, mildLabel, mildCell)
	}
	fmt.Fprintf(&md, "| **all** | | %d | %.3f | %.3f | %.3f | %.3f | | | %d / %d |\n", strongN, recall, right, aucOurs, aucBrisque, mildFailed, mildN)
	fmt.Fprintf(&md, "\nNear-copies (JPEG q80, +6 levels, 2 %% crop, in the same generation): %d of %d marked `duplicate`; dHash distance to their original %s, between distinct clean images %s (min / median / max).\n", dupPairs, len(cleans), spread(twinDistances), spread(cleanDistances))
	md.WriteString("\n## Clean images\n\n| kind | images | rejected |\n|---|---|---|\n")
	for _, k := range cleanKinds {
		fmt.Fprintf(&md, "| %s | %d | %d |\n", k, cleanBy[k][0], cleanBy[k][1])
	}
	fmt.Fprintf(&md, "\n**Clean false rejects: %d of %d (%.3f)**, false duplicates included.\n", cleanFailed, len(cleans), fr)
	if len(cleanFails)+len(falseDupNames) > 0 {
		md.WriteString("\n" + bullet(append(cleanFails, falseDupNames...)))
	}
	md.WriteString("\n### Strong degradations missed or failed for another reason\n\n")
	anyMiss := false
	for _, r := range results {
		if len(r.misses) > 0 {
			anyMiss = true
			fmt.Fprintf(&md, "- **%s**: %s\n", r.f.name, strings.Join(r.misses, "; "))
		}
	}
	if !anyMiss {
		md.WriteString("None.\n")
	}
	md.WriteString("\n### Mild degradations that failed\n\n")
	anyMild := false
	for _, r := range results {
		if len(r.mildFails) > 0 {
			anyMild = true
			fmt.Fprintf(&md, "- **%s** (%d): %s\n", r.f.name, len(r.mildFails), strings.Join(r.mildFails, "; "))
		}
	}
	if !anyMild {
		md.WriteString("None.\n")
	}
	scenes, err := sceneFalseRejects(ctx, v)
	if err != nil {
		return err
	}
	md.WriteString(scenes.markdown())
	md.WriteString("\n## Speed (one core)\n\n")
	md.WriteString("`go test -run '^$' -bench 1024 -cpu 1 -count 5 ./shared/quality` on 1024×1024 files written by `prepare` (a centre crop of a photograph; WebP is the same pixels as lossless VP8L, since x/image has no encoder). CPU ms/op is the process's CPU time per operation (getrusage) on one core, the median of the runs; the summary uses it because this machine is shared and wall time includes waiting for the core. `Validate1024/*` is decode + every check with the standard-library decoders (image/jpeg, image/png) and x/image/webp; `Metrics1024/*` every check on an already decoded image; `Decode1024/*` decoding alone.\n\n| benchmark | runs | CPU ms/op | wall ms/op |\n|---|---|---|---|\n")
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
	fmt.Fprintf(&md, "\nWhole calibration run: %d files validated (decode + metrics) in %.2f s, %.1f ms each on average (wall, shared machine).", len(all), elapsed.Seconds(), float64(elapsed.Milliseconds())/float64(len(all)))
	if ms, ok := brisque["_cpu_ms_per_image"]; ok {
		fmt.Fprintf(&md, " BRISQUE alone (after decoding): %.1f CPU ms per image.", ms)
	}
	md.WriteString("\n")
	summary := fmt.Sprintf("defect_recall=%.3f right_reason=%.3f clean_false_reject=%.3f mild_fail=%.3f auc_ours=%.3f auc_brisque=%.3f min_family_auc_margin=%.3f validate_ms_1024_jpeg=%.1f validate_ms_1024_png=%.1f validate_ms_1024_webp=%.1f scene_false_reject=%.3f",
		recall, right, fr, mild, aucOurs, aucBrisque, margin,
		benchMS(timings, "BenchmarkValidate1024/jpeg"), benchMS(timings, "BenchmarkValidate1024/png"), benchMS(timings, "BenchmarkValidate1024/webp"),
		frac(scenes.rejected, scenes.renders))
	fmt.Fprintf(&md, "\n## Summary\n\n```\n%s\n```\n", summary)
	if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench-quality: %w", err)
	}
	for _, r := range results {
		fmt.Fprintf(stdout, "%-10s strong %3d/%-3d right %3d  auc %.3f vs %.3f  mild %2d/%-3d\n", r.f.name, r.failed, r.n, r.right, r.aucOurs, r.aucBrisque, r.mildFailed, r.mildN)
	}
	if len(cleanFails)+len(falseDupNames) > 0 {
		fmt.Fprintf(stdout, "clean false rejects:\n%s", bullet(append(cleanFails, falseDupNames...)))
	}
	fmt.Fprintf(stdout, "wrote %s\n%s\n", out, summary)
	return nil
}

func frac(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func bullet(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString("- " + it + "\n")
	}
	return b.String()
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
