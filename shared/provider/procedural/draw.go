package procedural

import (
	"image"
	"image/draw"
	"math"
	"math/rand/v2"

	"golang.org/x/image/vector"
)

// layout is where the seed puts things: the garment's placement (garment
// units to pixels), the light's direction and the backdrop's horizon.
type layout struct {
	w, h     int
	cx, cy   float32 // garment centre, px
	s        float32 // px per garment unit
	cos, sin float32 // garment rotation
	flip     float32 // 1, or −1 when mirrored
	lx, ly   float32 // unit vector towards the key light, image axes
	horizon  float32 // floor line, px from the top
}

func newLayout(w, h int, rng *rand.Rand, sc scene) layout {
	side := float32(min(w, h))
	l := layout{w: w, h: h}
	off := float32(sc.offset) * float32(w)
	if rng.IntN(2) == 0 {
		off = -off
	}
	l.cx = float32(w)/2 + off + float32(rng.NormFloat64())*0.11*side
	l.cy = float32(h)/2 + float32(rng.NormFloat64())*0.07*side
	l.s = side * 0.4 * float32(sc.scale) * float32(0.82+0.24*rng.Float64())
	theta := rng.NormFloat64()*0.05 + sc.tilt*float64(1-2*rng.IntN(2))
	if sc.flat {
		theta += (rng.Float64() - 0.5) * 0.6
	}
	l.cos, l.sin = float32(math.Cos(theta)), float32(math.Sin(theta))
	l.flip = 1
	if rng.IntN(2) == 0 {
		l.flip = -1
	}
	// The key light comes from above, from one side or the other.
	a := -math.Pi/2 + (0.3+0.7*rng.Float64())*float64(1-2*rng.IntN(2))
	if sc.light == lightGolden {
		a = -math.Pi/2 + 1.25*float64(1-2*rng.IntN(2)) // low, raking
	}
	l.lx, l.ly = float32(math.Cos(a)), float32(math.Sin(a))
	l.horizon = l.cy + l.s*float32(0.75+0.2*rng.Float64())
	return l
}

// at maps garment units to pixels.
func (l layout) at(u, v float32) (x, y float32) {
	u *= l.flip * l.s
	v *= l.s
	return l.cx + u*l.cos - v*l.sin, l.cy + u*l.sin + v*l.cos
}

// units maps pixels to garment units.
func (l layout) units(x, y float32) (u, v float32) {
	dx, dy := x-l.cx, y-l.cy
	return (dx*l.cos + dy*l.sin) / l.s * l.flip, (-dx*l.sin + dy*l.cos) / l.s
}

// lighting is the frame-wide light of the scene's lighting words.
func (l layout) lighting(sc scene, pal palette) lighting {
	lt := lighting{tint: rgb{1, 1, 1}}
	dir, vig := float32(0.05), float32(0.03)
	switch sc.light {
	case lightGolden:
		dir, vig = 0.16, 0.1
		lt.tint = rgb{1.03, 1, 0.95}
	case lightStudio:
		dir, vig = 0.03, 0.16
	case lightLowKey:
		dir, vig = 0.14, 0.25
	case lightNeon:
		dir, vig = 0.05, 0.22
		n := pal.vivid()
		for ch := range 3 {
			lt.tint[ch] = 0.97 + 0.06*n[ch]/255
		}
	case lightOvercast:
		dir, vig = 0.02, 0.03
	}
	if sc.night {
		vig = max(vig, 0.2)
	}
	// The falloff runs away from the light: brighter on its side.
	lt.dx, lt.dy = -dir*l.lx*float32(sc.contrast), -dir*l.ly*float32(sc.contrast)*0.5
	lt.vignette = vig
	return lt
}

// colours are the garment's paint, by part tone.
type colours [4]rgb

