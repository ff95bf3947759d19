//! The HTML report in real headless Chromium: no console errors, no network requests, no
//! script runs (hostile names and stderr show as text), and a full-page screenshot.
//!
//! Needs `chromium` (Debian package; `.ci/install-reports.sh`). Without it the test is
//! skipped with a message, except when `CI=true`, where it fails.

use crate::cdp::{base64_decode, find_chromium, Browser};
use serde_json::json;
use std::time::Duration;
use zkprof::report::{exporter, Format};

/// Chromium, or `None` after saying why the test is skipped (a failure when `CI=true`).
fn chromium() -> Option<std::path::PathBuf> {
    let exe = find_chromium();
    if exe.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
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
    let files = vec![crate::load("a.json"), crate::load("b.json")];
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
                 svgs: document.querySelectorAll('svg').length, failed: document.querySelectorAll('tr.st-failed').length, \
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
    assert!(v["svgs"].as_u64().unwrap() >= 4, "{v}");
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
