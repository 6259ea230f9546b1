package quality

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/designerbff/pipeline/shared/generation"
)

// version names the thresholds below; every verdict is stored under it, so
// bump it whenever a constant that changes scores changes.
//
// q3.3.0: a generation that keeps the reference's composition is judged
// region by region against the reference's Tone.Layout (fitLayout): its
// colour cast (layoutCastThreshold), exposure (sceneUnderStops,
// sceneOverStops), lifted blacks (sceneLift) and turned hues
// (sceneChroma).
// q3.2.0: banding also from a trace of contour steps together with a comb
// in the histogram beyond the reference's (bandTrace, gapsBanded);
// washed_out's reference range leaves out a small accent (paletteEnd);
// colour_cast only against a reference whose greys are grey
// (greysTellTheLight); a product shot's palette counts the product's
// colours as shares of the product, and off_palette judges the product
// against it (isBackdrop).
// q3.1.0: new reasons banding (steps between flat plateaus, see bandAcc;
// with a reference image, tones gone from the histogram), unfinished (a
// large flat region of one mid colour, see flatRegion) and colour_cast
// (the reference image's greys turned, see neutralPoint); the reference
// image's tone is kept (generation.Tone) and judged against where a new
// scene cannot fool it: fine detail and its direction (blur, motion
// blur; a picture as soft as a soft-focus reference passes), newly
// clipped white; a naturalness sub-score (nss.go) where sharpness is in
// doubt; a white surround against a palette without white is a blown
// backdrop, not a product shot.
// q3.0.0: sharpness also from the steepness of strong edges at native
// resolution on the sharpest tiles and its balance between directions
// (soft, upscaled, motion-blurred images); exposure by histogram reach,
// against the reference's tone and with product shots judged on their
// subject; the Laplacian variance leaves flat white out; fingerprints add
// a vertical dHash and hash a product shot's subject only.
// q2.2.2: an image whose decoding would need more than ProviderBudget is
// too_large before it is decoded (it was judged before).
// q2.2.1: JPEGs are decoded by image/jpeg (the hand-written baseline
// decoder is gone; pixels may differ by one level).
// q2.2.0: the noise estimate reads one band of rows in four, not two;
// baseline JPEGs are decoded by jpegdec (within one level of image/jpeg).
// q2.1.0: a larger image of the requested aspect is no longer wrong_size.
// q2.0.0: noise, JPEG blockiness, reference palette and near-duplicate
// checks; weights re-balanced.
const version = "q3.3.0"

// Defaults of the pass threshold (VALIDATION_MIN_SCORE) and of the band
// above it in which passing images are flagged for review.
const (
	DefaultMinScore   = 70
	DefaultFlagMargin = 5
)

// Reason codes in Verdict.Reasons. Hard-fail reasons fail an image whatever
// its score.
const (
	ReasonUndecodable  = "undecodable"        // hard fail: empty, corrupt or truncated bytes
	ReasonUnsupported  = "unsupported_format" // with undecodable: not PNG, JPEG or WebP
	ReasonTooLarge     = "too_large"          // hard fail: header declares too many pixels, or over ProviderBudget to decode
	ReasonBlank        = "blank"              // hard fail: (near-)uniform image
	ReasonBlurry       = "blurry"
	ReasonNoisy        = "noisy"
	ReasonUnderexposed = "underexposed"
	ReasonOverexposed  = "overexposed"
	ReasonLowContrast  = "low_contrast" // nearly flat: grain on a uniform field
	ReasonBlocky       = "blocky"       // visible JPEG 8×8 blocks
	ReasonOffPalette   = "off_palette"  // colours far from the user's reference image
	ReasonWrongSize    = "wrong_size"
	ReasonDuplicate    = "duplicate"   // hard fail: a better-scored near-copy exists in the generation (see SameImage)
	ReasonLowScore     = "low_score"   // failed on the combined score with no single defect
	ReasonWashedOut    = "washed_out"  // lifted blacks, not even a dark accent left, and a compressed range (against the reference palette's range)
	ReasonTiled        = "tiled"       // the frame is a grid of one repeated tile
	ReasonColourCast   = "colour_cast" // white balance far from the reference image's
	ReasonBanding      = "banding"     // posterised: smooth tones turned into flat plateaus and hard steps
	ReasonUnfinished   = "unfinished"  // a large flat mid-tone region of one colour amid ordinary detail
)

