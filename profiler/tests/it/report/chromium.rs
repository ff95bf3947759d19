//! The HTML report in real headless Chromium: no console errors, no network requests, no
//! script runs (hostile names and stderr show as text), and a full-page screenshot.
//!
//! Needs `chromium` (Debian package; `.ci/install-reports.sh`). Without it the test is
//! skipped with a message, except when `CI=true`, where it fails.

use super::cdp::{base64_decode, find_chromium, Browser};
use crate::support::in_ci;
use serde_json::json;
use std::time::Duration;
use zkprof::report::{exporter, Format};

/// Chromium, or `None` after saying why the test is skipped (a failure when `CI=true`).
fn chromium() -> Option<std::path::PathBuf> {
    let exe = find_chromium();
    if exe.is_none() {
        if in_ci() {
            panic!("chromium is required when CI=true: install it with .ci/install-reports.sh");
        }
        eprintln!("SKIPPED: chromium not found (set ZKPROF_CHROMIUM or install it with .ci/install-reports.sh)");
    }
    exe
}

/// Opens `url` in a fresh page; returns the console/script events and the URLs requested
/// other than the page itself.
fn open(b: &mut Browser, url: &str) -> (Vec<serde_json::Value>, Vec<String>) {
    b.attach_new_page();
    b.events.clear();
    for domain in ["Page", "Runtime", "Log", "Network"] {
        b.call(&format!("{domain}.enable"), json!({}));
    }
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
    );
    b.call("Page.navigate", json!({ "url": url }));
    assert!(
        b.wait_event("Page.loadEventFired", Duration::from_secs(30)),
        "the page did not load"
    );
    b.drain(Duration::from_millis(500));
    let bad = b
        .events
        .iter()
        .filter(|e| {
            let m = e["method"].as_str().unwrap_or("");
            m == "Runtime.exceptionThrown"
                || m == "Page.javascriptDialogOpening"
                || m == "Runtime.consoleAPICalled"
                || (m == "Log.entryAdded" && e["params"]["entry"]["level"] != "verbose")
        })
        .cloned()
        .collect();
    let requests = b
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .map(|e| {
            e["params"]["request"]["url"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .filter(|u| u != url)
        .collect();
    (bad, requests)
}

#[test]
fn the_probe_sees_requests_and_console_errors() {
    // The checks below must be able to fail: a page that fetches and logs is caught.
    let Some(exe) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(&page, "<!DOCTYPE html><img src=\"http://127.0.0.1:9/x.png\"><script>console.error('boom')</script>").unwrap();
    let mut b = Browser::launch(&exe);
    let (bad, requests) = open(&mut b, &format!("file://{}", page.display()));
    assert!(
        requests
            .iter()
            .any(|u| u.starts_with("http://127.0.0.1:9/")),
        "{requests:?}"
    );
    assert!(
        bad.iter()
            .any(|e| e["method"] == "Runtime.consoleAPICalled"),
        "{bad:#?}"
    );
}

#[test]
fn html_report_in_headless_chromium() {
    let Some(exe) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = vec![super::load("a.json"), super::load("b.json")];
    let html = exporter(Format::Html).render(&files).unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());

    let mut b = Browser::launch(&exe);
    let (bad, requests) = open(&mut b, &url);
    assert!(
        bad.is_empty(),
        "console messages or script activity: {bad:#?}"
    );
    assert!(requests.is_empty(), "network requests: {requests:?}");

    // Hostile strings are text in the DOM; no script element exists; the title is intact.
    let probe = b.call(
        "Runtime.evaluate",
        json!({
            "expression": "JSON.stringify({scripts: document.querySelectorAll('script').length, title: document.title, \
                 text: document.body.innerText.includes(`<script>alert(\"x\")</script> & 'q'`), \
                 stderr: document.body.innerText.includes(`<script>document.title='pwned'</script> \"quoted\" </style> & more`), \
                 svgs: document.querySelectorAll('svg').length, failed: document.querySelectorAll('#summary tr.st-failed').length, \
                 height: document.documentElement.scrollHeight})",
            "returnByValue": true
        }),
    );
    let v: serde_json::Value =
        serde_json::from_str(probe["result"]["value"].as_str().unwrap()).unwrap();
    assert_eq!(v["scripts"], 0, "{v}");
    assert!(
        v["title"].as_str().unwrap().starts_with("zkprof report"),
        "{v}"
    );
    assert_eq!(
        v["text"], true,
        "hostile framework name not shown as text: {v}"
    );
    assert_eq!(v["stderr"], true, "hostile stderr not shown as text: {v}");
    assert!(v["svgs"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(v["failed"], 6, "3 failed cells per file: {v}");

    let height = v["height"].as_f64().unwrap().min(16000.0);
    let shot = b.call(
        "Page.captureScreenshot",
        json!({ "format": "png", "captureBeyondViewport": true, "clip": { "x": 0, "y": 0, "width": 1400, "height": height, "scale": 1 } }),
    );
    let png = base64_decode(shot["data"].as_str().unwrap());
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "screenshot is {} bytes",
        png.len()
    );
    let out =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("zkprof-report-screenshot.png");
    std::fs::write(&out, &png).unwrap();
    eprintln!("screenshot: {}", out.display());
}

/// Evaluates `expr` (which returns a JSON string) in the page.
fn eval(b: &mut Browser, expr: &str) -> serde_json::Value {
    let r = b.call(
        "Runtime.evaluate",
        json!({ "expression": expr, "returnByValue": true }),
    );
    serde_json::from_str(r["result"]["value"].as_str().unwrap_or("null")).unwrap()
}

fn screenshot(b: &mut Browser, path: &std::path::Path) {
    let shot = b.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = base64_decode(shot["data"].as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    std::fs::write(path, &png).unwrap();
}

const PROBE: &str = "JSON.stringify({ \
    summary_top: document.querySelector('#summary table').getBoundingClientRect().top, \
    summary_overflow: document.querySelector('#summary .scroll').scrollWidth - document.querySelector('#summary .scroll').clientWidth, \
    scripts: document.querySelectorAll('script').length, \
    svgs: Array.from(document.querySelectorAll('svg.chart')).map(s => s.querySelector('title').textContent), \
    omitted: Array.from(document.querySelectorAll('.omitted li')).map(l => l.innerText), \
    verdict: document.querySelector('.verdict').innerText, \
    cards: document.querySelectorAll('.card').length, \
    fingerprint_open: document.querySelector('#hosts details').open, \
    summary_text: document.querySelector('#summary').innerText, \
    width: document.documentElement.scrollWidth, inner: window.innerWidth, \
    too_wide: Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391 && !(e.parentElement && e.parentElement.closest('.scroll'))).slice(0, 8).map(e => e.tagName + '.' + e.getAttribute('class') + ' ' + Math.round(e.getBoundingClientRect().right)), \
    bg: getComputedStyle(document.body).backgroundColor })";

/// The four reports of `cases` at 1400x900: the summary table starts on the first screen
/// (its top under 600 px), no console message, no request, no script; each case shows what
/// makes it different; on a phone width nothing but the tables' own scroll boxes overflows;
/// the dark scheme applies. Screenshots go to `ZKPROF_SHOTS` when set.
#[test]
fn four_reports_fit_the_first_screen_in_chromium() {
    let Some(exe) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("ZKPROF_SHOTS").map(std::path::PathBuf::from);
    if let Some(s) = &shots {
        std::fs::create_dir_all(s).unwrap();
    }
    let mut b = Browser::launch(&exe);
    for (name, files) in super::cases::all() {
        let html = exporter(Format::Html).render(&files).unwrap();
        let page = match &shots {
            Some(s) => s.join(format!("{name}.html")),
            None => dir.path().join(format!("{name}.html")),
        };
        std::fs::write(&page, &html).unwrap();
        let url = format!("file://{}", page.display());
        let (bad, requests) = open(&mut b, &url);
        assert!(
            bad.is_empty(),
            "{name}: console or script activity: {bad:#?}"
        );
        assert!(
            requests.is_empty(),
            "{name}: network requests: {requests:?}"
        );
        let v = eval(&mut b, PROBE);
        let top = v["summary_top"].as_f64().unwrap();
        assert!(
            top > 0.0 && top < 600.0,
            "{name}: summary table top at {top} px: {v:#}"
        );
        eprintln!("{name}: summary table top at {top:.0} px of 900");
        assert_eq!(v["scripts"], 0, "{name}");
        assert!(
            v["summary_overflow"].as_f64().unwrap() <= 0.0,
            "{name}: the summary table is wider than 1400 px: {v:#}"
        );
        assert_eq!(
            v["fingerprint_open"], false,
            "{name}: full fingerprint folded"
        );
        assert!(
            v["width"].as_f64().unwrap() <= 1400.0,
            "{name}: page wider than the window: {v:#}"
        );
        let svgs: Vec<&str> = v["svgs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        let text = v["summary_text"].as_str().unwrap();
        let omitted = v["omitted"].to_string();
        match name {
            "quickstart" => {
                assert!(
                    v["verdict"]
                        .as_str()
                        .unwrap()
                        .starts_with("Only ezkl proved mnist-196-16-10: "),
                    "{v:#}"
                );
                assert!(
                    svgs.contains(&"Prove time")
                        && svgs.contains(&"Peak working set of the prove step"),
                    "{svgs:?}"
                );
                assert!(
                    !svgs.iter().any(|s| s.contains("vs parameters")),
                    "one model: bars, not scaling charts: {svgs:?}"
                );
                assert!(
                    text.contains("synthetic inputs"),
                    "accuracy qualified in place: {text}"
                );
                assert!(
                    text.contains("energy / proof: not measured: no RAPL, no NVML"),
                    "energy gap said once, under the summary: {text}"
                );
                assert!(
                    text.contains("panic in prove"),
                    "failure reason under the status: {text}"
                );
                assert!(
                    omitted.contains("Energy per proof")
                        && omitted.contains("not measured: no RAPL, no NVML"),
                    "{omitted}"
                );
                assert_eq!(v["cards"], 1);
            }
            "sweep" => {
                assert!(svgs.contains(&"Prove time vs parameters"), "{svgs:?}");
                assert!(
                    v["verdict"]
                        .as_str()
                        .unwrap()
                        .starts_with("Fastest prover per model:"),
                    "{v:#}"
                );
                assert!(text.contains("over 500 inputs"), "{text}");
                assert!(!text.contains("cell failed"), "{text}");
            }
            "two-hosts" => {
                assert_eq!(v["cards"], 2, "a card per host: {v:#}");
                assert!(svgs.contains(&"Prove time by host"), "{svgs:?}");
                assert!(
                    v["verdict"]
                        .as_str()
                        .unwrap()
                        .contains("proves 1.25x as fast as lab-epyc-2 ("),
                    "{v:#}"
                );
            }
            "failures" => {
                for word in [
                    "failed",
                    "unsupported",
                    "interrupted",
                    "circom has no circuit for operator Softmax",
                    "not measured: the cell failed",
                ] {
                    assert!(text.contains(word), "{word} missing in the summary: {text}");
                }
                assert!(
                    v["verdict"]
                        .as_str()
                        .unwrap()
                        .contains("3 failed, 1 unsupported, 1 interrupted"),
                    "{v:#}"
                );
            }
            other => panic!("unknown case {other}"),
        }
        if let Some(s) = &shots {
            screenshot(&mut b, &s.join(format!("{name}-first-screen.png")));
        }
        // Phone width: only the tables' scroll boxes may be wider than the screen.
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": false }),
        );
        b.drain(Duration::from_millis(300));
        let p = eval(&mut b, PROBE);
        assert!(
            p["width"].as_f64().unwrap() <= 400.0,
            "{name}: page wider than a phone: {p:#}"
        );
        if let Some(s) = &shots {
            screenshot(&mut b, &s.join(format!("{name}-phone.png")));
        }
        // Dark scheme.
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        );
        b.call(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        );
        b.drain(Duration::from_millis(300));
        let d = eval(&mut b, PROBE);
        assert_eq!(
            d["bg"], "rgb(22, 23, 26)",
            "{name}: dark scheme not applied: {d:#}"
        );
        if let Some(s) = &shots {
            screenshot(&mut b, &s.join(format!("{name}-dark.png")));
        }
        b.call("Emulation.setEmulatedMedia", json!({ "features": [] }));
    }
}
