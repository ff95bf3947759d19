use super::*;

/// The tick labels of an SVG (text elements of class `tl` that are not axis titles), by axis
/// position: labels under the plot (`text-anchor="middle"` ticks) and left of it (`end`).
fn tick_labels(svg: &str, anchor: &str) -> Vec<String> {
    svg.split("<text class=\"tl\" ")
        .skip(1)
        .filter(|t| t.contains(&format!("text-anchor=\"{anchor}\"")))
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(t[start..end].to_string())
        })
        .collect()
}

fn assert_distinct(labels: &[String]) {
    let mut l = labels.to_vec();
    l.sort();
    l.dedup();
    assert_eq!(l.len(), labels.len(), "repeated tick labels: {labels:?}");
}

#[test]
fn svg_escapes_series_names_and_is_deterministic() {
    let chart = Chart {
        title: "t <b>".into(),
        x_log: true,
        y_log: true,
        series: vec![Series {
            name: "<script>x</script>".into(),
            points: vec![(10.0, 1.0), (1000.0, 3.0), (-1.0, 2.0)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    let a = chart.to_svg();
    assert!(a.starts_with("<svg"));
    assert!(
        !a.contains("<script>") && a.contains("&lt;script&gt;"),
        "{a}"
    );
    assert!(!a.contains("t <b>") && a.contains("t &lt;b&gt;"));
    assert_eq!(a, chart.to_svg());
    assert!(!chart.is_empty());
}

#[test]
fn a_single_point_has_distinct_ticks_on_both_axes() {
    // The quickstart before: one model of 3322 parameters, x labelled "3322" nine times.
    let c = Chart {
        title: "Prove time vs parameters".into(),
        x_log: true,
        y_log: true,
        series: vec![Series {
            name: "ezkl".into(),
            points: vec![(3322.0, 1.7)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    let svg = c.to_svg();
    assert_eq!(svg.matches("<circle").count(), 1);
    let (xa, ya) = c.point_axes();
    assert!(!xa.log && !ya.log, "one point spans no decade");
    assert!(xa.lo < 3322.0 && 3322.0 < xa.hi && ya.lo <= 1.7 && 1.7 < ya.hi);
    let x = tick_labels(&svg, "middle");
    let y = tick_labels(&svg, "end");
    assert!(x.len() >= 3 && y.len() >= 3, "{x:?} {y:?}");
    assert_distinct(&x);
    assert_distinct(&y);
    assert!(!svg.contains("log scale"));
}

#[test]
fn a_single_model_bar_chart_has_one_bar_per_framework_from_zero() {
    let c = Chart {
        title: "Prove time by framework".into(),
        x_label: "prove time, median (s)".into(),
        y_log: true,
        categories: vec!["ezkl".into(), "circom".into()],
        series: vec![Series {
            name: "prove".into(),
            points: vec![(0.0, 1.72), (1.0, 0.41)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    let svg = c.to_svg();
    let a = c.bar_axis();
    assert!(!a.log, "4.2x is under a decade: linear bars");
    assert_eq!(a.lo, 0.0, "bars start at zero");
    assert_eq!(svg.matches("<rect").count(), 2, "no legend for one series");
    let ticks = tick_labels(&svg, "middle");
    assert!(ticks.len() >= 3, "{ticks:?}");
    assert_distinct(&ticks);
    assert!(svg.contains(">ezkl</text>") && svg.contains(">circom</text>"));
    assert!(
        svg.contains(">1.72</text>"),
        "values printed at the bar ends"
    );
    // The same bars over two decades get a log axis whose bars start at its bottom.
    let mut wide = c.clone();
    wide.series[0].points = vec![(0.0, 172.0), (1.0, 0.41)];
    let a = wide.bar_axis();
    assert!(a.log && a.lo > 0.0 && a.lo < 0.41);
    assert!(wide.to_svg().contains("(log scale)"));
}

#[test]
fn wide_scaling_lines_use_log_axes() {
    let c = Chart {
        x_log: true,
        y_log: true,
        lines: true,
        series: vec![Series {
            name: "ezkl".into(),
            points: vec![(5185.0, 0.2), (523_000.0, 30.0), (44543.0, 2.0)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    let (xa, ya) = c.point_axes();
    assert!(xa.log && ya.log);
    let svg = c.to_svg();
    assert_eq!(svg.matches("<polyline").count(), 1);
    assert_distinct(&tick_labels(&svg, "middle"));
}

#[test]
fn extreme_values_render_and_terminate() {
    for v in [f64::MAX, f64::MIN, f64::MIN_POSITIVE, 0.0, f64::NAN] {
        let c = Chart {
            x_log: true,
            y_log: true,
            lines: true,
            series: vec![Series {
                name: "a".into(),
                points: vec![(1.0, v), (2.0, 1.0), (v, 3.0)],
                ..Series::default()
            }],
            marks: vec![(1.5, "phase".into())],
            ..Chart::default()
        };
        let svg = c.to_svg();
        assert!(svg.ends_with("</svg>") && !svg.contains("NaN") && !svg.contains("inf"));
        if !v.is_finite() || v.abs() > 1e300 {
            assert_eq!(
                svg.matches("<circle").count(),
                1,
                "only the sane point is drawn"
            );
        }
        let bars = Chart {
            categories: vec!["x".into(), "y".into()],
            series: vec![Series {
                name: "a".into(),
                points: vec![(0.0, v), (1.0, 1.0)],
                ..Series::default()
            }],
            ..Chart::default()
        };
        let svg = bars.to_svg();
        assert!(svg.ends_with("</svg>") && !svg.contains("NaN") && !svg.contains("inf"));
    }
}

#[test]
fn empty_charts_are_empty() {
    let e = Chart::default();
    assert!(e.is_empty());
    assert!(e.to_svg().ends_with("</svg>"));
    let nan = Chart {
        series: vec![Series {
            name: "a".into(),
            points: vec![(f64::NAN, 1.0)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    assert!(nan.is_empty());
}

#[test]
fn marks_are_drawn_with_their_labels() {
    let c = Chart {
        lines: true,
        series: vec![Series {
            name: "mem".into(),
            points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, 1.5)],
            ..Series::default()
        }],
        marks: vec![(0.8, "witness".into()), (1.6, "<commit>".into())],
        ..Chart::default()
    };
    let svg = c.to_svg();
    assert_eq!(svg.matches("class=\"mark\"").count(), 2);
    assert!(svg.contains("&lt;commit&gt;"));
}

#[test]
fn short_values() {
    assert_eq!(short(1.234), "1.23");
    assert_eq!(short(44543.0), "44.5k");
    assert_eq!(short(0.0123), "0.0123");
    assert_eq!(short(300.0), "300");
}

#[test]
fn unlined_points_are_markers_off_the_line() {
    // A parameter sweep at one depth (joined) and a depth sweep at ~5k parameters (markers).
    let c = Chart {
        title: "Prove time vs parameters".into(),
        x_log: true,
        y_log: true,
        lines: true,
        series: vec![Series {
            name: "circom".into(),
            points: vec![(5185.0, 3.6), (6370.0, 2.0), (50890.0, 9.0)],
            unlined: vec![(5059.0, 8.9), (5226.0, 40.2)],
        }],
        ..Chart::default()
    };
    let svg = c.to_svg();
    assert_eq!(svg.matches("<circle ").count(), 5, "{svg}");
    let line = svg.split("<polyline").nth(1).expect("a line");
    let points = line
        .split("points=\"")
        .nth(1)
        .and_then(|p| p.split('"').next());
    assert_eq!(points.map(|p| p.split(' ').count()), Some(3), "{line}");
    // Only loose points: still drawn, and the axes cover them.
    let loose = Chart {
        series: vec![Series {
            name: "x".into(),
            unlined: vec![(1.0, 1.0), (2.0, 2.0)],
            ..Series::default()
        }],
        lines: true,
        ..Chart::default()
    };
    assert!(!loose.is_empty());
    assert_eq!(loose.to_svg().matches("<circle ").count(), 2);
}

#[test]
fn a_mark_beyond_the_points_widens_the_x_axis() {
    // A framework's frontier at 3.3M parameters, its last success at 1.6M.
    let c = Chart {
        title: "Prove time vs parameters".into(),
        x_log: true,
        y_log: true,
        lines: true,
        marks: vec![(3.3e6, "ezkl stops: prove: oom".into())],
        series: vec![Series {
            name: "ezkl".into(),
            points: vec![(5.0e3, 10.0), (1.6e6, 200.0)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    let (xa, _) = c.point_axes();
    assert!(xa.frac(3.3e6) <= 1.0 + 1e-9, "mark outside the axis");
}

#[test]
fn labels_of_marks_close_together_do_not_overlap() {
    // circom stops at 814k parameters and EZKL at 3.3M: near each other on a log axis.
    let c = Chart {
        title: "Prove time vs parameters".into(),
        x_log: true,
        y_log: true,
        lines: true,
        marks: vec![
            (8.1e5, "circom stops: compile: out of memory".into()),
            (3.3e6, "ezkl stops: prove: out of memory".into()),
        ],
        series: vec![Series {
            name: "ezkl".into(),
            points: vec![(5.0e3, 10.0), (1.6e6, 200.0)],
            ..Series::default()
        }],
        ..Chart::default()
    };
    let svg = c.to_svg();
    let ys: Vec<&str> = svg
        .split(r#"<text class="tl mk" "#)
        .skip(1)
        .map(|t| t.split(" y=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(ys.len(), 2, "{svg}");
    assert_ne!(ys[0], ys[1], "both labels on one line");
    // The first label would run past the right edge from its mark: it runs leftwards.
    let first = svg.split(r#"<text class="tl mk" "#).nth(1).unwrap();
    assert!(first.contains(r#"text-anchor="end""#), "{first}");
}
