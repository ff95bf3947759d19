//! SVG charts for the HTML report, drawn with plotters' SVG backend (text is escaped by it).
//!
//! Each function returns one `<svg>` element as a string. Output is deterministic: the same
//! points in the same order give the same bytes.

use super::ReportError;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// The largest magnitude a coordinate may have to be drawn; beyond it the point is left
/// out (a value near `f64::MAX` is a corrupt file, not a measurement).
const MAX_PLOTTABLE: f64 = 1e300;

/// Chart size in pixels.
const SIZE: (u32, u32) = (640, 360);

/// Series colors, in group order (a color-blind-friendly set; cycles past eight groups).
const COLORS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

/// The color of series `i`.
pub fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// One named series of (x, y) points.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A chart: title, axis labels, scales and series.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_log: bool,
    pub y_log: bool,
    /// Draw lines through the points (time series) instead of markers.
    pub lines: bool,
    /// The x values are counts (layers): label whole numbers only.
    pub x_integer: bool,
    pub series: Vec<Series>,
}

impl Chart {
    /// True when no series has a point that can be drawn on the chart's scales.
    pub fn is_empty(&self) -> bool {
        self.series
            .iter()
            .all(|s| s.points.iter().all(|p| !self.drawable(*p)))
    }

    /// A point can be drawn when both coordinates are finite and far enough from the
    /// ends of `f64` that padding the axis stays finite (an infinite axis never ends its
    /// tick loop), and positive on a log axis.
    fn drawable(&self, (x, y): (f64, f64)) -> bool {
        let plottable = |v: f64| v.is_finite() && v.abs() <= MAX_PLOTTABLE;
        plottable(x) && plottable(y) && (!self.x_log || x > 0.0) && (!self.y_log || y > 0.0)
    }

    /// Renders the chart as an `<svg>` element.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|p| self.drawable(*p))
            .collect();
        // A log axis over less than about a decade gets no ticks: use a linear one there.
        let x_log = self.x_log && wide(pts.iter().map(|p| p.0));
        let y_log = self.y_log && wide(pts.iter().map(|p| p.1));
        let xr = span(pts.iter().map(|p| p.0), x_log);
        let mut yr = span(pts.iter().map(|p| p.1), y_log);
        // Headroom for the legend in the upper left corner.
        let legend = self.series.iter().filter(|s| !s.points.is_empty()).count() as f64;
        if y_log {
            yr.1 *= 1.0 + 0.5 * legend;
        } else {
            yr.1 += (yr.1 - yr.0) * 0.08 * legend;
        }
        let mut labelled = self.clone();
        if x_log {
            labelled.x_label.push_str(" (log scale)");
        }
        if y_log {
            labelled.y_label.push_str(" (log scale)");
        }
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            let r = match (x_log, y_log) {
                (false, false) => draw(&root, &labelled, xr.0..xr.1, yr.0..yr.1),
                (true, false) => draw(&root, &labelled, (xr.0..xr.1).log_scale(), yr.0..yr.1),
                (false, true) => draw(&root, &labelled, xr.0..xr.1, (yr.0..yr.1).log_scale()),
                (true, true) => draw(
                    &root,
                    &labelled,
                    (xr.0..xr.1).log_scale(),
                    (yr.0..yr.1).log_scale(),
                ),
            };
            r.map_err(|e| ReportError::Chart(format!("{}: {e}", self.title)))?;
            root.present()
                .map_err(|e| ReportError::Chart(format!("{}: {e}", self.title)))?;
        }
        Ok(svg)
    }
}

/// True when the positive `values` span at least a factor of 20 (worth a log axis).
fn wide(values: impl Iterator<Item = f64>) -> bool {
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    lo > 0.0 && hi / lo >= 20.0
}

/// The axis range of `values`, padded; a single value or none gets a sensible span.
/// Whole numbers on a linear axis (layer counts) get half a unit each side.
fn span(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let v: Vec<f64> = values.collect();
    let (mut lo, mut hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    if !lo.is_finite() || !hi.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        lo /= 1.6;
        hi *= 1.6;
    } else if v.iter().all(|x| x.fract() == 0.0) && hi - lo <= 50.0 {
        lo -= 0.5;
        hi += 0.5;
    } else {
        if lo == hi {
            lo -= lo.abs().max(1.0) * 0.5;
            hi += hi.abs().max(1.0) * 0.5;
        }
        let pad = (hi - lo) * 0.06;
        lo = if lo >= 0.0 {
            (lo - pad).max(0.0)
        } else {
            lo - pad
        };
        hi += pad;
    }
    (lo, hi)
}

/// Short tick labels: `1.5k`, `20M`, `0.25`.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    let (value, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if value.abs() >= 100.0 || value == value.trunc() {
        0
    } else if value.abs() >= 1.0 {
        1
    } else {
        3
    };
    format!("{}{suffix}", super::view::num(value, digits))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw<X, Y>(
    root: &Area,
    chart: &Chart,
    x: X,
    y: Y,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE)?;
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)?;
    let x_fmt = |v: &f64| {
        if chart.x_integer && v.fract().abs() > 1e-9 {
            String::new()
        } else {
            tick(*v)
        }
    };
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(RGBColor(235, 235, 235))
        .label_style(("sans-serif", 12))
        .draw()?;
    for (i, s) in chart.series.iter().enumerate() {
        let c = color(i);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| chart.drawable(*p))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let anno = if chart.lines {
            ctx.draw_series(LineSeries::new(pts, c.stroke_width(2)))?
        } else {
            ctx.draw_series(
                pts.into_iter()
                    .map(|p| Circle::new(p, 4, c.mix(0.8).filled())),
            )?
        };
        anno.label(s.name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 12, y + 4)], c.filled()));
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(RGBColor(180, 180, 180))
        .background_style(WHITE.mix(0.85))
        .label_font(("sans-serif", 12))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_escapes_series_names_and_is_deterministic() {
        let chart = Chart {
            title: "t <b>".into(),
            x_log: true,
            y_log: true,
            series: vec![Series {
                name: "<script>x</script>".into(),
                points: vec![(10.0, 1.0), (1000.0, 3.0), (-1.0, 2.0)],
            }],
            ..Chart::default()
        };
        let a = chart.to_svg().unwrap();
        assert!(a.starts_with("<svg"));
        assert!(
            !a.contains("<script>") && a.contains("&lt;script&gt;"),
            "{a}"
        );
        assert_eq!(a, chart.to_svg().unwrap());
        assert!(!chart.is_empty());
    }

    #[test]
    fn empty_and_single_point_charts_render() {
        let c = Chart {
            series: vec![Series {
                name: "a".into(),
                points: vec![(5.0, 5.0)],
            }],
            ..Chart::default()
        };
        assert!(c.to_svg().unwrap().contains("<circle"));
        let e = Chart::default();
        assert!(e.is_empty());
        assert!(e.to_svg().is_ok());
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(44543.0), "44.5k");
        assert_eq!(tick(2_000_000.0), "2M");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(100.0), "100");
    }
}