func garmentColours(pal palette, rng *rand.Rand, sc scene) colours {
	main := pal.pickGarment(rng)
	trim := main
	for range 4 {
		if t := pal.pickGarment(rng); t != main {
			trim = t
			break
		}
	}
	if trim == main || sc.tonal {
		// Monochrome: one colour head to toe, its trim a shade darker.
		trim = scaled(main, 0.8)
	}
	dark := pal.darkest()
	dark = scaled(dark, 0.55)
	return colours{toneMain: main, toneTrim: trim, toneDark: dark, toneShade: scaled(main, 0.84)}
}

func scaled(c rgb, k float32) rgb { return rgb{c[0] * k, c[1] * k, c[2] * k} }

// darkest is the palette colour of lowest luma.
func (p palette) darkest() rgb {
	best := p.cols[0]
	for _, c := range p.cols[1:] {
		if luma(c) < luma(best) {
			best = c
		}
	}
	return best
}

// vivid is the most saturated palette colour (the neon tube's colour).
func (p palette) vivid() rgb {
	best, sat := p.cols[0], float32(-1)
	for _, c := range p.cols {
		s := max(c[0], c[1], c[2]) - min(c[0], c[1], c[2])
		if s > sat {
			best, sat = c, s
		}
	}
	return best
}

func luma(c rgb) float32 { return 0.299*c[0] + 0.587*c[1] + 0.114*c[2] }

// mask is one part's coverage, rasterised in its bounding box.
type mask struct {
	r    image.Rectangle
	a    *image.Alpha
	tone int
}

// rasterise draws an outline (garment units) into a coverage mask.
func rasterise(z *vector.Rasterizer, l layout, ps []pt, tone int) mask {
	bx0, by0, bx1, by1 := float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Inf(-1))
	xy := make([][2]float32, len(ps))
	for i, p := range ps {
		x, y := l.at(p.x, p.y)
		xy[i] = [2]float32{x, y}
		bx0, by0, bx1, by1 = min(bx0, x), min(by0, y), max(bx1, x), max(by1, y)
	}
	r := image.Rect(int(bx0)-1, int(by0)-1, int(bx1)+2, int(by1)+2).Intersect(image.Rect(0, 0, l.w, l.h))
	if r.Empty() {
		return mask{}
	}
	z.Reset(r.Dx(), r.Dy())
	ox, oy := float32(r.Min.X), float32(r.Min.Y)
	n := len(ps)
	// entry is where the outline arrives at vertex i: the vertex itself, or
	// the start of its rounded corner.
	lerp := func(i, j int, t float32) (float32, float32) {
		return xy[i][0] + (xy[j][0]-xy[i][0])*t - ox, xy[i][1] + (xy[j][1]-xy[i][1])*t - oy
	}
	corner := func(i int, first bool) {
		prev, next := (i+n-1)%n, (i+1)%n
		rr := ps[i].r / 2
		if rr <= 0 {
			if first {
				z.MoveTo(xy[i][0]-ox, xy[i][1]-oy)
			} else {
				z.LineTo(xy[i][0]-ox, xy[i][1]-oy)
			}
			return
		}
		ax, ay := lerp(i, prev, rr)
		bx, by := lerp(i, next, rr)
		if first {
			z.MoveTo(ax, ay)
		} else {
			z.LineTo(ax, ay)
		}
		z.QuadTo(xy[i][0]-ox, xy[i][1]-oy, bx, by)
	}
	for i := range n {
		corner(i, i == 0)
	}
	z.ClosePath()
	a := image.NewAlpha(image.Rect(0, 0, r.Dx(), r.Dy()))
	z.DrawOp = draw.Src
	z.Draw(a, a.Bounds(), image.Opaque, image.Point{})
	return mask{r: r, a: a, tone: tone}
}

// field is a low-resolution float image sampled bilinearly (fieldRows),
// cell centres at (i+½)·f: coverage, shading and shadow vary slowly, so they
// are worked out on a grid f pixels apart instead of per pixel.
type field struct {
	w, h, f int
	v       []float32
}

