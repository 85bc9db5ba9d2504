package console

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Charts are drawn on the server as plain SVG elements in the templates
// (templates "linechart" and "barchart" in device.html and fleet.html use
// them): no script is needed to see them, nothing loads from elsewhere,
// and the Content-Security-Policy stays strict (SVG presentation
// attributes and classes, no style attributes). Colours come from classes
// in console.css.

// LineChart is a time series chart with up to a few series.
type LineChart struct {
	Title  string
	Width  int
	Height int
	// Plot area inside the chart.
	Left, Top, Right, Bottom int
	Series                   []LineSeries
	YTicks, XTicks           []Tick
	Empty                    bool
	NoData                   string // said when Empty
}

// LineSeries is one line of a chart: Points is an SVG polyline points list.
type LineSeries struct {
	Name, Class string
	Points      string
	Last        string // the latest value, formatted
}

// Tick is an axis label at a position.
type Tick struct {
	Pos   float64
	Label string
	End   bool // anchor the label at its end (the last one on an axis)
}

// SeriesPoint is one sample of a series.
type SeriesPoint struct {
	T time.Time
	V float64
}

// newLineChart lays out series over [from, to]; yMax 0 scales to the data.
// format renders values for the axis.
func newLineChart(title string, from, to time.Time, yMax float64, format func(float64) string, names, classes []string, data [][]SeriesPoint) LineChart {
	c := LineChart{Title: title, Width: 640, Height: 220, Left: 76, Top: 12, Right: 628, Bottom: 192, NoData: "No telemetry in this range"}
	if yMax <= 0 {
		for _, s := range data {
			for _, p := range s {
				yMax = max(yMax, p.V)
			}
		}
		yMax = niceCeil(yMax)
	}
	span := to.Sub(from).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 {
		return float64(c.Left) + float64(c.Right-c.Left)*t.Sub(from).Seconds()/span
	}
	y := func(v float64) float64 {
		return float64(c.Bottom) - float64(c.Bottom-c.Top)*math.Min(math.Max(v, 0), yMax)/yMax
	}
	c.Empty = true
	for i, s := range data {
		var b strings.Builder
		for j, p := range s {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatFloat(x(p.T), 'f', 1, 64) + "," + strconv.FormatFloat(y(p.V), 'f', 1, 64))
		}
		ls := LineSeries{Name: names[i], Class: classes[i], Points: b.String()}
		if len(s) > 0 {
			c.Empty = false
			ls.Last = format(s[len(s)-1].V)
			if len(s) == 1 {
				// One point: draw a short flat line so it is visible.
				px, py := x(s[0].T), y(s[0].V)
				ls.Points = fmt.Sprintf("%.1f,%.1f %.1f,%.1f", max(px-4, float64(c.Left)), py, min(px+4, float64(c.Right)), py)
			}
		}
		c.Series = append(c.Series, ls)
	}
	for i := 0; i <= 4; i++ {
		v := yMax * float64(i) / 4
		c.YTicks = append(c.YTicks, Tick{Pos: y(v), Label: format(v)})
	}
	layout := "15:04"
	if span > 2*86400 {
		layout = "Jan 2"
	} else if span > 86400/2 {
		layout = "Jan 2 15:04"
	}
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		c.XTicks = append(c.XTicks, Tick{Pos: x(t), Label: t.UTC().Format(layout), End: i == 4})
	}
	return c
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtPct(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" }

func fmtRate(v float64) string {
	units := []string{"B/s", "KB/s", "MB/s", "GB/s"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if v >= 10 || i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " " + units[i]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// BarChart is a horizontal bar chart: one labelled bar per row, optionally
// stacked in two parts (A and B), each row optionally a link.
type BarChart struct {
	Title  string
	Width  int
	Height int
	Label  int // width of the label column
	Bars   []Bar
	Empty  bool
}

// Bar is one row of a BarChart.
type Bar struct {
	Label, Href, Value, Tip string
	Y                       int
	AW, BW                  float64 // widths of the two parts
	AClass, BClass          string
}

// newBarChart lays out rows; a and b are the two parts of each row.
func newBarChart(title string, labels, hrefs, values, tips []string, a, b []float64, aClass, bClass string) BarChart {
	const row = 26
	c := BarChart{Title: title, Width: 640, Label: 200, Empty: len(labels) == 0}
	c.Height = max(row*len(labels)+8, 40)
	var mx float64
	for i := range labels {
		mx = max(mx, a[i]+b[i])
	}
	if mx == 0 {
		mx = 1
	}
	// The value is written after the longest bar: leave it room (about
	// 7.5 px a character at the value's 13 px), so it is never cut off.
	longest := 0
	for _, v := range values {
		longest = max(longest, utf8.RuneCountInString(v))
	}
	plot := float64(c.Width-c.Label) - max(60, 7.5*float64(longest)+16)
	for i, l := range labels {
		c.Bars = append(c.Bars, Bar{Label: l, Href: hrefs[i], Value: values[i], Tip: tips[i], Y: 4 + i*row,
			AW: plot * a[i] / mx, BW: plot * b[i] / mx, AClass: aClass, BClass: bClass})
	}
	return c
}

// fadd adds numbers of any kind, for the templates.
func fadd(a, b any) float64 { return number(a) + number(b) }

func init() {
	funcs["fadd"] = fadd
}