// Scoring. Each check yields a sub-score in 0–100, piecewise linear between
// the anchors below; every defect threshold maps to exactly defectScore, so a
// sub-score is below defectScore exactly when its reason is present.
//
//	sub-score   weight  metric                   0 at         defectScore at (reason)          100 at
//	sharpness   0.30    log10 laplacian_var      blurZero     blurThreshold (blurry)            sharpFull
//	                    edge_steepness           steepZero    steepThreshold (blurry)           steepFull
//	                    edge_balance             balanceZero  balanceThreshold (blurry)         balanceFull
//	exposure    0.25    luma_p99_5               50           underReach (under)                160
//	                    mean_luma (p99.5 < 115)  0.05         0.18 (under)                      0.30
//	                    clip_low − ref. black    0.80         0.40 (under, p99.5 < 115)         ≤ 0.10
//	                    mean_luma (not product)  0.97         0.88 (over)                       0.70
//	                    clip_high − ref. white   0.80         0.40 (over, not product)          ≤ 0.10
//	                    luma_p0_5                200          overFloor (over)                  100
//	                    mid-tone mean (product)  0.92         subjectBright (over)              0.60
//	                    clip_high − ref. white   0.40         refClip (over, with a reference)  0.04
//	                    |mean − ref. mean|       0.40         refShift (under / over)           0.10
//	            with a reference image's tone, also:
//	                    clip_high − ref.'s, of   0.80         toneClip (over)                   0.10
//	                    the ref.'s unclipped
//	            keeping the reference's layout (checkComposition), also:
//	                    layout_stops             −2.8         sceneUnderStops (under)           −1.3
//	                    layout_stops (gain ≥     2.5          sceneOverStops (over)             1.0
//	                    sceneBrightGain)
//	contrast    0.15    luma_std                 0            lowContrastStd (low_contrast)     30
//	                    luma_p0_5 (narrow span,  160          liftThreshold (washed_out)        60
//	                    luma_p0_1 > darkAccent)
//	                    layout_lift (keeping     90           sceneLift (washed_out)            25
//	                    the ref.'s layout, gain
//	                    ≤ sceneWashedGain)
//	                    entropy (bits)           0            blankEntropy (blank)              4
//	noise       0.15    noise_sigma              noiseZero    noiseThreshold (noisy)            ≤ noiseClean
//	blockiness  0.05    blockiness (JPEG only)   blockyZero   blockyThreshold (blocky)          ≤ blockyClean
//	tiling      0.05    tiledness                0            tiledThreshold (tiled)            0.05
//	regions     0.05    flat_region              unfinishedZero unfinishedShare (unfinished)    ≤ unfinishedClean
//	banding     0.05    banding                  bandZero     bandThreshold (banding)           ≤ bandClean
//	palette     0.10    palette_distance (with   paletteZero  paletteThreshold (off_palette)    ≤ paletteClean
//	                    a reference palette)
//	                    layout_chroma (keeping   −0.5         sceneChroma (off_palette)         0.4
//	                    the ref.'s layout)
//	cast        0.05    colour_cast (with a      castZero     castThreshold (colour_cast)       ≤ castClean
//	                    reference image's tone)
//	                    or, keeping the ref.'s   layoutCast-  layoutCastThreshold               ≤ layoutCast-
//	                    layout, its grey's cast  Zero                                           Clean
//
// sharpness, exposure and contrast are the minimum of their rows; luma_std at blankStd
// (blank) scores defectScore/2. Sub-scores that do not apply (blockiness of
// a PNG, palette without a reference) are left out and the weights of the
// rest renormalised. The score is
//
//	min(Σ wᵢ·sᵢ / Σ wᵢ, min sᵢ + weakestSlack) − wrongSizePenalty (if wrong_size)
//
// clamped to 0–100, and at most blankCap for a blank image. The weakest-link
// term makes one real defect fail the image at the default threshold even
// when everything else is perfect: weakestSlack = DefaultMinScore −
// defectScore, so min sᵢ < defectScore ⇒ score < DefaultMinScore. Several
// mild weaknesses can still fail an image through the weighted mean; it then
// gets ReasonLowScore, so every failure carries a reason. Each sub-score is
// kept in the metrics as "score_<name>".
const (
	weightSharpness  = 0.30
	weightExposure   = 0.25
	weightContrast   = 0.15
	weightNoise      = 0.15
	weightBlockiness = 0.05
	weightPalette    = 0.10
	weightTiling     = 0.05
	weightRegions    = 0.05
	weightBanding    = 0.05
	weightCast       = 0.05

	weightNaturalness = 0.10 // nss.go

	defectScore  = 40
	weakestSlack = DefaultMinScore - defectScore

	// Laplacian variance at WorkingSide, measured on the procedural test
	// images (photoLike in images_test.go, 512 px): sharp with sensor-like
	// noise ≈ 580–940, sharp and noise-free ≈ 100, blurred with Gaussian
	// σ = 1 px ≈ 30, σ = 1.5 ≈ 8, σ = 2 ≈ 4, σ = 3 ≈ 2 (PNG or JPEG q85).
	// The threshold sits between σ = 1 (soft, still usable) and σ = 1.5.
	// Noise raises the variance, so a blurred-then-noisy image can pass
	// this check: the noise check is the complement.
	blurZero      = 2.0
	blurThreshold = 15.0
	sharpFull     = 100.0

	// relative_detail: detail (see detail in inspect.go) less the
	// reference's, in decades. Against their own clean picture, a σ = 2 px
	// blur measures −0.36 to −1.65 (median −1.13), a 12 px motion blur
	// −0.03 to −1.39 (median −0.86), a ×4 soft upscale −0.33 to −2.1;
	// σ = 0.7 px −0.05 to −0.49, a ×1.5 soft upscale −0.08 to −1.5 (a
	// tenth of them below −1); two renders of one request −0.44 to +0.51,
	// and a low-key, "motion shot" render against a sharp reference −0.77
	// (out of 300 random modifier sets the lowest).
	relDetailClean     = -0.55
	relDetailThreshold = -0.9
	relDetailZero      = -1.6
	// grain_turn: |grain − the reference's| in decades, judged when the
	// detail fell (relative_detail under relDetailSame). Two renders of
	// one request differ by at most 0.10; a 12 px motion blur turns it by
	// 0.03–1.24 (median 0.82), a 3 px one by at most 0.35; a Gaussian
	// blur by a median of 0.07.
	grainClean     = 0.25
	grainThreshold = 0.45
	grainZero      = 1.0
	// relDetailSame: at least this near the reference's detail, the
	// sharpness sub-score is at least softAsReference.
	relDetailSame   = -0.1
	softAsReference = 60.0

	// Edge steepness (edgeAcc) of the sharpest tenth of the tiles, at
	// native resolution, on the calibration set (docs/quality-benchmark.md):
	// clean 0.34–1.1 (product shots, whose subject is small, lowest),
	// Gaussian σ = 2 px 0.21–0.55 (median 0.26), ×4 soft upscale 0.20–0.34.
	// Balance, the softer direction over the sharper: clean pictures
	// ≥ 0.63, but a procedural garment with strong stripes 0.43; a 12 px
	// motion blur median 0.54, so the cut catches only the stronger half.
	steepZero        = 0.20
	steepThreshold   = 0.34
	steepFull        = 0.50
	balanceZero      = 0.25
	balanceThreshold = 0.40
	balanceFull      = 0.60

	darkMean   = 0.18 // mean_luma below, without highlights: underexposed
	brightMean = 0.88 // mean_luma above (of the subject in a product shot): overexposed
	clipLimit  = 0.40 // clip_low / clip_high above, beyond the reference's share: under- / overexposed

	// Exposure by reach (docs/quality-benchmark.md): −3 EV maps white to
	// level 99, so nothing in the frame reaches underReach; a low-key or
	// night picture keeps highlights above lowKeyReach and is then not
	// judged on its mean. +2.5 EV lifts the 0.5th percentile of most
	// pictures above overFloor.
	underReach    = 105.0
	lowKeyReach   = 115.0
	overFloor     = 180.0
	subjectBright = 0.78 // mid-tone mean of a product shot's subject above: overexposed
	refClip       = 0.12 // clip_high beyond the reference's white share: overexposed
	// A mean further than refShift from the reference's (below 0.30 or
	// above 0.60): under- / overexposed against it.
	refShift = 0.22

	// Washed out (contrast): p0.5 above liftThreshold while p99.5 − p0.5
	// is under washedRange and under the reference palette's luma span.
	// Lifting blacks to 100 + 0.55·v puts p0.5 at 100+ and squeezes the
	// range by half; the clean pictures whose p0.5 is that high are
	// high-key ones whose reference is just as narrow.
	liftThreshold = 95.0
	washedRange   = 150.0
	// toneClip: white newly clipped beyond this share of what the
	// reference image left unclipped is overexposed (+2.5 EV clips 0–100 %
	// of a picture, +0.7 EV mostly under a tenth).
	toneClip = 0.30
	// darkAccent: a picture with a tenth of a percent of its pixels below
	// it has dark tones left, however light the rest: a small garment's
	// dark trim in a wide, airy shot (the lift puts every pixel at 100 or
	// above, and grain or JPEG ringing does not reach 30 levels below).
	darkAccent = 70.0

	// Banding (see bandAcc): the flanked share of the contour steps.
	bandClean     = 0.006
	bandThreshold = 0.011
	bandZero      = 0.04

	// luma_gaps: the share of nearly empty levels in the luma range less
	// the reference's. Posterised to 6 levels: −0.01 to 0.84 (median
	// 0.40), to 32 levels: at most 0.63 (median 0.02); two renders of one
	// request differ by up to 0.30, and the other degradations stay under
	// it but for a few that clip or block (which fail for that).
	gapsClean     = 0.45
	gapsThreshold = 0.55
	gapsZero      = 0.80

	// bandTrace and gapsBanded: a frame with a trace of contour steps
	// (a share clean pictures reach in 3 of 66 on the quality set, and
	// no clean render against another scene's reference in 840) and
	// luma_gaps over gapsBanded is posterised: 13 of the 19 posterised
	// photographs the step share alone missed, against 6 of 860 mild
	// degradations.
	bandTrace           = 0.002
	gapsBandedClean     = 0.05
	gapsBandedThreshold = 0.15
	gapsBandedZero      = 0.45

	// Unfinished (see regions.go): the commonest flat mid colour over
	// unfinishedShare of the frame. A half-frame fill measures 0.50, a
	// quarter 0.24–0.30; clean photographs and renders 0, flat art up to
	// 0.9 but in several colours.
	unfinishedClean = 0.15
	unfinishedShare = 0.35
	unfinishedZero  = 0.60

	// tiledness below: tiled (a 2×2 repeat ≤ 0.004, real scenes ≥ 0.06).
	tiledThreshold = 0.02
	// refWhiteLuma / refBlackLuma: reference colours counted as white /
	// black. productSurround: the share of the outer ring clipped white
	// above which the picture is a product shot.
	refWhiteLuma    = 0.96
	refBlackLuma    = 0.05
	productSurround = 0.90
	// productMaxClip: a product shot's subject takes at least a tenth of the
	// frame; a frame clipped beyond that is blown out, surround or not.
	productMaxClip = 0.90

	blankStd       = 2.0 // luma_std below: blank
	blankEntropy   = 1.0 // entropy below: blank
	blankCap       = 10.0
	lowContrastStd = 4.0 // luma_std below: low_contrast (P99−P1 ≈ 4.65σ ≈ 19 levels, ~7 % of range)

	// Immerkær σ̂ of full-size luma, in levels: clean images 0.3–5.8 (the
	// procedural provider draws grain), σ = 8 per-channel noise 5–8, σ = 24
	// noise 14.6–16.7 (docs/quality-benchmark.md).
	noiseClean     = 6.0
	noiseThreshold = 10.0
	noiseZero      = 25.0

	// Blockiness (B+½)/(A+½) of a JPEG's Y plane: clean pictures at q92
	// measure 0.93–1.35, q60 0.99–2.08 (median 1.68: visible only on close
	// inspection, a mild level), q10 1.28–5.7 (median 3.3), q5 3.6–9.5.
	blockyClean     = 1.5
	blockyThreshold = 1.95
	blockyZero      = 4.0

	// colour_cast: how far the log chromaticity (ln R/G, ln B/G) of the
	// image's greys moved from the reference image's (neutralPoint; only
	// where the reference's greys are grey, see greysTellTheLight).
	// R × 1.25 with B × 0.75 moves a grey by 0.36; measured against their
	// own clean picture, that cast reads 0.04–0.37 (cells leave the grey
	// set as they tint), R × 1.05 with B × 0.95 at most 0.11; two renders
	// of one request at most 0.04, but "golden hour" with "night scene"
	// against a neutral reference 0.17: a light a modifier asked for.
	castClean     = 0.10
	castThreshold = 0.25
	castZero      = 0.50
	// colour_cast of a generation that keeps the reference's composition
	// (fitLayout: what a reference grey becomes): against their own clean
	// version, R × 1.25 with B × 0.75 reads 0.19–0.40 (38 of 39 photographs
	// over 0.20, 40 over 0.17), R × 1.05 with B × 0.95 at most 0.10; a
	// desaturation by half at most 0.09, a lift of the blacks at most
	// 0.07; +0.7 EV, whose clipped channels no longer scale, up to 0.39 on
	// saturated illustrations.
	layoutCastClean     = 0.10
	layoutCastThreshold = 0.17
	layoutCastZero      = 0.45
	// Exposure and contrast of a generation that keeps the reference's
	// composition (fitLayout), against its own clean version on the
	// calibration set: −3 EV reads −3.06 to −2.92 stops, −1 EV −1.06 to
	// −0.95; +2.5 EV 2.2–2.4 (where the clipping leaves the composition
	// readable), +0.7 EV at most 0.80. Blacks lifted with the range
	// compressed (v' = 100 + 0.55·v) map the luma with a gain of
	// 0.52–0.61 and a lift of 87–102 levels, v' = 20 + 0.9·v with 0.88–0.93
	// and 13–22; a desaturation or a cast keeps a gain of 0.94–1.10.
	sceneUnderStops = -2.0
	sceneOverStops  = 1.5
	sceneBrightGain = 1.2 // a brighter picture whose range is not compressed
	sceneWashedGain = 0.75
	sceneLift       = 45.0
	// Colour kept region by region (layoutFit.chroma): a desaturation by
	// half reads 0.5, a lift of the blacks with the range compressed
	// about 0.55, a hue turned 180° about −1.
	sceneChroma = 0.1

	// palette_distance in CIE ΔE76: clean images against their reference
	// 0.9–22, a 180° hue rotation 18–155 (median 52).
	paletteClean     = 15.0
	paletteThreshold = 30.0
	paletteZero      = 60.0

	sizeTolerance    = 0.02 // relative width, height or aspect difference allowed
	wrongSizePenalty = 25.0 // an off-size image passes only when otherwise excellent
)

