//! SVG charts for the HTML report, written as plain SVG markup: points, lines through them,
//! or horizontal bars. Every text is escaped here; colors of text, axes and grid come from
//! the page's CSS classes (`tl`, `ax`, `grid`), so the charts follow the dark/light scheme.
//!
//! Output is deterministic: the same points in the same order give the same bytes. Axes
//! come from [`super::axis`], which bounds every loop and never repeats a tick label.

use super::axis::{self, Axis};
use std::fmt::Write;

/// Chart width in pixels (the viewBox; CSS scales it down on narrow screens).
pub const WIDTH: f64 = 640.0;
const TOP: f64 = 34.0;
const RIGHT: f64 = 18.0;
const BOTTOM: f64 = 44.0;
const LEFT: f64 = 64.0;
/// Approximate width of one character of 12 px sans-serif, pixels.
const CHAR_W: f64 = 6.6;
/// Most points of one line (longer series are thinned evenly).
const MAX_LINE_POINTS: usize = 600;

/// Series colors, in group order (a color-blind-friendly set, readable on light and dark).
const COLORS: [&str; 8] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c8c8c", "#c9b400",
];

/// The color of series `i`.
pub fn color(i: usize) -> &'static str {
    COLORS[i % COLORS.len()]
}

/// One named series of (x, y) points. In a bar chart, x is the category index.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    /// The points; in a chart with `lines`, joined in order of x.
    pub points: Vec<(f64, f64)>,
    /// Further points of the series drawn as markers only, never joined (e.g. models of
    /// another depth in a chart against parameters).
    pub unlined: Vec<(f64, f64)>,
}

impl Series {
    /// Every point of the series, joined or not.
    fn all_points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.points.iter().chain(&self.unlined).copied()
    }
}

/// A chart: title, axis labels, scales and series.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Logarithmic x axis when the values span at least 10x (linear otherwise).
    pub x_log: bool,
    /// Logarithmic y (or bar value) axis when the values span at least 10x.
    pub y_log: bool,
    /// Draw lines through the points (sorted by x) instead of markers alone.
    pub lines: bool,
    /// The x values are counts (layers): label whole numbers only.
    pub x_integer: bool,
    /// Non-empty: a horizontal bar chart with one row per category; a series' point
    /// `(k, v)` is its bar of value `v` in category `k`; `x_label` names the value axis.
    pub categories: Vec<String>,
    /// Vertical marks `(x, label)` across the plot, such as phase boundaries.
    pub marks: Vec<(f64, String)>,
    pub series: Vec<Series>,
}

impl Chart {
    /// True when no series has a point that can be drawn on the chart's scales.
    pub fn is_empty(&self) -> bool {
        self.series
            .iter()
            .all(|s| s.all_points().all(|p| !drawable(p)))
    }

    /// The axes of a point chart.
    pub fn point_axes(&self) -> (Axis, Axis) {
        let pts = self.drawn_points();
        let mut xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        // Marks (a framework's frontier, phase boundaries) lie inside the x range.
        xs.extend(
            self.marks
                .iter()
                .map(|m| m.0)
                .filter(|x| x.is_finite() && (!self.x_log || *x > 0.0)),
        );
        let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        (
            axis::axis(&xs, self.x_log, false, self.x_integer),
            // A linear y axis starts at zero, so that bar-like differences are not magnified.
            axis::axis(&ys, self.y_log, true, false),
        )
    }

    /// The value axis of a bar chart.
    pub fn bar_axis(&self) -> Axis {
        let vs: Vec<f64> = self.drawn_points().iter().map(|p| p.1).collect();
        axis::axis(&vs, self.y_log, true, false)
    }

    fn drawn_points(&self) -> Vec<(f64, f64)> {
        self.series
            .iter()
            .flat_map(Series::all_points)
            .filter(|p| drawable(*p))
            .collect()
    }

    /// Renders the chart as one `<svg>` element.
    pub fn to_svg(&self) -> String {
        if self.categories.is_empty() {
            self.points_svg()
        } else {
            self.bars_svg()
        }
    }

    fn legend_height(&self, shown: &[&Series]) -> f64 {
        legend_rows(shown).len() as f64 * 18.0
    }

