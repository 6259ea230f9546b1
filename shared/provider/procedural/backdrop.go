package procedural

import (
	"math"
	"math/rand/v2"
)

// drawBackdrop paints the setting the scene's background words ask for, in
// the palette's dominant colour with touches of the others, then the mood's
// additions (night bokeh, playful confetti).
func drawBackdrop(c *canvas, rng *rand.Rand, pal palette, sc scene, l layout) {
	c0 := pal.cols[0]
	other := c0
	if len(pal.cols) > 1 {
		other = pal.cols[1+rng.IntN(len(pal.cols)-1)]
	}
	switch sc.backdrop {
	case backdropWhite:
		sweep(c, rng, mix(c0, rgb{244, 243, 240}, 0.12), other, l.horizon, 0.06, 2)
	case backdropMinimal:
		sweep(c, rng, c0, other, l.horizon, 0.08, 0.08*float32(c.h))
	case backdropGradient:
		radial(c, rng, c0, other)
	case backdropWall:
		bricks(c, rng, c0, other, l)
	case backdropStreet:
		street(c, rng, pal, l)
	case backdropNature:
		nature(c, rng, pal, l)
	case backdropFlat:
		tabletop(c, rng, c0)
	default:
		sweep(c, rng, c0, other, l.horizon, 0.07, 2)
	}
	if sc.night {
		for i := range c.pix {
			c.pix[i] *= 0.88
		}
	}
	side := float32(min(c.w, c.h))
	if sc.night {
		for range 14 {
			col := mix(pal.cols[rng.IntN(len(pal.cols))], rgb{255, 250, 235}, 0.5)
			x, y := rng.Float32()*float32(c.w), rng.Float32()*float32(c.h)*0.7
			disc(c, x, y, side*(0.02+0.035*rng.Float32()), col, 0.35)
		}
	}
	if sc.confetti {
		for range 30 {
			col := pal.cols[rng.IntN(len(pal.cols))]
			disc(c, rng.Float32()*float32(c.w), rng.Float32()*float32(c.h), side*(0.006+0.008*rng.Float32()), col, 0.9)
		}
	}
}

func mix(a, b rgb, k float32) rgb {
	return rgb{a[0] + (b[0]-a[0])*k, a[1] + (b[1]-a[1])*k, a[2] + (b[2]-a[2])*k}
}

// sweep is a photographer's paper sweep: a linear gradient from c0 towards
// a hint of another colour, and a floor darker by floorDark below the
// horizon with an edge soft over edge pixels.
func sweep(c *canvas, rng *rand.Rand, c0, other rgb, horizon, floorDark, edge float32) {
	c1 := mix(c0, other, 0.05)
	ang := rng.Float64() * 2 * math.Pi
	diag := math.Hypot(float64(c.w), float64(c.h))
	dx, dy := float32(math.Cos(ang)/diag), float32(math.Sin(ang)/diag)
	cx, cy := float32(c.w)/2, float32(c.h)/2
	r, g, b := c.plane(0), c.plane(1), c.plane(2)
	for y := range c.h {
		floor := 1 - floorDark*clamp01((float32(y)-horizon)/edge+0.5)
		t := 0.5 + (0-cx)*dx + (float32(y)-cy)*dy
		row := y * c.w
		for x := range c.w {
			tt := clamp01(t)
			i := row + x
			r[i] = (c0[0] + (c1[0]-c0[0])*tt) * floor
			g[i] = (c0[1] + (c1[1]-c0[1])*tt) * floor
			b[i] = (c0[2] + (c1[2]-c0[2])*tt) * floor
			t += dx
		}
	}
}

// radial is a gradient backdrop: c0 lit in the centre, fading towards a
// mix with another palette colour at the corners.
func radial(c *canvas, rng *rand.Rand, c0, other rgb) {
	c1 := mix(scaled(c0, 0.85), other, 0.3)
	fx := float32(c.w) * (0.35 + 0.3*rng.Float32())
	fy := float32(c.h) * (0.3 + 0.3*rng.Float32())
	inv := 1 / float32(c.w*c.w+c.h*c.h) * 2.2
	n := c.w * c.h
	for y := range c.h {
		dy := float32(y) - fy
		for x := range c.w {
			dx := float32(x) - fx
			t := clamp01((dx*dx + dy*dy) * inv)
			i := y*c.w + x
			for ch := range 3 {
				c.pix[ch*n+i] = c0[ch] + (c1[ch]-c0[ch])*t
			}
		}
	}
}

