//! Crash safety and resume: a batch killed with SIGKILL at seeded pseudo-random moments and
//! continued with `--resume` (killed again, several times) ends with the same outputs, byte
//! for byte, and the same report as a clean run (times and the run record aside), with no
//! temp file or journal left; outputs verified by hash are not redone. Ctrl-C (SIGINT) writes
//! the report of what was done and exits 130; `--resume` finishes.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A batch of 10 small images under different names, with a plate picture and walkers.
fn batch() -> (tempfile::TempDir, PathBuf) {
    input_tree(&[
        ("street/deface_city.jpg", "a/city1.jpg"),
        ("street/deface_city.jpg", "a/city2.jpg"),
        ("plates/nomeroff_241458051.jpg", "plate1.jpg"),
        ("plates/nomeroff_241458051.jpg", "plate2.jpg"),
        ("plates/nomeroff_296023036.jpeg", "b/plate3.jpeg"),
        ("plates/nomeroff_example2.jpeg", "b/car.jpeg"),
        ("metadata/webodm_tiny_drone_image.jpg", "tiny1.jpg"),
        ("metadata/webodm_tiny_drone_image.jpg", "tiny2.jpg"),
        ("metadata/webodm_tiny_drone_image.jpg", "c/d/tiny3.jpg"),
        ("aerial-nadir/lacmus_01.png", "nadir.png"),
    ])
}

fn cmd(inp: &Path, out: &Path, resume: bool) -> std::process::Command {
    cmd_j(inp, out, resume, "2")
}

fn cmd_j(inp: &Path, out: &Path, resume: bool, jobs: &str) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("pixla"));
    c.arg("redact")
        .arg(inp)
        .arg("-o")
        .arg(out)
        .args(["-j", jobs, "--quiet"]);
    if resume {
        c.arg("--resume");
    }
    c.env_remove("PIXLA_OPERATOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    c
}

/// The report without what differs between equal runs: the run record and per-file times.
fn comparable(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("run");
    for f in r["files"].as_array_mut().unwrap() {
        f.as_object_mut().unwrap().remove("millis");
    }
    r
}

fn report(out: &Path) -> Value {
    read_json(&out.join("pixla-report.json"))
}

/// Journaled outputs that still match their hash: relative output path → (inode, mtime).
fn verified(out: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    let Ok(text) = std::fs::read_to_string(out.join(".pixla-journal.jsonl")) else {
        return BTreeMap::new();
    };
    let mut m = BTreeMap::new();
    for l in text.lines().skip(1) {
        let Ok(e) = serde_json::from_str::<Value>(l) else {
            continue;
        };
        let (Some(o), Some(sha)) = (e["output"].as_str(), e["output_sha256"].as_str()) else {
            continue;
        };
        let p = out.join(o);
        if pixla::internal_tests::models::sha256_file(&p)
            .ok()
            .as_deref()
            == Some(sha)
        {
            let md = std::fs::metadata(&p).unwrap();
            m.insert(o.to_string(), (md.ino(), md.modified().unwrap()));
        }
    }
    m
}

/// A kill moment: once the journal holds `after_files` file lines, wait `then`, then SIGKILL.
struct Kill {
    after_files: usize,
    then: Duration,
}

/// File lines in the journal that parse (the header and a torn last line are not counted).
fn journaled(out: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(out.join(".pixla-journal.jsonl")) else {
        return 0;
    };
    text.lines()
        .skip(1)
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .count()
}