// DuplicateDistance is the largest Hamming distance between two 64-bit
// dHashes (Verdict.Fingerprint) for SameImage to call the images the same;
// since q3 both the horizontal and the vertical hash must be within it.
// Krawetz: 0 same, 1–10 a variation, > 10 different. On the calibration
// set, distinct clean pictures are ≥ 9 apart on the pair, near-copies
// 0–13 (median 4).
const DuplicateDistance = 8

// anchor is one point of a piecewise-linear sub-score curve.
type anchor struct{ x, score float64 }

var (
	grainCurve       = []anchor{{grainClean, 100}, {grainThreshold, defectScore}, {grainZero, 0}}
	relDetailCurve   = []anchor{{relDetailZero, 0}, {relDetailThreshold, defectScore}, {relDetailClean, 100}}
	steepnessCurve   = []anchor{{steepZero, 0}, {steepThreshold, defectScore}, {steepFull, 100}}
	balanceCurve     = []anchor{{balanceZero, 0}, {balanceThreshold, defectScore}, {balanceFull, 100}}
	sharpnessCurve   = []anchor{{math.Log10(blurZero), 0}, {math.Log10(blurThreshold), defectScore}, {math.Log10(sharpFull), 100}}
	darkCurve        = []anchor{{0.05, 0}, {darkMean, defectScore}, {0.30, 100}}
	brightCurve      = []anchor{{0.70, 100}, {brightMean, defectScore}, {0.97, 0}}
	reachCurve       = []anchor{{50, 0}, {underReach, defectScore}, {160, 100}}
	floorCurve       = []anchor{{100, 100}, {overFloor, defectScore}, {200, 0}}
	subjectCurve     = []anchor{{0.60, 100}, {subjectBright, defectScore}, {0.92, 0}}
	refClipCurve     = []anchor{{0.04, 100}, {refClip, defectScore}, {0.40, 0}}
	toneClipCurve    = []anchor{{0.1, 100}, {toneClip, defectScore}, {0.8, 0}}
	liftCurve        = []anchor{{60, 100}, {liftThreshold, defectScore}, {160, 0}}
	castCurve        = []anchor{{castClean, 100}, {castThreshold, defectScore}, {castZero, 0}}
	sceneChromaCurve = []anchor{{-0.5, 0}, {sceneChroma, defectScore}, {0.4, 100}}
	sceneUnderCurve  = []anchor{{-2.8, 0}, {sceneUnderStops, defectScore}, {-1.3, 100}}
	sceneOverCurve   = []anchor{{1.0, 100}, {sceneOverStops, defectScore}, {2.5, 0}}
	sceneLiftCurve   = []anchor{{25, 100}, {sceneLift, defectScore}, {90, 0}}
	layoutCastCurve  = []anchor{{layoutCastClean, 100}, {layoutCastThreshold, defectScore}, {layoutCastZero, 0}}
	gapsCurve        = []anchor{{gapsClean, 100}, {gapsThreshold, defectScore}, {gapsZero, 0}}
	gapsBandedCurve  = []anchor{{gapsBandedClean, 100}, {gapsBandedThreshold, defectScore}, {gapsBandedZero, 0}}
	bandCurve        = []anchor{{bandClean, 100}, {bandThreshold, defectScore}, {bandZero, 0}}
	flatCurve        = []anchor{{unfinishedClean, 100}, {unfinishedShare, defectScore}, {unfinishedZero, 0}}
	tiledCurve       = []anchor{{0, 0}, {tiledThreshold, defectScore}, {0.05, 100}}
	refShiftCurve    = []anchor{{0.10, 100}, {refShift, defectScore}, {0.40, 0}}
	clipCurve        = []anchor{{0.10, 100}, {clipLimit, defectScore}, {0.80, 0}}
	stdCurve         = []anchor{{0, 0}, {blankStd, defectScore / 2}, {lowContrastStd, defectScore}, {30, 100}}
	entropyCurve     = []anchor{{0, 0}, {blankEntropy, defectScore}, {4, 100}}
	noiseCurve       = []anchor{{noiseClean, 100}, {noiseThreshold, defectScore}, {noiseZero, 0}}
	blockinessCurve  = []anchor{{blockyClean, 100}, {blockyThreshold, defectScore}, {blockyZero, 0}}
	paletteCurve     = []anchor{{paletteClean, 100}, {paletteThreshold, defectScore}, {paletteZero, 0}}
)