func newField(w, h, f int) field {
	fw, fh := (w+f-1)/f, (h+f-1)/f
	return field{w: fw, h: fh, f: f, v: make([]float32, fw*fh)}
}

// cell is the grid cell at or before pixel coordinate p and the weight of
// the next one, clamped to the grid of n cells.
func (fl *field) cell(p float32, n int) (int, float32) {
	g := p/float32(fl.f) - 0.5
	if g <= 0 {
		return 0, 0
	}
	i := int(g) // g > 0: truncation is floor
	if i >= n-1 {
		return n - 1, 0
	}
	return i, g - float32(i)
}

// fieldRows samples fields along pixel rows: per column the cell and
// weight are worked out once, per row the two grid rows are blended once,
// so a pixel costs one lerp instead of a bilinear lookup.
type fieldRows struct {
	ix  []int32
	tx  []float32
	row []float32
}

// newFieldRows prepares sampling at pixel columns x0+ox … x1−1+ox.
func newFieldRows(fl *field, x0, x1 int, ox float32) fieldRows {
	r := fieldRows{ix: make([]int32, x1-x0), tx: make([]float32, x1-x0), row: make([]float32, fl.w)}
	for x := x0; x < x1; x++ {
		i, t := fl.cell(float32(x)+ox, fl.w)
		r.ix[x-x0], r.tx[x-x0] = int32(i), t
	}
	return r
}

// load blends the grid rows around pixel row y into r.row.
func (r *fieldRows) load(fl *field, y float32) {
	iy, ty := fl.cell(y, fl.h)
	a := fl.v[iy*fl.w : (iy+1)*fl.w]
	y1 := min(iy+1, fl.h-1)
	b := fl.v[y1*fl.w : (y1+1)*fl.w]
	for i := range r.row {
		r.row[i] = a[i] + (b[i]-a[i])*ty
	}
}

// at is the loaded row at the k-th prepared column.
func (r *fieldRows) at(k int) float32 {
	i := r.ix[k]
	a := r.row[i]
	return a + (r.row[min(int(i)+1, len(r.row)-1)]-a)*r.tx[k]
}

// blur box-blurs the field twice with radius r (cells), zero outside.
func (fl *field) blur(r int) {
	tmp := make([]float32, max(fl.w, fl.h))
	pass := func(n, stride, count, step int) {
		for k := range count {
			base := k * step
			for i := range n {
				tmp[i] = fl.v[base+i*stride]
			}
			var s float32
			for i := range min(r, n) {
				s += tmp[i]
			}
			inv := 1 / float32(2*r+1)
			for i := range n {
				if j := i + r; j < n {
					s += tmp[j]
				}
				fl.v[base+i*stride] = s * inv
				if j := i - r; j >= 0 {
					s -= tmp[j]
				}
			}
		}
	}
	for range 2 {
		pass(fl.w, 1, fl.h, fl.w)
		pass(fl.h, fl.w, fl.w, 1)
	}
}

