package procedural

import "math"

// material is a fabric's look: a texture in levels added to the shaded
// colour, a specular sheen on the brightest shading and how deep its folds
// are. Texture coordinates are garment units, so the weave turns and scales
// with the garment; a pattern finer than about 3 px fades out instead of
// aliasing into something the validator would read as sensor noise.
type material struct {
	kind Material
	s    float32 // px per garment unit
	// amplitude of each texture, faded by its period in pixels
	weave, slub, mottle, fine, twill, rib float32
	spec0, specK, specMax                 float32
}

// materialFolds scales fold depth: silk drapes, knit and wool are thick.
var materialFolds = map[Material]float32{
	Cotton: 1, Linen: 1.2, Denim: 0.9, Wool: 0.7, Silk: 1.4, Leather: 0.8, Knit: 0.6, Velvet: 1.1,
}

// Texture periods, in garment units.
const (
	weavePeriod = 0.013
	twillPeriod = 0.026
	ribPeriod   = 0.06
	finePeriod  = 0.012
)

func materialOf(m Material, s float32) material {
	fade := func(periodUnits float32) float32 { return clamp01((periodUnits*s - 3) / 3) }
	mt := material{kind: m, s: s, spec0: 10}
	switch m {
	case Linen:
		mt.weave, mt.slub, mt.mottle = 4*fade(weavePeriod), 8*fade(0.01), 2
	case Denim:
		mt.twill, mt.slub, mt.mottle = 9*fade(twillPeriod), 7*fade(0.012), 3
	case Wool:
		mt.mottle, mt.fine = 7, 4*fade(finePeriod)
	case Silk:
		mt.mottle = 1.5
		mt.spec0, mt.specK, mt.specMax = 1.0, 2.2, 0.55
	case Leather:
		mt.fine, mt.mottle = 5*fade(finePeriod), 3
		mt.spec0, mt.specK, mt.specMax = 0.98, 3, 0.6
	case Knit:
		mt.rib, mt.mottle = 14*fade(ribPeriod/2), 2
	case Velvet:
		mt.mottle = 5
		mt.spec0, mt.specK, mt.specMax = 1.02, 1.5, 0.25
	default:
		mt.weave, mt.mottle = 3*fade(weavePeriod), 2
	}
	return mt
}

// texture is the fabric's relief at garment point (u, v), in levels.
func (m *material) texture(u, v float32) float32 {
	var t float32
	if m.weave != 0 {
		t += m.weave * 0.5 * (sinCycles(u/weavePeriod) + sinCycles(v/(weavePeriod*1.15)))
	}
	if m.twill != 0 {
		t += m.twill * sinCycles((u+v)/twillPeriod)
	}
	if m.slub != 0 {
		if m.kind == Denim {
			t += m.slub * vnoise(u/0.012, v/0.25) // vertical streaks of uneven yarn
		} else {
			t += m.slub * vnoise(u/0.2, v/0.01) // horizontal slubs
		}
	}
	if m.mottle != 0 {
		t += m.mottle * vnoise(u/0.06+17, v/0.06)
	}
	if m.fine != 0 {
		t += m.fine * vnoise(u/finePeriod+91, v/finePeriod)
	}
	if m.rib != 0 {
		// Knit: columns of V-shaped stitches with dark gaps between ribs.
		cu := u / ribPeriod
		fu := cu - float32(floor32(cu)) - 0.5
		au := abs32(fu)
		row := v/(ribPeriod*0.7) + au*1.3
		t += m.rib * (0.6*sinCycles(row)*(1-2*au) - 4*max(au-0.38, 0))
	}
	return t
}

// specular is the sheen added at shading sd: a share of the way to white.
func (m *material) specular(sd float32) float32 {
	if sd <= m.spec0 {
		return 0
	}
	return min((sd-m.spec0)*m.specK, 1) * m.specMax
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// sinTable is sin(2πk/256): the textures need millions of sines a frame.
var sinTable = func() (t [256]float32) {
	for k := range t {
		t[k] = float32(math.Sin(2 * math.Pi * float64(k) / 256))
	}
	return t
}()

// sinCycles is sin(2π·x), from the table.
func sinCycles(x float32) float32 {
	return sinTable[uint32(int32(x*256))&255]
}

// vnoise is smooth value noise in −1…1 with unit lattice spacing, hashed so
// it needs no table and tiles nowhere.
func vnoise(x, y float32) float32 {
	ix, iy := floor32(x), floor32(y)
	tx, ty := smooth(x-float32(ix)), smooth(y-float32(iy))
	a, b := hash2(ix, iy), hash2(ix+1, iy)
	c, d := hash2(ix, iy+1), hash2(ix+1, iy+1)
	top := a + (b-a)*tx
	return top + (c+(d-c)*tx-top)*ty
}

// floor32 is ⌊v⌋ without a float64 round trip.
func floor32(v float32) int32 {
	i := int32(v)
	if float32(i) > v {
		i--
	}
	return i
}

func hash2(x, y int32) float32 {
	h := uint32(x)*0x9e3779b1 ^ uint32(y)*0x85ebca77
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 12
	return float32(h&0xffff)/32767.5 - 1
}