// interp evaluates the curve at x, flat beyond its ends.
func interp(x float64, curve []anchor) float64 {
	if x <= curve[0].x {
		return curve[0].score
	}
	for i := 1; i < len(curve); i++ {
		a, b := curve[i-1], curve[i]
		if x <= b.x {
			return a.score + (b.score-a.score)*(x-a.x)/(b.x-a.x)
		}
	}
	return curve[len(curve)-1].score
}

// Validator judges generated images with no-reference metrics on a fixed
// working size. The zero value is usable (MinScore 70, no flag band).
type Validator struct {
	MinScore   float64 // pass threshold; ≤ 0 means DefaultMinScore
	FlagMargin float64 // passing images scoring below MinScore+FlagMargin are flagged
}

var _ generation.Validator = (*Validator)(nil)

// New returns a validator passing images at minScore (DefaultMinScore when
// ≤ 0) and flagging those within DefaultFlagMargin of it.
func New(minScore float64) *Validator {
	return &Validator{MinScore: minScore, FlagMargin: DefaultFlagMargin}
}

// Version names the metric set and thresholds the verdicts were made under.
func (v *Validator) Version() string { return version }

// measured is what the checks read: the decoded image, its working luma and
// its colour thumbnail.
type measured struct {
	img    image.Image // full size, as decoded
	format string      // FormatPNG, FormatJPEG or FormatWebP
	luma   []uint8     // BT.601, w×h, long side ≤ WorkingSide
	w, h   int
	thumb  thumb
	s      *scratch
	stats  lumaStats // of luma, filled by checkHistogram
	// scene is the region-by-region fit against the reference's layout
	// when the image keeps the reference's composition (nil otherwise),
	// filled by checkComposition.
	scene *layoutFit
}

// part is one weighted sub-score.
type part struct {
	name          string
	weight, score float64
}

// report collects what the checks find.
type report struct {
	metrics     map[string]float64
	parts       []part
	reasons     []string
	blank       bool
	penalty     float64
	fingerprint string
}