    fn points_svg(&self) -> String {
        let (xa, ya) = self.point_axes();
        let shown: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| s.all_points().next().is_some())
            .collect();
        let plot_h = 250.0;
        let h = TOP + plot_h + BOTTOM + self.legend_height(&shown);
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, TOP + plot_h);
        let px = |v: f64| x0 + xa.frac(v) * (x1 - x0);
        let py = |v: f64| y1 - ya.frac(v) * (y1 - y0);
        let mut s = open(&self.title, h);
        for (v, l) in &xa.ticks {
            let x = px(*v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}"/><text class="tl" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                y1 + 15.0,
                esc(l)
            );
        }
        for (v, l) in &ya.ticks {
            let y = py(*v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}"/><text class="tl" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                x0 - 6.0,
                y + 4.0,
                esc(l)
            );
        }
        let _ = write!(
            s,
            r#"<path class="ax" d="M{x0:.1} {y0:.1}V{y1:.1}H{x1:.1}" fill="none"/>"#
        );
        axis_titles(&mut s, self, &xa, &ya, (x0, x1, y0, y1));
        for (i, (x, label)) in self.marks.iter().enumerate() {
            if !x.is_finite() {
                continue;
            }
            // Labels step down a line per mark (four lines, then round again), so that
            // marks close together do not print over each other.
            let ty = y0 + 10.0 + 11.0 * (i % 4) as f64;
            let xp = px(*x);
            // A label that would run past the right edge runs leftwards, inside the chart
            // (about 6 px per character at the labels' size).
            let width = 6.0 * label.chars().count() as f64;
            let (tx, anchor) = if xp + 3.0 + width > x1 {
                (xp - 3.0, "end")
            } else {
                (xp + 3.0, "start")
            };
            let _ = write!(
                s,
                r#"<line class="mark" x1="{xp:.1}" y1="{y0:.1}" x2="{xp:.1}" y2="{y1:.1}"/><text class="tl mk" x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}">{}</text>"#,
                esc(label)
            );
        }
        for (i, ser) in self.series.iter().enumerate() {
            let mut pts: Vec<(f64, f64)> = ser
                .points
                .iter()
                .copied()
                .filter(|p| drawable(*p))
                .collect();
            let loose: Vec<(f64, f64)> = ser
                .unlined
                .iter()
                .copied()
                .filter(|p| drawable(*p))
                .collect();
            if pts.is_empty() && loose.is_empty() {
                continue;
            }
            let c = color(i);
            if self.lines && pts.len() > 1 {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let step = pts.len().div_ceil(MAX_LINE_POINTS);
                let d: Vec<String> = pts
                    .iter()
                    .step_by(step)
                    .map(|p| format!("{:.1},{:.1}", px(p.0), py(p.1)))
                    .collect();
                let _ = write!(
                    s,
                    r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{}"/>"#,
                    d.join(" ")
                );
            }
            // Markers: every loose point; the joined ones unless the line is dense.
            let marked = if !self.lines || pts.len() <= 40 {
                pts.len()
            } else {
                0
            };
            for p in pts[..marked].iter().chain(&loose) {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{c}" fill-opacity="0.85"/>"#,
                    px(p.0),
                    py(p.1)
                );
            }
        }
        legend(&mut s, &shown, self, TOP + plot_h + BOTTOM);
        s.push_str("</svg>");
        s
    }

    fn bars_svg(&self) -> String {
        let va = self.bar_axis();
        let shown: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| !s.points.is_empty())
            .collect();
        let per = shown.len().max(1) as f64;
        let bar = 14.0;
        let group = per * bar + 8.0;
        let widest = self
            .categories
            .iter()
            .map(|c| c.chars().count().min(40))
            .max()
            .unwrap_or(0) as f64;
        let left = (widest * CHAR_W + 12.0).clamp(LEFT, 280.0);
        let plot_h = self.categories.len() as f64 * group + 8.0;
        let legend_h = if shown.len() > 1 {
            self.legend_height(&shown)
        } else {
            0.0
        };
        let h = TOP + plot_h + BOTTOM + legend_h;
        let (x0, x1, y0, y1) = (left, WIDTH - RIGHT - 40.0, TOP, TOP + plot_h);
        let px = |v: f64| x0 + va.frac(v) * (x1 - x0);
        let mut s = open(&self.title, h);
        for (v, l) in &va.ticks {
            let x = px(*v);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{y1:.1}"/><text class="tl" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                y1 + 15.0,
                esc(l)
            );
        }
        for (k, cat) in self.categories.iter().enumerate() {
            let top = y0 + 8.0 + k as f64 * group;
            let _ = write!(
                s,
                r#"<text class="tl" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                x0 - 6.0,
                top + per * bar / 2.0 + 4.0,
                esc(&shorten(cat, 40))
            );
        }
        let base = if va.log { va.lo } else { 0.0 };
        for (i, ser) in shown.iter().enumerate() {
            let c = color(
                self.series
                    .iter()
                    .position(|x| std::ptr::eq(x, *ser))
                    .unwrap_or(i),
            );
            for (k, v) in ser.points.iter().copied().filter(|p| drawable(*p)) {
                if k < 0.0 || k as usize >= self.categories.len() {
                    continue;
                }
                let top = y0 + 8.0 + k.floor() * group + i as f64 * bar;
                let (a, b) = (px(base), px(v));
                let _ = write!(
                    s,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{c}"><title>{}: {}</title></rect><text class="tl" x="{:.1}" y="{:.1}">{}</text>"#,
                    a.min(b),
                    (b - a).abs().max(1.0),
                    bar - 2.0,
                    esc(&ser.name),
                    esc(&short(v)),
                    a.max(b) + 4.0,
                    top + bar - 4.0,
                    esc(&short(v))
                );
            }
        }
        let _ = write!(
            s,
            r#"<path class="ax" d="M{x0:.1} {y0:.1}V{y1:.1}H{x1:.1}" fill="none"/>"#
        );
        let mut t = self.x_label.clone();
        if va.log {
            t.push_str(" (log scale)");
        }
        let _ = write!(
            s,
            r#"<text class="tl at" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            (x0 + x1) / 2.0,
            y1 + 34.0,
            esc(&t)
        );
        if shown.len() > 1 {
            legend(&mut s, &shown, self, TOP + plot_h + BOTTOM);
        }
        s.push_str("</svg>");
        s
    }
}