// bricks is a textured wall: running-bond brick courses with mortar joints,
// each brick's shade a little different, and a floor.
func bricks(c *canvas, rng *rand.Rand, c0, other rgb, l layout) {
	side := float32(min(c.w, c.h))
	bh := max(4, int(side/13))
	bw := 2 * bh
	joint := max(1, bh/8)
	ox := rng.IntN(bw)
	seed := rng.Int32()
	brick := mix(c0, other, 0.12)
	mortar := mix(c0, rgb{240, 238, 232}, 0.25)
	n := c.w * c.h
	for y := range c.h {
		course := y / bh
		inCourse := y % bh
		shift := ox + (course%2)*bw/2
		floor := float32(y) > l.horizon
		for x := range c.w {
			i := y*c.w + x
			var col rgb
			switch {
			case floor:
				col = scaled(c0, 0.86)
			case inCourse < joint || (x+shift)%bw < joint:
				col = mortar
			default:
				k := 1 + 0.07*hash2(int32((x+shift)/bw)+seed, int32(course))
				col = scaled(brick, k)
			}
			for ch := range 3 {
				c.pix[ch*n+i] = col[ch]
			}
		}
	}
}

// street is an out-of-focus city: a pale sky, buildings of muted palette
// colours with rows of windows, and a pavement with a kerb.
func street(c *canvas, rng *rand.Rand, pal palette, l layout) {
	c0 := pal.cols[0]
	sky := mix(c0, rgb{235, 238, 242}, 0.12)
	top := make([]float32, c.w)
	tone := make([]rgb, c.w)
	winW := max(3, c.w/40)
	for x := 0; x < c.w; {
		bw := int(float32(c.w) * (0.12 + 0.16*rng.Float32()))
		ht := float32(c.h) * (0.08 + 0.3*rng.Float32())
		// Mostly the dominant colour: the reference's main colour stays the
		// picture's main colour, as the validator's palette check expects.
		col := mix(c0, pal.cols[rng.IntN(len(pal.cols))], 0.05+0.15*rng.Float32())
		col = scaled(col, 0.9+0.1*rng.Float32())
		for k := x; k < min(x+bw, c.w); k++ {
			top[k], tone[k] = ht, col
		}
		x += bw
	}
	kerb := l.horizon
	n := c.w * c.h
	for y := range c.h {
		fy := float32(y)
		for x := range c.w {
			i := y*c.w + x
			var col rgb
			switch {
			case fy > kerb+0.01*float32(c.h):
				col = scaled(c0, 0.86)
			case fy > kerb:
				col = scaled(c0, 0.95)
			case fy < top[x]:
				col = sky
			default:
				col = tone[x]
				// Windows: a grid of darker panes.
				if (x%(2*winW)) > winW/2 && (y%(3*winW)) > winW && fy < kerb-float32(2*winW) {
					col = scaled(col, 0.88)
				}
			}
			for ch := range 3 {
				c.pix[ch*n+i] = col[ch]
			}
		}
	}
}

// nature is sky, two ranges of rolling hills and a meadow.
func nature(c *canvas, rng *rand.Rand, pal palette, l layout) {
	c0 := pal.cols[0]
	green := pal.cols[0]
	for _, col := range pal.cols {
		if col[1]-max(col[0], col[2]) > green[1]-max(green[0], green[2]) {
			green = col
		}
	}
	// Hills in shades of the dominant colour, foliage in the palette's own
	// green when it has one: a mix of two palette colours would be a colour
	// the reference does not have.
	sky := mix(c0, rgb{225, 235, 245}, 0.08)
	far := scaled(c0, 0.93)
	near := scaled(c0, 0.85)
	if green[1] > green[0]+10 && green[1] > green[2]+10 && green != c0 {
		near = green
	}
	meadow := scaled(c0, 0.95)
	p1, p2 := rng.Float64()*6, rng.Float64()*6
	ridge1 := make([]float32, c.w)
	ridge2 := make([]float32, c.w)
	for x := range c.w {
		t := float64(x) / float64(c.w)
		ridge1[x] = float32(c.h) * float32(0.3+0.06*math.Sin(5*t+p1)+0.03*math.Sin(13*t+p2))
		ridge2[x] = float32(c.h) * float32(0.45+0.05*math.Sin(3*t+p2)+0.025*math.Sin(17*t+p1))
	}
	n := c.w * c.h
	for y := range c.h {
		fy := float32(y)
		for x := range c.w {
			var col rgb
			switch {
			case fy > l.horizon:
				col = meadow
			case fy > ridge2[x]:
				col = near
			case fy > ridge1[x]:
				col = far
			default:
				col = mix(sky, c0, fy/float32(c.h))
			}
			i := y*c.w + x
			for ch := range 3 {
				c.pix[ch*n+i] = col[ch]
			}
		}
	}
}

// tabletop is a flat lay's surface seen from above: the dominant colour
// with a faint large grain, no floor or horizon.
func tabletop(c *canvas, rng *rand.Rand, c0 rgb) {
	off := rng.Float32() * 100
	side := float32(min(c.w, c.h))
	n := c.w * c.h
	for y := range c.h {
		for x := range c.w {
			k := 1 + 0.025*vnoise(float32(x)/side*6+off, float32(y)/side*40)
			i := y*c.w + x
			for ch := range 3 {
				c.pix[ch*n+i] = c0[ch] * k
			}
		}
	}
}