func (r *report) add(name string, weight, score float64) {
	r.parts = append(r.parts, part{name, weight, score})
	r.metrics["score_"+name] = math.Round(score*100) / 100
}

// check is one metric of the battery: it reads m, records raw metrics, adds
// its sub-score and reasons. Adding a metric means adding a check (and a
// weight); the combination in Validate does not change.
type check func(m *measured, spec generation.ValidationSpec, r *report)

// battery is the list of checks every image goes through.
var battery = []check{checkSize, checkComposition, checkHistogram, checkSharpness, checkNoise, checkBlockiness, checkColour, checkTiling, checkRegions, checkBanding, checkNaturalness, checkFingerprint}

// Validate decodes image and scores it. A broken, unsupported or oversized
// image is a failed verdict (score 0) with a reason, never an error; the
// only errors are a cancelled context.
func (v *Validator) Validate(ctx context.Context, img []byte, spec generation.ValidationSpec) (generation.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return generation.Verdict{}, fmt.Errorf("validate image: %w", err)
	}
	decoded, format, err := decode(img, ProviderBudget)
	if err != nil {
		return undecodable(img, err), nil
	}
	if err := ctx.Err(); err != nil {
		return generation.Verdict{}, fmt.Errorf("validate image: %w", err)
	}
	return v.judge(decoded, format, len(img), spec), nil
}

// judge runs the battery on a decoded image.
func (v *Validator) judge(decoded image.Image, format string, size int, spec generation.ValidationSpec) generation.Verdict {
	minScore := v.MinScore
	if spec.MinScore > 0 {
		minScore = spec.MinScore
	}
	if minScore <= 0 {
		minScore = DefaultMinScore
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	luma, w, h := workingLuma(decoded, s)
	m := &measured{img: decoded, format: format, luma: luma, w: w, h: h, s: s}
	m.thumb = colourThumb(decoded, s.thumb)
	s.thumb = m.thumb.pix
	r := &report{metrics: map[string]float64{MetricBytes: float64(size)}}
	for _, c := range battery {
		c(m, spec, r)
	}

	score := combine(r.parts) - r.penalty
	if r.blank {
		score = min(score, blankCap)
	}
	score = math.Round(max(0, min(100, score))*100) / 100

	passed := score >= minScore && !r.blank
	if !passed && len(r.reasons) == 0 {
		r.reasons = append(r.reasons, ReasonLowScore)
	}
	return generation.Verdict{
		ValidatorVersion: version,
		Score:            score,
		Passed:           passed,
		Flagged:          passed && score < minScore+v.FlagMargin,
		Metrics:          r.metrics,
		Reasons:          sortedReasons(r.reasons),
		Fingerprint:      r.fingerprint,
	}
}

// combine is min(weighted mean, weakest + weakestSlack): see the scoring
// table above.
func combine(parts []part) float64 {
	var weighted, weights float64
	weakest := 100.0
	for _, p := range parts {
		weighted += p.weight * p.score
		weights += p.weight
		weakest = min(weakest, p.score)
	}
	if weights == 0 {
		return 100 // nothing measured, nothing wrong
	}
	return min(weighted/weights, weakest+weakestSlack)
}

// undecodable is the verdict for bytes that never became pixels.
func undecodable(img []byte, err error) generation.Verdict {
	reasons := []string{ReasonUndecodable}
	var ge *generation.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case generation.ETOOLARGE:
			reasons = []string{ReasonTooLarge}
		case generation.EUNSUPPORTED:
			reasons = append(reasons, ReasonUnsupported)
		}
	}
	metrics := map[string]float64{MetricBytes: float64(len(img))}
	if cfg, _, err := decodeConfig(img); err == nil || generation.ErrorCode(err) == generation.ETOOLARGE {
		// The header was readable: keep the declared size for the record.
		metrics[MetricWidth], metrics[MetricHeight] = float64(cfg.Width), float64(cfg.Height)
	}
	return generation.Verdict{
		ValidatorVersion: version,
		Metrics:          metrics,
		Reasons:          sortedReasons(reasons),
	}
}

// sortedReasons sorts and de-duplicates; never nil, so a clean verdict
// stores an empty list rather than NULL.
func sortedReasons(rs []string) []string {
	if len(rs) == 0 {
		return []string{}
	}
	slices.Sort(rs)
	return slices.Compact(rs)
}

// checkSize records the decoded size and compares it with the requested one.
// A different aspect ratio or a smaller image is wrong; a larger one is not:
// hosted models make fixed sizes (e.g. 1024×1024 for a 512×512 request) and
// a larger image scales down without loss.
func checkSize(m *measured, spec generation.ValidationSpec, r *report) {
	b := m.img.Bounds()
	w, h := b.Dx(), b.Dy()
	r.metrics[MetricWidth], r.metrics[MetricHeight] = float64(w), float64(h)
	smaller := func(got, want int) bool { return want > 0 && float64(got) < (1-sizeTolerance)*float64(want) }
	aspectOff := spec.Width > 0 && spec.Height > 0 &&
		math.Abs(float64(w)/float64(h)-float64(spec.Width)/float64(spec.Height)) > sizeTolerance*float64(spec.Width)/float64(spec.Height)
	if smaller(w, spec.Width) || smaller(h, spec.Height) || aspectOff {
		r.reasons = append(r.reasons, ReasonWrongSize)
		r.penalty += wrongSizePenalty
	}
}

// checkComposition fits the image region by region to the reference's
// layout (fitLayout) and, when the fit explains it (the image keeps the
// reference's composition), leaves the fit for the exposure, contrast and
// cast checks. It scores nothing itself.
func checkComposition(m *measured, spec generation.ValidationSpec, r *report) {
	t := spec.Reference.Tone
	if t == nil {
		return
	}
	fit, ok := fitLayout(t.Layout, layoutOf(m.thumb))
	if !ok {
		return
	}
	r.metrics[MetricLayoutResidual] = fit.residual
	if fit.sameScene() {
		r.metrics[MetricLayoutGain], r.metrics[MetricLayoutLift] = fit.gain, fit.lift
		m.scene = &fit
	}
}

