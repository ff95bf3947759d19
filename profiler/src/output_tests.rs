use super::*;
use std::os::unix::fs::FileTypeExt;

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_regular_file_is_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.json");
    write_file(&p, b"one").unwrap();
    write_file(&p, b"two").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_symlink_is_written_through_and_stays_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_file(&link, b"new").unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
}

#[test]
fn a_fifo_is_written_through_and_stays_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    write_file(&fifo, b"through the pipe").unwrap();
    assert_eq!(reader.join().unwrap(), "through the pipe");
    let t = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(t.is_fifo(), "{t:?}");
}

#[test]
fn a_device_is_written_through() {
    // /dev/null is classified as a device and written through, never renamed over.
    assert_eq!(
        classify(Path::new("/dev/null")).unwrap(),
        Target::WriteThrough
    );
    write_file(Path::new("/dev/null"), b"nothing").unwrap();
    let t = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(t.is_char_device());
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_file(dir.path(), b"x").unwrap_err().to_string();
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn stale_temp_files_of_dead_writers_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // A pid that cannot be running (above pid_max's ceiling).
    let dead = dir.path().join(format!("{TEMP_PREFIX}99999999-abc"));
    let live = dir
        .path()
        .join(format!("{TEMP_PREFIX}{}-abc", std::process::id()));
    let other = dir.path().join(".tmpABCDEF");
    let mine = dir.path().join("results.json");
    for p in [&dead, &live, &other, &mine] {
        std::fs::write(p, "x").unwrap();
    }
    assert_eq!(remove_stale_temp_files(dir.path()), 1);
    assert!(!dead.exists());
    assert!(live.exists() && other.exists() && mine.exists());
}

#[test]
fn temp_file_names() {
    assert_eq!(temp_file_owner(".zkprof-tmp-42-xyz"), Some(42));
    assert_eq!(temp_file_owner(".zkprof-tmp-42-"), None);
    assert_eq!(temp_file_owner(".zkprof-tmp-x-y"), None);
    assert_eq!(temp_file_owner("results.json"), None);
    let dir = tempfile::tempdir().unwrap();
    let t = temp_file_in(dir.path()).unwrap();
    let name = t.path().file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(temp_file_owner(&name), Some(std::process::id() as i32));
}