// drawGarment rasterises the scene's garment, lays its contact shadow on
// the backdrop and paints it: part colours, form and fold shading, the
// material's texture and sheen, seams and buttons.
func drawGarment(c *canvas, rng *rand.Rand, sc scene, l layout, cols colours) {
	sh := shapeOf(sc.garment)
	// Per-seed variation of the folds: a real garment never hangs the same way twice.
	for i := range sh.folds {
		f := &sh.folds[i]
		f.x0 += float32(rng.NormFloat64()) * 0.04
		f.x1 += float32(rng.NormFloat64()) * 0.06
		f.depth *= float32(0.7 + 0.6*rng.Float64())
	}
	z := vector.NewRasterizer(1, 1)
	masks := make([]mask, 0, len(sh.parts))
	for _, p := range sh.parts {
		if m := rasterise(z, l, p.outline, p.tone); m.a != nil {
			masks = append(masks, m)
		}
	}
	if len(masks) == 0 {
		return
	}
	f := max(1, min(c.w, c.h)/256)
	cov := newField(c.w, c.h, f)
	inv := 1 / float32(255*f*f)
	for _, m := range masks {
		for y := range m.r.Dy() {
			row := m.a.Pix[y*m.a.Stride : y*m.a.Stride+m.r.Dx()]
			fy := (m.r.Min.Y + y) / f * cov.w
			for x, a := range row {
				if a != 0 {
					cov.v[fy+(m.r.Min.X+x)/f] += float32(a) * inv
				}
			}
		}
	}
	for i, v := range cov.v {
		cov.v[i] = min(v, 1)
	}
	hard := field{w: cov.w, h: cov.h, f: f, v: append([]float32(nil), cov.v...)}
	side := float32(min(c.w, c.h))
	cov.blur(max(1, int(0.022*side)/f))

	bounds := masks[0].r
	for _, m := range masks[1:] {
		bounds = bounds.Union(m.r)
	}
	pad := int(0.12 * side)
	around := bounds.Inset(-pad).Intersect(image.Rect(0, 0, c.w, c.h))

	drawShadow(c, &cov, l, sc, around)
	if sc.motion {
		drawTrails(c, &hard, l, cols[toneMain], around)
	}
	shade, edge := shadingFields(&cov, &hard, sh, l, sc)
	mat := materialOf(sc.material, l.s)
	neon := sc.light == lightNeon
	var neonCol rgb
	if neon {
		neonCol = rgb{255, 255, 255}
	}
	n := c.w * c.h
	for _, m := range masks {
		col := cols[m.tone]
		shadeRow := newFieldRows(&shade, m.r.Min.X, m.r.Max.X, 0)
		edgeRow := newFieldRows(&edge, m.r.Min.X, m.r.Max.X, 0)
		for y := range m.r.Dy() {
			py := m.r.Min.Y + y
			shadeRow.load(&shade, float32(py))
			if neon {
				edgeRow.load(&edge, float32(py))
			}
			row := m.a.Pix[y*m.a.Stride : y*m.a.Stride+m.r.Dx()]
			u, v := l.units(float32(m.r.Min.X), float32(py))
			du, dv := l.cos/l.s*l.flip, -l.sin/l.s
			for x, a8 := range row {
				if a8 == 0 {
					u, v = u+du, v+dv
					continue
				}
				a := float32(a8) / 255
				sd := shadeRow.at(x)
				tex := mat.texture(u, v)
				spec := mat.specular(sd)
				i := py*c.w + m.r.Min.X + x
				var rim float32
				if neon {
					rim = edgeRow.at(x) * 0.5
				}
				for ch := range 3 {
					p := &c.pix[ch*n+i]
					val := col[ch]*sd + tex
					val += (255 - val) * spec
					val += (neonCol[ch]*0.6 + col[ch]*0.4 - val) * rim
					*p += (val - *p) * a
				}
				u, v = u+du, v+dv
			}
		}
	}
	drawLines(c, sh, l, cols, sc)
	for _, b := range sh.buttons {
		x, y := l.at(b.x, b.y)
		disc(c, x, y, b.r*l.s, cols[toneDark], 1)
		disc(c, x-0.3*b.r*l.s, y-0.3*b.r*l.s, 0.35*b.r*l.s, rgb{230, 230, 230}, 0.35)
	}
}