// checkHistogram scores exposure and contrast from the luma histogram and
// detects blank images.
func checkHistogram(m *measured, spec generation.ValidationSpec, r *report) {
	st := histogramStats(m.luma)
	m.stats = st
	mean := st.mean / 255
	r.metrics[MetricMeanLuma] = mean
	r.metrics[MetricLumaStd] = st.std
	r.metrics[MetricClipLow] = st.clipLow
	r.metrics[MetricClipHigh] = st.clipHigh
	r.metrics[MetricEntropy] = st.entropy

	surround := surroundClipped(m.luma, m.w, m.h)
	r.metrics[MetricLumaLow], r.metrics[MetricLumaHigh] = st.low, st.high

	r.metrics[MetricSurroundClipped] = surround
	ref := referenceTone(spec.Reference)
	under, over := exposureScores(st, surround, ref, r)
	if sc := m.scene; sc != nil {
		// Keeping the reference's composition, the change of exposure is
		// measured, not guessed from the histogram: what the reference's
		// mean grey became, in stops.
		stops := sc.stops()
		r.metrics[MetricLayoutStops] = stops
		under = min(under, interp(stops, sceneUnderCurve))
		if sc.gain >= sceneBrightGain {
			over = min(over, interp(stops, sceneOverCurve))
		}
	}
	if under < defectScore {
		r.reasons = append(r.reasons, ReasonUnderexposed)
	}
	if over < defectScore {
		r.reasons = append(r.reasons, ReasonOverexposed)
	}
	r.add("exposure", weightExposure, min(under, over))

	// Washed out: no dark tones left (p0.5 lifted, and not even a dark
	// accent below darkAccent) and the range squeezed,
	// narrower than the reference's own span of colours (a foggy, high-key
	// reference makes a narrow, light range expected). Only against a
	// reference: alone, a washed-out picture and a light, misty one look
	// the same. A flat
	// field (blank, low_contrast) or a clipped frame (overexposed) has its
	// own reason.
	span := st.high - st.low
	r.metrics[MetricLumaSpan] = span
	washed := 100.0
	r.metrics[MetricLumaFloor] = st.floor
	if ref.known && st.std >= lowContrastStd && st.clipHigh < clipLimit && st.floor > darkAccent && span < 255*(ref.high-ref.low) {
		// The darkest tones lifted, with the range squeezed narrower
		// than the reference palette's.
		washed = interp(st.low, liftCurve)
	}
	if sc := m.scene; sc != nil && sc.gain <= sceneWashedGain {
		// The range compressed region by region, and the blacks lifted.
		washed = min(washed, interp(sc.lift, sceneLiftCurve))
	}
	if washed < defectScore {
		r.reasons = append(r.reasons, ReasonWashedOut)
	}

	switch {
	case st.std < blankStd || st.entropy < blankEntropy:
		r.reasons = append(r.reasons, ReasonBlank)
		r.blank = true
	case st.std < lowContrastStd:
		r.reasons = append(r.reasons, ReasonLowContrast)
	}
	contrast := min(interp(st.std, stdCurve), interp(st.entropy, entropyCurve), washed)
	r.add("contrast", weightContrast, contrast)
}

// tone is what a reference says about exposure: from its palette, the
// mean luma (0–1) and the shares of near-white and near-black colour in
// it; from its image, when one was inspected, the measured tone.
type tone struct {
	known        bool
	mean         float64
	white, black float64
	// low and high: the palette's luma range, 0–1, without the colours
	// at either end that hold less than paletteEnd of its weight.
	low, high float64
	image     *generation.Tone
}

// paletteEnd: colours holding less than this share of a palette's weight
// at its dark or light end do not set its range. A cream scarf's
// reference with a dark shadow of 7 % made 54 of 120 clean renders of it
// "washed out" (they have no dark tone to keep); on the quality set it
// leaves two washed-out product shots to their other reasons.
const paletteEnd = 0.10

func referenceTone(ref generation.ReferenceFeatures) tone {
	t := paletteTone(ref.Palette)
	t.image = ref.Tone
	return t
}

func paletteTone(palette []generation.Color) tone {
	type shade struct{ luma, weight float64 }
	shades := make([]shade, 0, len(palette))
	var t tone
	var weights float64
	for _, c := range palette {
		l := (0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)) / 255
		shades = append(shades, shade{l, c.Weight})
		t.mean += c.Weight * l
		weights += c.Weight
		if l >= refWhiteLuma {
			t.white += c.Weight
		}
		if l <= refBlackLuma {
			t.black += c.Weight
		}
	}
	if weights <= 0 {
		return tone{}
	}
	slices.SortFunc(shades, func(a, b shade) int { return cmp.Compare(a.luma, b.luma) })
	// The range's ends: the first shade from either end at which the
	// weight passed reaches paletteEnd.
	end := func(shades []shade, i, step int) float64 {
		passed := 0.0
		for ; i+step >= 0 && i+step < len(shades); i += step {
			if passed += shades[i].weight; passed >= paletteEnd*weights {
				break
			}
		}
		return shades[i].luma
	}
	t.low, t.high = end(shades, 0, 1), end(shades, len(shades)-1, -1)
	t.known, t.mean, t.white, t.black = true, t.mean/weights, t.white/weights, t.black/weights
	return t
}

// exposureScores are the under- and overexposure sub-scores. Exposure is
// judged by where the histogram reaches, not by its mean alone: a low-key
// or night picture is dark but still has highlights (p99.5 high), while an
// underexposed one has none; an overexposed one has lost its shadows
// (p0.5 high) or clipped much of the frame. A white surround around a
// subject (surround ≈ 1) is a product shot: then only the subject's own
// brightness counts. With a reference, clipping and a mean far from the
// reference's are judged relative to it: a high-key reference makes white
// expected, a low-key one darkness.
func exposureScores(st lumaStats, surround float64, ref tone, r *report) (under, over float64) {
	mean := st.mean / 255
	under = 100.0
	if !ref.known && st.std >= lowContrastStd {
		// Without a reference, a picture whose brightest tones stay below
		// mid-grey is underexposed (a flat field is blank or low_contrast
		// instead). With one, the reference's own tone decides below: a
		// dark reference makes a dark generation right.
		under = interp(st.high, reachCurve)
	}
	if st.high < lowKeyReach {
		// No real highlights: a dark mean or crushed blacks are a defect.
		under = min(under, interp(mean, darkCurve), interp(st.clipLow-ref.black, clipCurve))
	}
	if ref.known && mean < 0.30 {
		under = min(under, interp(ref.mean-mean, refShiftCurve))
	}
	switch {
	case ref.known && ref.white >= productSurround/3:
		// A white-surround reference: clipped white is expected.
		over = min(interp(st.midMean/255, subjectCurve), interp(st.low, floorCurve))
	case !ref.known && surround >= productSurround && st.clipHigh < productMaxClip:
		// A product shot: the subject's own tones. Against a reference
		// with no white in it, a clipped surround is a blown-out backdrop
		// and is judged below.
		over = interp(st.midMean/255, subjectCurve)
	default:
		over = min(interp(mean, brightCurve), interp(st.clipHigh-ref.white, clipCurve), interp(st.low, floorCurve))
		if ref.known {
			over = min(over, interp(st.clipHigh-ref.white, refClipCurve))
		}
	}
	if ref.known && mean > 0.60 {
		over = min(over, interp(mean-ref.mean, refShiftCurve))
	}
	if t := ref.image; t != nil {
		over = min(over, overAgainst(st, t, r))
	}
	return under, over
}

