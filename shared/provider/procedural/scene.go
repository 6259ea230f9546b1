package procedural

import (
	"strings"
	"unicode"
)

// Garment is the kind of item a prompt names, drawn as its silhouette.
type Garment string

// The garments and accessories the renderer draws. A prompt naming none of
// them gets a shirt.
const (
	Dress    Garment = "dress"
	Shirt    Garment = "shirt"
	Jacket   Garment = "jacket"
	Coat     Garment = "coat"
	Trousers Garment = "trousers"
	Skirt    Garment = "skirt"
	Sweater  Garment = "sweater"
	Scarf    Garment = "scarf"
	Boots    Garment = "boots"
	Shoes    Garment = "shoes"
	Bag      Garment = "bag"
	Hat      Garment = "hat"
)

// Material is the fabric a prompt names; it decides the texture and sheen.
type Material string

// The materials. A prompt naming none gets Cotton.
const (
	Cotton  Material = "cotton"
	Linen   Material = "linen"
	Denim   Material = "denim"
	Wool    Material = "wool"
	Silk    Material = "silk"
	Leather Material = "leather"
	Knit    Material = "knit"
	Velvet  Material = "velvet"
)

// garmentWords maps prompt words to garments. Several words of one prompt
// may match ("dress shirt", "shirt dress"): the last one in the prompt's
// first clause wins, as the head noun of an English noun phrase comes last.
var garmentWords = map[string]Garment{
	"dress": Dress, "gown": Dress, "frock": Dress, "sundress": Dress, "jumpsuit": Dress,
	"shirt": Shirt, "blouse": Shirt, "tee": Shirt, "t-shirt": Shirt, "tshirt": Shirt, "top": Shirt, "polo": Shirt, "tunic": Shirt,
	"jacket": Jacket, "blazer": Jacket, "bomber": Jacket, "cardigan": Jacket,
	"coat": Coat, "overcoat": Coat, "trench": Coat, "parka": Coat, "raincoat": Coat, "peacoat": Coat,
	"trousers": Trousers, "jeans": Trousers, "pants": Trousers, "chinos": Trousers, "slacks": Trousers, "joggers": Trousers, "culottes": Trousers,
	"skirt": Skirt, "miniskirt": Skirt, "kilt": Skirt,
	"sweater": Sweater, "jumper": Sweater, "pullover": Sweater, "hoodie": Sweater, "sweatshirt": Sweater, "turtleneck": Sweater,
	"scarf": Scarf, "shawl": Scarf, "stole": Scarf, "wrap": Scarf,
	"boots": Boots, "boot": Boots, "booties": Boots,
	"shoes": Shoes, "shoe": Shoes, "sneakers": Shoes, "trainers": Shoes, "loafers": Shoes, "heels": Shoes, "pumps": Shoes, "sandals": Shoes, "flats": Shoes,
	"bag": Bag, "handbag": Bag, "tote": Bag, "purse": Bag, "clutch": Bag, "satchel": Bag, "backpack": Bag,
	"hat": Hat, "cap": Hat, "beanie": Hat, "beret": Hat, "fedora": Hat, "bucket": Hat,
}

// materialWords maps prompt words to materials; the first match wins.
var materialWords = map[string]Material{
	"cotton": Cotton, "poplin": Cotton, "jersey": Cotton, "canvas": Cotton,
	"linen": Linen,
	"denim": Denim, "jeans": Denim, "chambray": Denim,
	"wool": Wool, "woollen": Wool, "woolen": Wool, "cashmere": Wool, "tweed": Wool, "felt": Wool, "flannel": Wool, "mohair": Wool,
	"silk": Silk, "satin": Silk, "chiffon": Silk, "organza": Silk,
	"leather": Leather, "suede": Leather, "patent": Leather,
	"knit": Knit, "knitted": Knit, "chunky": Knit, "cable": Knit, "crochet": Knit, "ribbed": Knit,
	"velvet": Velvet, "corduroy": Velvet, "velour": Velvet,
}

// defaultMaterial is what a garment is made of when the prompt does not say.
var defaultMaterial = map[Garment]Material{
	Trousers: Denim, Sweater: Knit, Boots: Leather, Shoes: Leather, Bag: Leather, Coat: Wool, Hat: Wool, Scarf: Silk,
}

// backdrop, light and the other scene fields follow the request's words:
// learning.Catalog's modifiers (which ComposePrompt also appends to the
// prompt) and the photo words designers write ("studio", "street style").
type backdrop int

const (
	backdropStudio   backdrop = iota // a paper sweep with a floor line
	backdropWhite                    // a bright, plain sweep
	backdropMinimal                  // a seamless sweep, no floor line
	backdropGradient                 // a radial gradient between two palette colours
	backdropWall                     // bricks
	backdropStreet                   // out-of-focus buildings and pavement
	backdropNature                   // sky, hills and foliage
	backdropFlat                     // a table top seen from above (flat lay)
)

type light int

const (
	lightSoft     light = iota // soft key light from one side
	lightGolden                // warm, low and directional
	lightStudio                // even, with a spot on the backdrop
	lightLowKey                // dark surroundings, a pool of light
	lightNeon                  // a coloured rim light and glow
	lightOvercast              // flat and even
)