// shadingFields works out, on the coverage grid, the garment's shading
// (1 = its flat colour): rounded towards its edges and lit from the key
// light's side, with its folds; and its edge, 1 at the silhouette's rim.
func shadingFields(cov, hard *field, sh shape, l layout, sc scene) (shade, edge field) {
	shade = field{w: cov.w, h: cov.h, f: cov.f, v: make([]float32, len(cov.v))}
	edge = field{w: cov.w, h: cov.h, f: cov.f, v: make([]float32, len(cov.v))}
	k := float32(sc.contrast)
	foldK := k * materialFolds[sc.material]
	// The fold's lit side: its normal's agreement with the light, in garment axes.
	lu, lv := (l.lx*l.cos+l.ly*l.sin)*l.flip, -l.lx*l.sin+l.ly*l.cos
	type fl struct {
		x0, y0, dx, dy, ll, w, depth, side float32
	}
	folds := make([]fl, 0, len(sh.folds))
	for _, f := range sh.folds {
		dx, dy := f.x1-f.x0, f.y1-f.y0
		ll := dx*dx + dy*dy
		nl := float32(math.Sqrt(float64(ll)))
		side := (-dy*lu + dx*lv) / nl
		folds = append(folds, fl{f.x0, f.y0, dx, dy, ll, f.w, f.depth, side})
	}
	f := float32(cov.f)
	gscale := 0.022 * float32(min(l.w, l.h)) / f // gradient → about −1…1
	for gy := range cov.h {
		for gx := range cov.w {
			i := gy*cov.w + gx
			if hard.v[i] == 0 && cov.v[i] == 0 {
				continue
			}
			b := cov.v[i]
			rim := clamp01((b - 0.5) * 2.2)
			ddx := (cov.v[gy*cov.w+min(gx+1, cov.w-1)] - cov.v[gy*cov.w+max(gx-1, 0)]) * gscale
			ddy := (cov.v[min(gy+1, cov.h-1)*cov.w+gx] - cov.v[max(gy-1, 0)*cov.w+gx]) * gscale
			// The outward normal is −∇b: rims facing the light are brighter.
			facing := -(ddx*l.lx + ddy*l.ly)
			x, y := (float32(gx)+0.5)*f, (float32(gy)+0.5)*f
			u, v := l.units(x, y)
			s := 1 + k*(0.22*facing-0.2*(1-rim)+0.05*(u*lu+v*lv))
			for _, fo := range folds {
				px, py := u-fo.x0, v-fo.y0
				t := (px*fo.dx + py*fo.dy) / fo.ll
				if t < 0 || t > 1 {
					continue
				}
				ex, ey := px-t*fo.dx, py-t*fo.dy
				d := (ex*-fo.dy + ey*fo.dx) / float32(math.Sqrt(float64(fo.ll))) / fo.w
				if d <= -1.6 || d >= 1.6 {
					continue
				}
				g := 1 - d*d/2.56
				g *= g
				taper := 4 * t * (1 - t)
				s += foldK * fo.depth * taper * (1.5*d*g*sgn(fo.side) - 0.5*g*g)
			}
			shade.v[i] = s
			edge.v[i] = 1 - rim
		}
	}
	return shade, edge
}

func sgn(v float32) float32 {
	if v < 0 {
		return -1
	}
	return 1
}

// drawShadow darkens the backdrop under and behind the garment: a soft
// contact shadow offset away from the light.
func drawShadow(c *canvas, cov *field, l layout, sc scene, r image.Rectangle) {
	side := float32(min(c.w, c.h))
	ox, oy := -l.lx*0.035*side, 0.03*side
	strength := float32(0.2)
	if sc.flat {
		ox, oy, strength = ox*0.4, 0.012*side, 0.22
	}
	if sc.light == lightOvercast {
		strength *= 0.6
	}
	n := c.w * c.h
	rows := newFieldRows(cov, r.Min.X, r.Max.X, -ox)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		rows.load(cov, float32(y)-oy)
		for x := r.Min.X; x < r.Max.X; x++ {
			s := rows.at(x - r.Min.X)
			if s <= 0.002 {
				continue
			}
			k := 1 - strength*s
			i := y*c.w + x
			c.pix[i] *= k
			c.pix[n+i] *= k
			c.pix[2*n+i] *= k
		}
	}
}