// overAgainst is the overexposure sub-score against the reference image's
// measured tone: white newly clipped, as a share of what the reference
// left unclipped (a product shot's subject is a fifth of its frame). The
// exposure shift in stops of the linear mean is recorded, not judged: a
// generation is a new scene, and clean renders with "night scene" or
// "low-key lighting" sit 2.3 stops under a bright reference of the same
// coat, as far as a −3 EV defect.
func overAgainst(st lumaStats, t *generation.Tone, r *report) float64 {
	if st.linMean > 0 && t.MeanLinear > 0 {
		r.metrics[MetricExposureShift] = math.Log2(st.linMean / t.MeanLinear)
	}
	newlyClipped := (st.clipHigh - t.ClipHigh) / max(1-t.ClipHigh, 0.05)
	return interp(newlyClipped, toneClipCurve)
}

// checkSharpness scores detail with the variance of the Laplacian of the
// working plane (nothing sharp at all) and the steepness of the strong
// edges at native resolution on the sharpest tiles (a blur, soft upscale
// or motion blur that the working plane's downscale hides; see edgeAcc).
// An image with no strong edge anywhere is judged on the Laplacian alone.
func checkSharpness(m *measured, spec generation.ValidationSpec, r *report) {
	lv := laplacianVar(m.luma, m.w, m.h)
	r.metrics[MetricLaplacianVar] = lv
	score := interp(math.Log10(max(lv, 1e-9)), sharpnessCurve)
	if e := m.s.edges.stats(); e.sharpest() > 0 {
		r.metrics[MetricEdgeSteepness] = e.sharpest()
		r.metrics[MetricEdgeBalance] = e.balance()
		score = min(score, interp(e.sharpest(), steepnessCurve), interp(e.balance(), balanceCurve))
	}
	if t := spec.Reference.Tone; t != nil && t.Detail != 0 {
		rel := detail(lv, m.stats.std) - t.Detail
		r.metrics[MetricRelativeDetail] = rel
		if rel >= relDetailSame {
			// As much fine detail as the reference: a soft-focus macro or a
			// smooth illustration as reference makes softness the brief,
			// so the absolute measures above cannot fail it alone.
			score = max(score, softAsReference)
		}
		// Far less fine detail for its contrast than the reference: a
		// blur, a soft upscale or a motion blur of what the reference
		// shows sharp.
		score = min(score, interp(rel, relDetailCurve))
		// Less detail, and what is left turned toward one direction: a
		// motion blur. (Noise turns it too, toward even, but adds detail.)
		turn := math.Abs(grain(m.luma, m.w, m.h) - t.Grain)
		r.metrics[MetricGrainTurn] = turn
		if rel < relDetailSame {
			score = min(score, interp(turn, grainCurve))
		}
	}
	if score < defectScore {
		r.reasons = append(r.reasons, ReasonBlurry)
	}
	r.add("sharpness", weightSharpness, score)
}

// checkNoise scores sensor-like noise with Immerkær's estimate on the
// full-size luma (see noiseAcc).
func checkNoise(m *measured, _ generation.ValidationSpec, r *report) {
	sigma := m.s.noise.sigma()
	r.metrics[MetricNoiseSigma] = sigma
	if sigma > noiseThreshold {
		r.reasons = append(r.reasons, ReasonNoisy)
	}
	r.add("noise", weightNoise, interp(sigma, noiseCurve))
}

// checkBlockiness looks for JPEG 8×8 blocks on the full-size Y plane; other
// formats have no block grid and no sub-score.
func checkBlockiness(m *measured, _ generation.ValidationSpec, r *report) {
	ycc, ok := m.img.(*image.YCbCr)
	if !ok || m.format != FormatJPEG {
		return
	}
	b := ycc.Rect
	ratio := blockiness(ycc.Y[ycc.YOffset(b.Min.X, b.Min.Y):], ycc.YStride, b.Dx(), b.Dy())
	r.metrics[MetricBlockiness] = ratio
	if ratio > blockyThreshold {
		r.reasons = append(r.reasons, ReasonBlocky)
	}
	r.add("blockiness", weightBlockiness, interp(ratio, blockinessCurve))
}

// checkColour records colourfulness and, when the request has a reference
// palette, scores how far the image's colours are from it; with the
// reference image's tone, how far its white balance is (a colour cast).
func checkColour(m *measured, spec generation.ValidationSpec, r *report) {
	r.metrics[MetricColourfulness] = colourfulness(m.thumb)
	if t := spec.Reference.Tone; t != nil {
		checkCast(m, t, r)
	}
	if len(spec.Reference.Palette) == 0 {
		return
	}
	coverage, use := paletteDistance(m.thumb, spec.Reference.Palette)
	d := (coverage + use) / 2
	if productShot(spec.Reference.Palette) {
		// A product's colours are several small shares of its palette,
		// and a new scene's light or a one-colour rendering of it leaves
		// some of them unused (8 of 40 clean renders against a sage and
		// plum product were off the palette by use); whether the picture
		// stays within them is what a re-colouring changes.
		d = coverage
	}
	r.metrics[MetricPaletteCoverage] = coverage
	r.metrics[MetricPaletteUse] = use
	r.metrics[MetricPaletteDistance] = d
	score := interp(d, paletteCurve)
	if sc := m.scene; sc != nil && !math.IsNaN(sc.chroma) {
		// Keeping the reference's composition, a re-colouring shows
		// region by region: its colours turned toward other hues.
		r.metrics[MetricLayoutChroma] = sc.chroma
		score = min(score, interp(sc.chroma, sceneChromaCurve))
	}
	if score < defectScore {
		r.reasons = append(r.reasons, ReasonOffPalette)
	}
	r.add("palette", weightPalette, score)
}