// scene is what a prompt asks for, besides the seed's layout.
type scene struct {
	garment  Garment
	material Material
	backdrop backdrop
	light    light
	scale    float64 // garment size relative to the frame's short side
	tilt     float64 // extra rotation, radians (energetic, motion, playful)
	offset   float64 // horizontal shift off centre, share of the width (editorial)
	flat     bool    // flat lay: seen from above, no floor
	motion   bool    // motion trails behind the garment
	night    bool    // darker surroundings with bokeh lights
	confetti bool    // playful dots on the backdrop
	contrast float64 // fold and lighting contrast, 1 = normal
	fade     bool    // film look: lifted blacks, warm
	tonal    bool    // monochrome: one colour head to toe
}

// stockScene is what a duplicate shows: the provider's stock picture, which
// ignores the prompt.
var stockScene = scene{garment: Shirt, material: Cotton, scale: 1, contrast: 1}

// SamplePrompts are garment prompts that show what the provider draws: the
// learning benchmark's requests, in turn, and the contact sheet's columns.
var SamplePrompts = []string{
	"linen summer dress, product photo",
	"denim jacket, street style",
	"wool overcoat, editorial",
	"silk scarf, studio",
	"leather ankle boots, catalog",
	"chunky knit sweater, lookbook",
}

// SceneOf is the garment and material the provider draws for a prompt.
func SceneOf(prompt string) (Garment, Material) {
	s := parseScene(prompt)
	return s.garment, s.material
}

// parseScene reads the garment, material and photographic cues from a
// prompt, as a hosted model would: the prompt is all it reads
// (ComposePrompt has appended the modifiers to it). The request's Modifiers
// list only feeds the quirk table, which alone decides the defect odds.
func parseScene(prompt string) scene {
	s := scene{scale: 1, contrast: 1}
	text := strings.ToLower(prompt)
	clauses := strings.Split(text, ",")
	isWordSep := func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }
	// The garment is named in the first clause; its head noun comes last
	// ("dress shirt" is a shirt, "shirt dress" a dress).
	for _, w := range strings.FieldsFunc(clauses[0], isWordSep) {
		if g, ok := garmentWords[w]; ok {
			s.garment = g
		}
	}
	for _, w := range strings.FieldsFunc(text, isWordSep) {
		if m, ok := materialWords[w]; ok && s.material == "" {
			s.material = m
		}
		if g, ok := garmentWords[w]; ok && s.garment == "" {
			s.garment = g
		}
	}
	if s.garment == "" {
		s.garment = Shirt
		if s.material == Knit {
			s.garment = Sweater
		}
	}
	if s.material == "" {
		s.material = defaultMaterial[s.garment]
		if s.material == "" {
			s.material = Cotton
		}
	}
	has := func(ws ...string) bool { return contains(text, ws...) }
	// The setting, light and framing come from the last clause that names
	// one: the modifiers ComposePrompt appends win over the base prompt's
	// words ("denim jacket, street style, textured wall" is shot against
	// the wall).
	found := [3]bool{}
	for i := len(clauses) - 1; i >= 0; i-- {
		c := clauses[i]
		if b, ok := backdropOf(c); ok && !found[0] {
			s.backdrop, found[0] = b, true
		}
		if l, ok := lightOf(c); ok && !found[1] {
			s.light, found[1] = l, true
		}
		if k, ok := scaleOf(c); ok && !found[2] {
			s.scale, found[2] = k, true
		}
	}
	s.flat = s.backdrop == backdropFlat
	if has("motion") {
		s.motion, s.tilt = true, 0.12
	}
	if has("energetic") {
		s.tilt = 0.18
	}
	if has("playful") {
		s.confetti, s.tilt = true, -0.1
	}
	if has("editorial", "three-quarter") {
		s.offset = 0.08
	}
	if has("dramatic", "high contrast") {
		s.contrast = 1.4
	}
	if has("calm", "overcast", "pastel") {
		s.contrast = min(s.contrast, 0.75)
	}
	s.night = has("night")
	s.fade = has("film", "vintage")
	s.tonal = has("monochrome", "tonal")
	return s
}

func contains(text string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

func backdropOf(text string) (backdrop, bool) {
	switch {
	case contains(text, "flat lay"):
		return backdropFlat, true
	case contains(text, "white background", "white backdrop", "product photo", "catalog", "e-commerce"):
		return backdropWhite, true
	case contains(text, "urban", "street"):
		return backdropStreet, true
	case contains(text, "nature", "garden", "park", "outdoor", "beach", "forest"):
		return backdropNature, true
	case contains(text, "textured wall", "brick", "wall"):
		return backdropWall, true
	case contains(text, "gradient"):
		return backdropGradient, true
	case contains(text, "minimal", "seamless"):
		return backdropMinimal, true
	}
	return backdropStudio, false
}

func lightOf(text string) (light, bool) {
	switch {
	case contains(text, "neon"):
		return lightNeon, true
	case contains(text, "low-key", "low key"):
		return lightLowKey, true
	case contains(text, "golden"):
		return lightGolden, true
	case contains(text, "overcast", "calm"):
		return lightOvercast, true
	case contains(text, "studio", "catalog", "product photo"):
		return lightStudio, true
	}
	return lightSoft, false
}

func scaleOf(text string) (float64, bool) {
	switch {
	case contains(text, "close-up", "detail"):
		return 1.2, true // closer, but the backdrop (the reference's main colour) stays in frame
	case contains(text, "wide shot", "airy"):
		return 0.72, true
	case contains(text, "full body", "lookbook"):
		return 0.8, true
	case contains(text, "three-quarter"):
		return 0.9, true
	}
	return 1, false
}