// drawTrails leaves faint after-images of the garment behind it, as a
// moving subject leaves on a slow shutter; the garment itself stays sharp.
func drawTrails(c *canvas, hard *field, l layout, col rgb, r image.Rectangle) {
	step := 0.045 * float32(min(c.w, c.h))
	dx := -l.cos * step * sgn(l.flip)
	for k := 1; k <= 3; k++ {
		a := 0.22 / float32(k)
		rows := newFieldRows(hard, r.Min.X, r.Max.X, -dx*float32(k))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			rows.load(hard, float32(y))
			for x := r.Min.X; x < r.Max.X; x++ {
				if s := rows.at(x - r.Min.X); s > 0.01 {
					c.blend(y*c.w+x, col, a*s)
				}
			}
		}
	}
}

// drawLines draws seams (a darker line) and topstitching (dashes in the
// trim colour, lighter).
func drawLines(c *canvas, sh shape, l layout, cols colours, sc scene) {
	width := max(0.5, 0.004*l.s)
	for _, ln := range sh.lines {
		col := scaled(cols[toneMain], 0.62)
		if ln.dashed {
			col = cols[toneTrim]
			if sc.material == Denim {
				col = rgb{min(255, col[0]*1.15+30), min(255, col[1]*1.1+20), col[2] * 0.8} // contrast thread
			}
		}
		for i := 0; i+1 < len(ln.pts); i++ {
			x0, y0 := l.at(ln.pts[i].x, ln.pts[i].y)
			x1, y1 := l.at(ln.pts[i+1].x, ln.pts[i+1].y)
			if !ln.dashed {
				segment{x0, y0, x1, y1, width, col}.draw(c)
				continue
			}
			length := float32(math.Hypot(float64(x1-x0), float64(y1-y0)))
			dash := max(2.5, 0.025*l.s)
			for t := float32(0); t < length; t += 2 * dash {
				a, b := t/length, min(t+dash, length)/length
				segment{x0 + (x1-x0)*a, y0 + (y1-y0)*a, x0 + (x1-x0)*b, y0 + (y1-y0)*b, width * 0.8, col}.draw(c)
			}
		}
	}
}

// disc paints a soft-edged disc of radius r with opacity a.
func disc(c *canvas, cx, cy, r float32, col rgb, a float32) {
	x0, x1 := clampInt(int(cx-r-1), 0, c.w), clampInt(int(cx+r+2), 0, c.w)
	y0, y1 := clampInt(int(cy-r-1), 0, c.h), clampInt(int(cy+r+2), 0, c.h)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			d := float32(math.Hypot(float64(float32(x)-cx), float64(float32(y)-cy)))
			if k := clamp01(r - d + 0.5); k > 0 {
				c.blend(y*c.w+x, col, k*a)
			}
		}
	}
}

type segment struct {
	x0, y0, x1, y1, width float32
	col                   rgb
}

func (s segment) draw(c *canvas) {
	pad := s.width + 2
	bx0 := clampInt(int(min(s.x0, s.x1)-pad), 0, c.w)
	bx1 := clampInt(int(max(s.x0, s.x1)+pad+1), 0, c.w)
	by0 := clampInt(int(min(s.y0, s.y1)-pad), 0, c.h)
	by1 := clampInt(int(max(s.y0, s.y1)+pad+1), 0, c.h)
	vx, vy := s.x1-s.x0, s.y1-s.y0
	ll := vx*vx + vy*vy
	if ll == 0 {
		return
	}
	for y := by0; y < by1; y++ {
		for x := bx0; x < bx1; x++ {
			px, py := float32(x)-s.x0, float32(y)-s.y0
			t := clamp01((px*vx + py*vy) / ll)
			ex, ey := px-t*vx, py-t*vy
			d := float32(math.Sqrt(float64(ex*ex + ey*ey)))
			a := clamp01(s.width - d + 0.5)
			if a > 0 {
				c.blend(y*c.w+x, s.col, a*0.85)
			}
		}
	}
}
