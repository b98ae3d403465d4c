package bench

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot draws, for each report, pages per second per pass (grouped bars)
// above the fault-latency distribution (latency against percentile, log
// axes), and writes the image to w as a PNG.
func Plot(w io.Writer, reports ...*Report) error {
	if len(reports) == 0 {
		return fmt.Errorf("plot: no reports")
	}
	rates, err := ratePlot(reports)
	if err != nil {
		return err
	}
	lat, err := latencyPlot(reports)
	if err != nil {
		return err
	}
	img := vgimg.New(8*vg.Inch, 9*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	rates.Draw(tiles.At(dc, 0, 0))
	lat.Draw(tiles.At(dc, 0, 1))
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// label names a report in a legend.
func label(r *Report) string {
	return fmt.Sprintf("%s (%.0f pages/s)", r.Engine, r.PagesPerS)
}

func ratePlot(reports []*Report) (*plot.Plot, error) {
	p := plot.New()
	o := reports[0].Options
	p.Title.Text = fmt.Sprintf("usemem %d MiB in %d MiB, %s, %s, %d thread(s), %s pages: pages/s per pass",
		o.SizeMiB, o.LimitMiB, o.Comp, o.Access(), o.Threads, o.Pattern)
	p.Y.Label.Text = "pages/s"
	p.X.Label.Text = "pass"
	w := vg.Points(18)
	passes := 0
	for i, r := range reports {
		vals := make(plotter.Values, len(r.Passes))
		for k, ph := range r.Passes {
			vals[k] = ph.PagesPerS
		}
		passes = max(passes, len(vals))
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(2*i-len(reports)+1) / 2
		p.Add(bars)
		p.Legend.Add(label(r), bars)
	}
	names := make([]string, passes)
	for k := range names {
		names[k] = fmt.Sprint(k)
	}
	p.NominalX(names...)
	p.Y.Min = 0
	p.Y.Max *= 1.3 // room for the legend above the bars
	p.Y.Tick.Marker = integerTicks{}
	p.Legend.Top = true
	return p, nil
}

// integerTicks are plot.DefaultTicks labelled without decimals.
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%.0f", ticks[i].Value)
		}
	}
	return ticks
}

// nines maps a percentile to -log10(1-p/100): 90 is 1, 99 is 2, 99.9 is 3.
func nines(pct float64) float64 {
	if pct >= 100 {
		return 6
	}
	return -math.Log10(1 - pct/100)
}

func latencyPlot(reports []*Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "fault latency distribution (every visit of every pass)"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (µs, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: 0, Label: "0"}, {Value: 1, Label: "90"}, {Value: 2, Label: "99"},
		{Value: 3, Label: "99.9"}, {Value: 4, Label: "99.99"}, {Value: 5, Label: "99.999"}, {Value: 6, Label: "max"},
	})
	for i, r := range reports {
		var pts plotter.XYs
		for _, q := range r.Latency.Curve {
			if q.Percentile == 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: nines(q.Percentile), Y: math.Max(float64(q.Nanos)/1e3, 0.001)})
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color = plotutil.Color(i)
		points.Color = plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(fmt.Sprintf("%s (p50 %.1f µs, p99 %.1f µs)", r.Engine, us(r.Latency.P50), us(r.Latency.P99)), line, points)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p, nil
}