// checkCast judges the white balance against the reference's. A
// generation that keeps the reference's composition is judged region by
// region (fitLayout): what the reference's greys became is the cast,
// whatever the greys of either picture. A new scene is judged by its greys
// only where both pictures have greys and the reference's are grey (see
// neutralPoint and greysTellTheLight): its grey world and white point move
// with the backdrop and the light a modifier asked for (against a navy
// knitwear reference, 53 of 60 clean renders moved them as far as a strong
// cast); greys that turn a colour do not.
func checkCast(m *measured, t *generation.Tone, r *report) {
	cast, threshold, curve := 0.0, castThreshold, castCurve
	if m.scene != nil {
		cast, threshold, curve = m.scene.cast(), layoutCastThreshold, layoutCastCurve
	} else {
		neutral, share := neutralPoint(m.thumb)
		if share < neutralMinShare || !greysTellTheLight(t) {
			return
		}
		cast = math.Hypot(neutral[0]-t.Neutral[0], neutral[1]-t.Neutral[1])
	}
	r.metrics[MetricColourCast] = cast
	if cast > threshold {
		r.reasons = append(r.reasons, ReasonColourCast)
	}
	r.add("cast", weightCast, interp(cast, curve))
}

// checkTiling fails a frame that is a grid of one repeated tile (a
// generator that tiled its canvas); see tiledness.
func checkTiling(m *measured, _ generation.ValidationSpec, r *report) {
	t := tiledness(m.luma, m.w, m.h, m.s)
	r.metrics[MetricTiledness] = t
	if t < tiledThreshold {
		r.reasons = append(r.reasons, ReasonTiled)
	}
	r.add("tiling", weightTiling, interp(t, tiledCurve))
}

// checkBanding fails a posterised frame; see bandAcc.
func checkBanding(m *measured, spec generation.ValidationSpec, r *report) {
	blocks, jpeg := r.metrics[MetricBlockiness]
	share := m.s.bands.share(jpeg && blocks > blockyClean)
	r.metrics[MetricBanding] = share
	score := interp(share, bandCurve)
	if t := spec.Reference.Tone; t != nil {
		// Against the reference image: many more of its tones gone from
		// the histogram (posterised tones leave a comb).
		gaps := m.stats.gaps - t.Gaps
		r.metrics[MetricLumaGaps] = gaps
		score = min(score, interp(gaps, gapsCurve))
		if share >= bandTrace {
			// Both symptoms at once, each too weak alone: some contour
			// steps and a comb the reference does not have. Photographs
			// posterised in their grain or detail keep few clean steps.
			score = min(score, interp(gaps, gapsBandedCurve))
		}
	}
	if score < defectScore {
		r.reasons = append(r.reasons, ReasonBanding)
	}
	r.add("banding", weightBanding, score)
}

// checkRegions fails a frame with a large flat region of one mid colour
// (an unfinished canvas); see flatRegion.
func checkRegions(m *measured, _ generation.ValidationSpec, r *report) {
	largest, other := flatRegion(m.luma, m.w, m.h)
	r.metrics[MetricFlatRegion] = largest
	score := 100.0
	if other <= flatArtOther {
		score = interp(largest, flatCurve)
	}
	if score < defectScore {
		r.reasons = append(r.reasons, ReasonUnfinished)
	}
	r.add("regions", weightRegions, score)
}

// checkFingerprint stores the perceptual hash that SameImage compares. A
// product shot is hashed on its subject (the box around what is not white
// surround): hashed whole, the large identical surround makes every
// product shot a near-copy of every other.
func checkFingerprint(m *measured, _ generation.ValidationSpec, r *report) {
	luma, w, h := m.luma, m.w, m.h
	if r.metrics[MetricSurroundClipped] >= productSurround {
		luma, w, h = subjectBox(m.luma, m.w, m.h, m.s)
	}
	r.fingerprint = fmt.Sprintf("dhash:%016x:%016x", dHash(luma, w, h), dHashV(luma, w, h))
}

// subjectBox copies the bounding box of the pixels below clipHighLevel
// into s.box; the whole plane when it has none or the box is under 9×8.
func subjectBox(luma []uint8, w, h int, s *scratch) ([]uint8, int, int) {
	x0, y0, x1, y1 := w, h, -1, -1
	for y := range h {
		for x, v := range luma[y*w : (y+1)*w] {
			if v < clipHighLevel {
				x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
			}
		}
	}
	bw, bh := x1-x0+1, y1-y0+1
	if x1 < 0 || bw < 9 || bh < 8 {
		return luma, w, h
	}
	s.box = grow(s.box, bw*bh)
	for y := range bh {
		copy(s.box[y*bw:(y+1)*bw], luma[(y0+y)*w+x0:])
	}
	return s.box, bw, bh
}

// SameImage reports whether two verdicts are of near-identical images: both
// have dHash fingerprints within DuplicateDistance bits. Verdicts without a
// fingerprint (undecodable images) are never the same.
func (v *Validator) SameImage(a, b generation.Verdict) bool {
	d, ok := FingerprintDistance(a.Fingerprint, b.Fingerprint)
	return ok && d <= DuplicateDistance
}

// FingerprintDistance is the Hamming distance between two dHash
// fingerprints, the larger of the horizontal and vertical hashes' when both
// have both (q3 on; earlier fingerprints have the horizontal one only),
// ok=false when either is missing or malformed.
func FingerprintDistance(a, b string) (int, bool) {
	ha, va, okA := parseFingerprint(a)
	hb, vb, okB := parseFingerprint(b)
	if !okA || !okB {
		return 0, false
	}
	d := bits.OnesCount64(ha ^ hb)
	if va != nil && vb != nil {
		d = max(d, bits.OnesCount64(*va^*vb))
	}
	return d, true
}

// parseFingerprint reads "dhash:H" or "dhash:H:V" (16 hex digits each).
func parseFingerprint(f string) (h uint64, v *uint64, ok bool) {
	rest, ok := strings.CutPrefix(f, "dhash:")
	if !ok {
		return 0, nil, false
	}
	hHex, vHex, both := strings.Cut(rest, ":")
	if len(hHex) != 16 || (both && len(vHex) != 16) {
		return 0, nil, false
	}
	h, err := strconv.ParseUint(hHex, 16, 64)
	if err != nil {
		return 0, nil, false
	}
	if both {
		vv, err := strconv.ParseUint(vHex, 16, 64)
		if err != nil {
			return 0, nil, false
		}
		v = &vv
	}
	return h, v, true
}