/// The largest magnitude a coordinate may have to be drawn; beyond it the point is left
/// out (a value near `f64::MAX` is a corrupt file, not a measurement).
const MAX_PLOTTABLE: f64 = 1e300;

/// A point is drawn when both coordinates are finite and within [`MAX_PLOTTABLE`].
fn drawable((x, y): (f64, f64)) -> bool {
    let ok = |v: f64| v.is_finite() && v.abs() <= MAX_PLOTTABLE;
    ok(x) && ok(y)
}

fn open(title: &str, h: f64) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {h:.0}" width="{WIDTH}" height="{h:.0}" role="img"><title>{t}</title><text class="ct" x="12" y="21">{t}</text>"#,
        t = esc(title)
    )
}

fn axis_titles(s: &mut String, c: &Chart, xa: &Axis, ya: &Axis, r: (f64, f64, f64, f64)) {
    let (x0, x1, y0, y1) = r;
    let mut xt = c.x_label.clone();
    if xa.log {
        xt.push_str(" (log scale)");
    }
    let mut yt = c.y_label.clone();
    if ya.log {
        yt.push_str(" (log scale)");
    }
    let _ = write!(
        s,
        r#"<text class="tl at" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="tl at" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (x0 + x1) / 2.0,
        y1 + 34.0,
        esc(&xt),
        (y0 + y1) / 2.0,
        esc(&yt)
    );
}

/// The legend's rows: items wrapped to the chart width.
fn legend_rows<'a>(shown: &[&'a Series]) -> Vec<Vec<(f64, &'a Series)>> {
    let mut rows: Vec<Vec<(f64, &Series)>> = Vec::new();
    let mut x = LEFT;
    for s in shown {
        // Legend text runs a little wider than tick labels (mixed case, digits).
        let w = 18.0 + shorten(&s.name, 60).chars().count() as f64 * (CHAR_W + 0.6) + 14.0;
        if rows.is_empty() || (x + w > WIDTH - RIGHT && x > LEFT) {
            rows.push(Vec::new());
            x = LEFT;
        }
        if let Some(r) = rows.last_mut() {
            r.push((x, *s));
        }
        x += w;
    }
    rows
}

fn legend(s: &mut String, shown: &[&Series], c: &Chart, top: f64) {
    for (row, items) in legend_rows(shown).iter().enumerate() {
        let y = top + row as f64 * 18.0 + 4.0;
        for (x, ser) in items {
            let i = c
                .series
                .iter()
                .position(|x| std::ptr::eq(x, *ser))
                .unwrap_or(0);
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="12" height="8" fill="{}"/><text class="tl" x="{:.1}" y="{:.1}">{}</text>"#,
                y - 8.0,
                color(i),
                x + 17.0,
                y,
                esc(&shorten(&ser.name, 60))
            );
        }
    }
}

/// A value with three significant digits and an SI suffix: `1.23`, `44.5k`, `0.0123`.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return axis::label(if v.is_finite() { v } else { 0.0 }, 1.0);
    }
    let step = 10f64.powf(v.abs().log10().floor() - 2.0);
    axis::label(v, step)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Escapes text for SVG/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests;