/// Wait for the kill moment and SIGKILL the child: `Err(time since the start)`; or the
/// child's exit status if it finished first.
fn kill_when(
    child: &mut std::process::Child,
    out: &Path,
    k: &Kill,
) -> Result<std::process::ExitStatus, Duration> {
    let t0 = Instant::now();
    let mut armed: Option<Instant> = None;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Ok(s);
        }
        if armed.is_none() && journaled(out) >= k.after_files {
            armed = Some(Instant::now());
        }
        if armed.is_some_and(|a| a.elapsed() >= k.then) {
            child.kill().unwrap();
            let s = child.wait().unwrap();
            // it may have exited on its own just before the kill
            return if s.code().is_some() {
                Ok(s)
            } else {
                Err(t0.elapsed())
            };
        }
        // a hang guard only: no run of this 10-file batch comes near it
        assert!(
            t0.elapsed() < Duration::from_secs(900),
            "a run did not finish in 900 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigkill_at_random_moments_then_resume_equals_a_clean_run() {
    let (d, inp) = batch();
    let clean = d.path().join("clean");
    let t0 = Instant::now();
    let o = cmd(&inp, &clean, false).output().unwrap();
    let clean_wall = t0.elapsed();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want_tree = tree(&clean);
    let want = comparable(report(&clean));
    assert_eq!(want["summary"]["files"], 10);
    assert!(
        want["summary"]["regions"]["plate"].as_u64().unwrap_or(0) > 0
            && want["summary"]["regions"]["person"].as_u64().unwrap_or(0) > 0,
        "{}",
        want["summary"]
    );

    let out = d.path().join("killed");
    let mut seed: u64 = 0x5eed_2026;
    let mut rand = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    let (mut runs, mut kills) = (0, 0);
    let mut log = Vec::new();
    loop {
        runs += 1;
        let before = verified(&out);
        // When to kill, from the batch's own progress, so a fast idle machine and a slow
        // loaded one both get every kill: the first during set-up or the first files (a
        // random fraction of the clean run's own wall time), the next ones once the journal
        // holds 1 or 2 more files than it started with, plus up to a tenth of the clean run
        // (about one file) at random, so the kill lands anywhere in a file's life.
        let plan = match kills {
            0 => Some(Kill {
                after_files: 0,
                then: clean_wall.mul_f64(0.05 + 0.35 * rand()),
            }),
            1..=4 => Some(Kill {
                after_files: before.len() + 1 + (rand() * 2.0) as usize,
                then: clean_wall.mul_f64(0.1 * rand()),
            }),
            _ => None,
        };
        let mut child = cmd(&inp, &out, runs > 1).spawn().unwrap();
        let status = match &plan {
            Some(k) => kill_when(&mut child, &out, k),
            None => Ok(child.wait().unwrap()),
        };
        let what = match (&status, &plan) {
            (Err(at), Some(k)) => format!(
                "killed {:.2} s in, {} files journaled (aimed: {} files + {:.2} s)",
                at.as_secs_f64(),
                journaled(&out),
                k.after_files,
                k.then.as_secs_f64()
            ),
            (Ok(s), _) => format!("exit {:?}", s.code()),
            (Err(_), None) => unreachable!(),
        };
        log.push(format!(
            "run {runs}: {what}, {} verified outputs before",
            before.len()
        ));
        match status {
            Err(_) => kills += 1,
            Ok(status) => {
                let code = status.code();
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                assert_eq!(code, Some(0), "run {runs}: {err}");
                let r = report(&out);
                if runs > 1 {
                    // nothing verified by hash was redone: counted as resumed, files untouched
                    assert_eq!(
                        r["run"]["resumed"].as_u64(),
                        Some(before.len() as u64),
                        "{log:?}"
                    );
                    for (o, (ino, mtime)) in &before {
                        let md = std::fs::metadata(out.join(o)).unwrap();
                        assert_eq!(
                            (
                                std::os::unix::fs::MetadataExt::ino(&md),
                                md.modified().unwrap()
                            ),
                            (*ino, *mtime),
                            "{o} was rewritten"
                        );
                    }
                }
                if kills >= 4 {
                    break;
                }
                // finished before the kill: start over to get the kills in
                std::fs::remove_dir_all(&out).unwrap();
            }
        }
        assert!(runs < 40, "{log:?}");
    }
    let report_text = format!(
        "SIGKILL/resume: {runs} runs, {kills} kills\n{}\n",
        log.join("\n")
    );
    std::fs::write(test_output().join("resume.txt"), &report_text).unwrap();
    println!("{report_text}");
    assert!(kills >= 4);
    let got_tree = tree(&out);
    assert_eq!(
        got_tree.keys().collect::<Vec<_>>(),
        want_tree.keys().collect::<Vec<_>>(),
        "files differ (temp or journal left?)"
    );
    for (k, v) in &want_tree {
        if k != "pixla-report.json" {
            assert_eq!(&got_tree[k], v, "{k} differs from the clean run's");
        }
    }
    assert_eq!(
        comparable(report(&out)),
        want,
        "report differs from the clean run's"
    );
}

#[test]
fn sigint_writes_the_report_of_what_was_done_and_resume_finishes() {
    let (d, inp) = batch();
    let out = d.path().join("out");
    let mut child = cmd_j(&inp, &out, false, "1").spawn().unwrap();
    // wait for the first file in the journal, then Ctrl-C
    let t0 = Instant::now();
    while std::fs::read_to_string(out.join(".pixla-journal.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < 2
    {
        assert!(
            t0.elapsed() < Duration::from_secs(120) && child.try_wait().unwrap().is_none(),
            "no file done"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let r = report(&out);
    assert_eq!(r["run"]["interrupted"], true);
    let pending: Vec<&Value> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "pending")
        .collect();
    assert!(
        !pending.is_empty() && r["summary"]["pending"].as_u64() == Some(pending.len() as u64),
        "{}",
        r["summary"]
    );
    for f in &pending {
        assert!(f["error"].as_str().unwrap().contains("interrupted"));
        // not processed is not a failure: no kind
        assert!(f.get("error_kind").is_none(), "{f}");
        assert!(
            !out.join(f["input"].as_str().unwrap()).exists(),
            "output for a pending file"
        );
    }
    let done = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "redacted" || f["status"] == "clean")
        .count();
    assert!(
        out.join(".pixla-journal.jsonl").exists(),
        "journal kept for --resume"
    );

    // a plain run refuses to overwrite the unfinished batch; another setting refuses to resume
    let o = cmd_j(&inp, &out, false, "1").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let o = cmd_j(&inp, &out, true, "1")
        .args(["--margin", "0.3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("other settings"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = cmd_j(&inp, &out, true, "1").output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = report(&out);
    assert_eq!(r["summary"]["files"], 10);
    assert_eq!(r["summary"]["failed"], 0);
    assert!(r["summary"].get("pending").is_none() && r["run"].get("interrupted").is_none());
    assert_eq!(r["run"]["resumed"].as_u64(), Some(done as u64));
    assert!(
        !out.join(".pixla-journal.jsonl").exists(),
        "journal left after the batch finished"
    );
    assert!(
        tree(&out).keys().all(|k| !k.contains(".pixla-")),
        "temp file left"
    );
}
