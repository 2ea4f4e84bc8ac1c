package report

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/keyraft/keyraft/jepsen/history"
)

// faultColors shade each kind of fault window; translucent, so the points
// under them stay visible.
var faultColors = map[string]color.NRGBA{
	"kill":      {R: 230, G: 60, B: 60, A: 50},
	"pause":     {R: 240, G: 160, B: 0, A: 60},
	"partition": {R: 140, G: 60, B: 200, A: 45},
	"seal":      {R: 40, G: 120, B: 230, A: 45},
}

var statusColors = map[history.Status]color.NRGBA{
	history.OK:   {R: 30, G: 150, B: 60, A: 160},
	history.Fail: {R: 40, G: 90, B: 220, A: 200},
	history.Info: {R: 220, G: 30, B: 30, A: 220},
}

// maxPoints bounds the latency scatter: beyond it every k-th op is drawn.
const maxPoints = 30000

// Plot writes a PNG of latency (top, log scale, one point per op coloured
// by outcome) and throughput (bottom, ops/s by outcome) over time, with
// every fault window shaded, as Jepsen's latency-raw.png and rate.png.
func Plot(path string, ops []history.Op, faults []history.Fault, title string) error {
	var end float64
	for _, op := range ops {
		end = max(end, float64(op.CompleteNS)/1e9)
	}
	for _, f := range faults {
		end = max(end, float64(f.EndNS)/1e9)
	}
	lat, err := latencyPlot(ops, faults, title)
	if err != nil {
		return err
	}
	rate, err := ratePlot(ops, faults, end)
	if err != nil {
		return err
	}
	for _, p := range []*plot.Plot{lat, rate} {
		p.X.Min, p.X.Max = 0, end
	}
	img := vgimg.New(30*vg.Centimeter, 20*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Millimeter * 2, PadTop: vg.Millimeter, PadBottom: vg.Millimeter,
		PadLeft: vg.Millimeter, PadRight: vg.Millimeter * 2}
	plots := [][]*plot.Plot{{lat}, {rate}}
	canvases := plot.Align(plots, tiles, dc)
	lat.Draw(canvases[0][0])
	rate.Draw(canvases[1][0])
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func latencyPlot(ops []history.Op, faults []history.Fault, title string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "latency (ms)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	step := max(1, len(ops)/maxPoints)
	points := map[history.Status]plotter.XYs{}
	for i := 0; i < len(ops); i += step {
		op := ops[i]
		ms := max(float64(op.Latency())/1e6, 0.1) // log scale: no zeros
		points[op.Status] = append(points[op.Status], plotter.XY{X: float64(op.InvokeNS) / 1e9, Y: ms})
	}
	p.Y.Min, p.Y.Max = 0.1, 10
	for _, xys := range points {
		for _, xy := range xys {
			p.Y.Max = max(p.Y.Max, xy.Y*1.5)
		}
	}
	shade(p, faults) // first, so the points are drawn over it
	for _, st := range []history.Status{history.OK, history.Fail, history.Info} {
		xys := points[st]
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = statusColors[st]
		s.GlyphStyle.Radius = vg.Points(1)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", st, len(xys)*step), s)
	}
	return p, nil
}

func ratePlot(ops []history.Op, faults []history.Fault, end float64) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "ops/s"
	p.Legend.Top = true
	secs := int(end) + 1
	counts := map[history.Status][]float64{}
	for _, st := range []history.Status{history.OK, history.Fail, history.Info} {
		counts[st] = make([]float64, secs)
	}
	for _, op := range ops {
		if s := int(op.CompleteNS / 1e9); s < secs {
			counts[op.Status][s]++
		}
	}
	p.Y.Min, p.Y.Max = 0, 1
	for _, c := range counts {
		for _, n := range c {
			p.Y.Max = max(p.Y.Max, n*1.1)
		}
	}
	shade(p, faults)
	for _, st := range []history.Status{history.OK, history.Fail, history.Info} {
		xys := make(plotter.XYs, secs)
		for s, n := range counts[st] {
			xys[s] = plotter.XY{X: float64(s) + 0.5, Y: n}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.LineStyle.Color = statusColors[st]
		l.LineStyle.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(string(st), l)
	}
	return p, nil
}

// shade adds one translucent rectangle per fault, spanning the plot's Y
// range, and one legend entry per kind.
func shade(p *plot.Plot, faults []history.Fault) {
	kinds := map[string]bool{}
	for _, f := range faults {
		c, ok := faultColors[f.Kind]
		if !ok {
			c = color.NRGBA{R: 128, G: 128, B: 128, A: 50}
		}
		x0, x1 := float64(f.StartNS)/1e9, float64(f.EndNS)/1e9
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: p.Y.Min}, {X: x1, Y: p.Y.Min}, {X: x1, Y: p.Y.Max}, {X: x0, Y: p.Y.Max}})
		if err != nil {
			continue
		}
		poly.Color = c
		poly.LineStyle.Width = 0
		p.Add(poly)
		if !kinds[f.Kind] {
			kinds[f.Kind] = true
			p.Legend.Add(f.Kind, poly)
		}
	}
}
