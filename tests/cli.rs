//! The command line as a user meets it: exit codes, refusals, per-file failures.

use crate::common::*;
use predicates::prelude::*;

#[test]
fn help_documents_exit_codes() {
    pixla()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
    pixla()
        .args(["redact", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--shard"));
}

#[test]
fn output_inside_input_is_refused_and_nothing_is_written() {
    let (_d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    let out = inp.join("redacted");
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside the input"));
    assert!(!out.exists());
    // and the other way round: the input inside the output
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(inp.parent().unwrap())
        .assert()
        .code(2);
    assert_eq!(std::fs::read_dir(&inp).unwrap().count(), 1);
}

/// A broken file among good ones: the good ones are done, the broken ones get no output
/// and a reason in the report, and the run exits 1.
#[test]
fn broken_files_fail_closed_and_the_batch_goes_on() {
    let (_d, inp) = input_dir(&["annotations/sahi_terrain4.png", "street/deface_city.jpg"]);
    let good = std::fs::read(shared("street/deface_city.jpg")).unwrap();
    std::fs::write(inp.join("truncated.jpg"), &good[..good.len() / 3]).unwrap();
    std::fs::write(inp.join("empty.jpg"), b"").unwrap();
    std::fs::write(inp.join("text.jpg"), b"this is not an image").unwrap();
    std::fs::copy(
        shared("annotations/sahi_terrain4.png"),
        inp.join("png-named.jpg"),
    )
    .unwrap();
    std::fs::write(inp.join("notes.txt"), b"flight log").unwrap();
    let (code, report, out) = redact(&inp, &[]);
    assert_eq!(code, 1);
    for bad in ["truncated.jpg", "empty.jpg", "text.jpg", "png-named.jpg"] {
        let e = file_entry(&report, bad);
        assert_eq!(e["status"], "failed", "{bad}");
        assert!(e["error"].as_str().unwrap().len() > 5, "{bad}: no reason");
        assert!(e.get("output").is_none(), "{bad}: has an output entry");
        assert!(!out.join(bad).exists(), "{bad} was written");
    }
    assert!(file_entry(&report, "empty.jpg")["error"]
        .as_str()
        .unwrap()
        .contains("empty"));
    assert!(file_entry(&report, "png-named.jpg")["error"]
        .as_str()
        .unwrap()
        .contains("PNG"));
    for (bad, kind) in [
        ("truncated.jpg", "decode"),
        ("empty.jpg", "decode"),
        ("text.jpg", "unsupported"),
        ("png-named.jpg", "unsupported"),
    ] {
        assert_eq!(file_entry(&report, bad)["error_kind"], kind, "{bad}");
    }
    assert!(file_entry(&report, "notes.txt").get("error_kind").is_none());
    assert_eq!(file_entry(&report, "notes.txt")["status"], "skipped");
    assert_eq!(file_entry(&report, "deface_city.jpg")["status"], "redacted");
    assert!(out.join("deface_city.jpg").exists() && out.join("sahi_terrain4.png").exists());
    assert_eq!(report["summary"]["failed"], 4);
    // no temp files left behind
    let leftovers: Vec<_> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pixla-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn missing_or_tampered_model_is_a_setup_error() {
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    let empty = d.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let run = || {
        pixla()
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(d.path().join("out"))
            .arg("--models-dir")
            .arg(&empty)
            .assert()
            .code(2)
    };
    run().stderr(predicate::str::contains("pixla models fetch"));
    std::fs::write(empty.join("nanodet-m.onnx"), b"not the model").unwrap();
    run().stderr(predicate::str::contains("sha256"));
    assert!(!d.path().join("out").join("sahi_terrain4.png").exists());
}

#[test]
fn broken_onnxruntime_library_is_a_setup_error() {
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    let fake = d.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a library").unwrap();
    pixla()
        .env("ORT_DYLIB_PATH", &fake)
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(d.path().join("out"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("ONNX Runtime").or(predicate::str::contains("libonnxruntime")),
        );
}

#[test]
fn models_list_shows_licences_and_status() {
    pixla()
        .args(["models", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nanodet-m"))
        .stdout(predicate::str::contains("AGPL-3.0"))
        .stdout(predicate::str::contains("opt-in"));
}

#[test]
fn bad_flags_are_usage_errors() {
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(d.path().join("o"))
        .args(["--shard", "4/3"])
        .assert()
        .code(2);
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(d.path().join("o"))
        .args(["--method", "person=smudge"])
        .assert()
        .code(2);
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(d.path().join("o"))
        .args(["--plate-model", "nope"])
        .assert()
        .code(2);
}

#[test]
fn review_and_merge_commands_are_documented() {
    pixla()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("review"))
        .stdout(predicate::str::contains("report"));
    pixla()
        .args(["review", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--outputs"));
    pixla()
        .args(["report", "merge", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("shards"));
    pixla()
        .args(["redact", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--regions"));
    // --reviewer only with --regions; review of something that is not a report
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(d.path().join("o"))
        .args(["--reviewer", "x"])
        .assert()
        .code(2);
    pixla()
        .arg("review")
        .arg(inp.join("sahi_terrain4.png"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not JSON"));
}

/// Run `c` to its end, or kill it after `bound` and fail: a guard against a hang (a child
/// blocked for ever), not a timing assertion.
fn run_guarded(mut c: std::process::Command, bound: std::time::Duration) -> std::process::Output {
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(bound) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{c:?} did not return within {bound:?}: killed (it hangs)");
        }
    }
}

/// A FIFO in place of a model (or of the ONNX Runtime library) is never opened: opening or
/// reading one blocks for ever. The run stops with a set-up error and a fix.
#[test]
fn fifo_in_place_of_a_model_is_a_setup_error_not_a_hang() {
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    let m = d.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    // a copy of the installed models (~/.cache/pixla is never touched)
    std::fs::copy(
        pixla::internal_tests::models::models_dir(None).join("ppocrv4-det.onnx"),
        m.join("ppocrv4-det.onnx"),
    )
    .unwrap();
    let fifo = std::ffi::CString::new(
        m.join("nanodet-m.onnx")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    let bin = assert_cmd::cargo::cargo_bin("pixla");
    let bound = std::time::Duration::from_secs(120);
    let out = d.path().join("o");
    let mut c = std::process::Command::new(&bin);
    c.arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .arg("--models-dir")
        .arg(&m)
        .arg("--quiet")
        .env_remove("PIXLA_OPERATOR");
    let o = run_guarded(c, bound);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nanodet-m") && err.contains("FIFO") && err.contains("fix:"),
        "{err}"
    );
    assert!(!out.join("sahi_terrain4.png").exists());
    // the model listing and `models verify` say so too, without opening it
    let mut c = std::process::Command::new(&bin);
    c.args(["models", "verify"]).env("PIXLA_MODELS_DIR", &m);
    let o = run_guarded(c, bound);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not a file"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // a FIFO named as the ONNX Runtime library
    let lib = std::ffi::CString::new(
        d.path()
            .join("libonnxruntime.so")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    assert_eq!(unsafe { libc::mkfifo(lib.as_ptr(), 0o644) }, 0, "mkfifo");
    let mut c = std::process::Command::new(&bin);
    c.arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .arg("--quiet")
        .env("ORT_DYLIB_PATH", d.path().join("libonnxruntime.so"))
        .env_remove("PIXLA_OPERATOR");
    let o = run_guarded(c, bound);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("ORT_DYLIB_PATH") && err.contains("FIFO") && err.contains("fix:"),
        "{err}"
    );
}

/// An ORT_DYLIB_PATH that is set but cannot be used (a folder, a device, nothing there) is
/// a set-up error with the fix, never silently replaced by the installed runtime.
#[test]
fn unusable_ort_dylib_path_is_a_setup_error() {
    let (d, inp) = input_dir(&["annotations/sahi_terrain4.png"]);
    let dir = d.path().join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    for (what, p) in [
        ("a folder", dir.clone()),
        ("a device", std::path::PathBuf::from("/dev/zero")),
        ("nothing", d.path().join("gone.so")),
    ] {
        let out = d.path().join("out");
        let o = pixla()
            .env("ORT_DYLIB_PATH", &p)
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(&out)
            .arg("--quiet")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "ORT_DYLIB_PATH = {what}: {err}");
        assert!(
            err.contains("ORT_DYLIB_PATH")
                && err.contains(p.to_str().unwrap())
                && err.contains("fix:"),
            "ORT_DYLIB_PATH = {what}: {err}"
        );
        assert!(
            !out.join("sahi_terrain4.png").exists(),
            "ORT_DYLIB_PATH = {what}: the run went on"
        );
    }
}
