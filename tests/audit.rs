//! The audit commands on real redactions with the real models: `pixla check` (the CI gate),
//! `pixla verify` (schema, output hashes, model hashes), `redact --accuracy` and the report's
//! privacy, `pixla purge`.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

fn report_schema() -> Value {
    read_json(&repo_file("fixtures/schema/pixla-report-1.schema.json"))
}

/// Schema errors of a document, by the `jsonschema` crate against the repository's schema file.
fn schema_errors(doc: &Value) -> Vec<String> {
    let schema = report_schema();
    let v = jsonschema::validator_for(&schema).expect("the schema itself is valid");
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(doc: &Value, what: &str) {
    let errs = schema_errors(doc);
    assert!(
        errs.is_empty(),
        "{what}: the report does not match its schema:\n{}",
        errs.join("\n")
    );
}

fn json_out(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn kinds<'a>(v: &'a Value, key: &str) -> Vec<(&'a str, &'a str)> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["file"].as_str().unwrap(), p["kind"].as_str().unwrap()))
        .collect()
}

/// A redacted set passes the gate with its report; the originals do not; a changed, missing
/// or extra file is refused by check and verify; the report validates against the schema,
/// carries the accuracy summary, and holds no absolute path of the input root.
#[test]
fn gate_passes_the_delivery_and_refuses_originals_and_tampering() {
    let (d, inp) = input_dir(&[
        "annotations/sahi_terrain1.jpg",
        "metadata/webodm_tiny_drone_image.jpg",
    ]);
    let eval = d.path().join("eval-2026-05.json");
    let summary = serde_json::json!({"person": {"precision": 0.91, "recall": 0.86, "f1": 0.885}, "plate": {"precision": 0.8, "recall": 0.7}, "images": 21});
    std::fs::write(
        &eval,
        serde_json::to_vec(
            &serde_json::json!({"schema": "pixla-eval/1", "dataset": "x", "summary": summary}),
        )
        .unwrap(),
    )
    .unwrap();
    // a file that is not a pixla eval result is refused before anything is done
    let not_eval = d.path().join("other.json");
    std::fs::write(&not_eval, br#"{"schema": "something/1", "summary": {}}"#).unwrap();
    let o = pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(d.path().join("never"))
        .arg("--accuracy")
        .arg(&not_eval)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!d.path().join("never").exists());

    let (code, report, out) = redact(
        &inp,
        &[
            "--accuracy",
            eval.to_str().unwrap(),
            "--operator",
            "K. Berg",
            "-j",
            "2",
        ],
    );
    assert_eq!(code, 0);
    let rp = out.join("pixla-report.json");
    assert_valid(&report, "plain run");
    assert_eq!(report["accuracy"]["schema"], "pixla-eval/1");
    assert_eq!(report["accuracy"]["file"], "eval-2026-05.json");
    assert_eq!(report["accuracy"]["sha256"], sha256(&eval));
    assert_eq!(report["accuracy"]["summary"], summary);
    assert_eq!(report["run"]["operator"], "K. Berg");
    // no absolute path of the input root (or of the temp folder around it) anywhere
    let text = std::fs::read_to_string(&rp).unwrap();
    for p in [
        inp.canonicalize().unwrap(),
        inp.clone(),
        d.path().to_path_buf(),
    ] {
        assert!(
            !text.contains(p.to_str().unwrap()),
            "the report contains {}",
            p.display()
        );
    }
    assert_eq!(report["run"]["command"][0], "pixla");
    assert!(
        !report["tool"]["onnxruntime"]
            .as_str()
            .unwrap()
            .contains('/'),
        "{}",
        report["tool"]["onnxruntime"]
    );

    // the delivered set with its report: pass
    let o = pixla()
        .args(["check", "--json", "-j", "2"])
        .arg(&out)
        .arg("--report")
        .arg(&rp)
        .output()
        .unwrap();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert_eq!(v["schema"], "pixla-check/1");
    assert_eq!(v["passed"], true);
    assert_eq!(v["summary"]["files"], 2);
    assert_eq!(v["settings_differ"], serde_json::json!([]));
    eprintln!("pixla-check on the redacted set: {}", v["summary"]);
    let o = pixla().arg("verify").arg(&rp).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    // a reviewer marks one walker's region false: it is left visible, and the gate accepts it
    let b = file_entry(&report, "sahi_terrain1.jpg")["regions"][0]["box"].clone();
    let sidecar = d.path().join("pixla-regions.json");
    let sc = serde_json::json!({"schema": "pixla-regions/1", "reviewer": "R. View", "files": {"sahi_terrain1.jpg": {"suppress": [{"box": b}]}}});
    std::fs::write(&sidecar, serde_json::to_vec(&sc).unwrap()).unwrap();
    let o = pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .args(["--quiet", "-j", "2", "--regions"])
        .arg(&sidecar)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reviewed = read_json(&rp);
    assert_eq!(
        file_entry(&reviewed, "sahi_terrain1.jpg")["suppressed"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_valid(&reviewed, "reviewed report with a suppressed region");
    let o = pixla()
        .args(["check", "--json", "-j", "2"])
        .arg(&out)
        .arg("--report")
        .arg(&rp)
        .output()
        .unwrap();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert!(
        v["summary"]["accepted_by_review"].as_u64().unwrap() >= 1,
        "{v:#}"
    );

    // the originals: refused, with the walkers listed one line each
    let o = pixla()
        .args(["check", "-j", "2"])
        .arg(&inp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let persons: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("sahi_terrain1.jpg: person 0.") && l.contains(" at ["))
        .collect();
    assert!(
        persons.len() >= 5,
        "expected the walkers as findings:\n{stdout}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("REFUSED"));

    // tampering: one byte appended to an output, one output deleted, one stray image added
    let mut b = std::fs::read(out.join("webodm_tiny_drone_image.jpg")).unwrap();
    b.push(0);
    std::fs::write(out.join("webodm_tiny_drone_image.jpg"), &b).unwrap();
    std::fs::remove_file(out.join("sahi_terrain1.jpg")).unwrap();
    std::fs::copy(
        shared("metadata/webodm_tiny_drone_image.jpg"),
        out.join("stray.jpg"),
    )
    .unwrap();
    let o = pixla()
        .args(["check", "--json", "-j", "2"])
        .arg(&out)
        .arg("--report")
        .arg(&rp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["passed"], false);
    let mut k = kinds(&v, "problems");
    k.sort();
    assert_eq!(
        k,
        vec![
            ("sahi_terrain1.jpg", "missing"),
            ("stray.jpg", "extra"),
            ("webodm_tiny_drone_image.jpg", "sha256-mismatch")
        ]
    );
    let o = pixla()
        .args(["verify", "--json"])
        .arg(&rp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    let mut k = kinds(&v, "outputs");
    k.sort();
    assert_eq!(
        k,
        vec![
            ("sahi_terrain1.jpg", "missing"),
            ("webodm_tiny_drone_image.jpg", "sha256-mismatch"),
            ("webodm_tiny_drone_image.jpg", "size-mismatch")
        ]
    );
    assert!(
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "ok" && m["pinned"] == true),
        "{v:#}"
    );
}

/// Reports of a run with a failed file, of a review (`--regions`) and of merged shards
/// validate; a wrong type, an unknown field, a bad enum value do not; `verify` says so
/// (exit 1) and refuses a file that is not JSON (exit 2); a model whose recorded sha256 is
/// not the installed one is a mismatch.
#[test]
fn real_reports_validate_against_the_schema_and_broken_ones_do_not() {
    let (d, inp) = input_dir(&["metadata/webodm_tiny_drone_image.jpg"]);
    std::fs::copy(
        shared("metadata/webodm_tiny_drone_image.jpg"),
        inp.join("second.jpg"),
    )
    .unwrap();
    std::fs::write(inp.join("broken.jpg"), b"\xff\xd8\xff\xe0 not really").unwrap();
    std::fs::write(inp.join("notes.txt"), b"field notes").unwrap();
    let (code, report, out) = redact(&inp, &["-j", "2"]);
    assert_eq!(code, 1);
    assert_eq!(file_entry(&report, "broken.jpg")["status"], "failed");
    assert_eq!(file_entry(&report, "broken.jpg")["error_kind"], "decode");
    assert_eq!(file_entry(&report, "notes.txt")["status"], "skipped");
    assert_valid(&report, "run with a failed and a skipped file");
    let text = std::fs::read_to_string(out.join("pixla-report.json")).unwrap();
    assert!(
        !text.contains(d.path().to_str().unwrap())
            && !text.contains(d.path().canonicalize().unwrap().to_str().unwrap()),
        "an absolute path in the report:\n{text}"
    );

    // a review: one drawn box on a clean file
    let sidecar = d.path().join("pixla-regions.json");
    std::fs::write(&sidecar, br#"{"schema": "pixla-regions/1", "reviewer": "T. Test", "files": {"second.jpg": {"add": [{"class": "person", "box": [10, 10, 40, 60], "note": "by the gate"}]}}}"#).unwrap();
    let o = pixla()
        .arg("redact")
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .args(["--quiet", "-j", "2", "--regions"])
        .arg(&sidecar)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reviewed = read_json(&out.join("pixla-report.json"));
    assert_eq!(reviewed["reviews"].as_array().unwrap().len(), 1);
    assert_valid(&reviewed, "reviewed report");
    // every source pixla writes is valid: the fail-closed plate band too (verify refused every
    // report with a band until the schema knew it); an unknown fallback is not
    let mut banded = reviewed.clone();
    let region = banded["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find_map(|f| f["regions"].as_array_mut().and_then(|r| r.first_mut()))
        .expect("a region to relabel");
    region["source"] = "fallback:plate-band".into();
    assert_valid(&banded, "report with a plate band");
    let region = banded["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find_map(|f| f["regions"].as_array_mut().and_then(|r| r.first_mut()))
        .unwrap();
    region["source"] = "fallback:guess".into();
    assert!(
        !schema_errors(&banded).is_empty(),
        "an unknown fallback source passed the schema"
    );

    // shards 1/2 and 2/2, merged
    let out2 = d.path().join("sharded");
    for i in 1..=2 {
        let o = pixla()
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(&out2)
            .args([
                "--quiet",
                "-j",
                "1",
                "--shard",
                &format!("{i}/2"),
                "--report",
            ])
            .arg(out2.join(format!("reports/shard-{i}.json")))
            .output()
            .unwrap();
        assert!(
            o.status.code().unwrap() <= 1,
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_valid(
            &read_json(&out2.join(format!("reports/shard-{i}.json"))),
            "shard report",
        );
    }
    let merged = out2.join("pixla-report.json");
    let o = pixla()
        .args(["report", "merge"])
        .arg(out2.join("reports/shard-1.json"))
        .arg(out2.join("reports/shard-2.json"))
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap();
    // exit 1: the merged batch has a failed file
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m = read_json(&merged);
    assert_eq!(m["shards"].as_array().unwrap().len(), 2);
    assert_valid(&m, "merged report");
    // the failure's kind survives the merge
    assert_eq!(file_entry(&m, "broken.jpg")["error_kind"], "decode");

    // broken reports
    let mut bad = report.clone();
    bad["summary"]["files"] = Value::from("4");
    assert!(
        schema_errors(&bad)
            .iter()
            .any(|e| e.starts_with("/summary/files")),
        "{:?}",
        schema_errors(&bad)
    );
    let mut bad = report.clone();
    bad["files"][0]["thumbnail"] = Value::from("AAAA");
    assert!(
        !schema_errors(&bad).is_empty(),
        "an unknown field in a file entry must fail"
    );
    let mut bad = report.clone();
    let broken = bad["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["input"] == "broken.jpg")
        .unwrap();
    broken["error_kind"] = Value::from("flaky");
    assert!(
        !schema_errors(&bad).is_empty(),
        "an unknown error_kind must fail"
    );
    let mut bad = report.clone();
    bad["files"][0]["status"] = Value::from("fine");
    assert!(!schema_errors(&bad).is_empty());
    let mut bad = report.clone();
    bad["run"]["started"] = Value::from(17);
    assert!(!schema_errors(&bad).is_empty());
    let mut bad = report.clone();
    let redacted = bad["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["status"] == "clean")
        .unwrap();
    redacted.as_object_mut().unwrap().remove("output_sha256");
    assert!(
        !schema_errors(&bad).is_empty(),
        "a clean file without output_sha256 must fail"
    );

    // the binary's embedded schema is the repository's file
    assert_eq!(
        serde_json::from_str::<Value>(pixla::internal_tests::verify::REPORT_SCHEMA).unwrap(),
        report_schema()
    );

    // verify: the merged report is fine; a report with an unknown field is not
    let o = pixla().arg("verify").arg(&merged).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let mut bad = m.clone();
    bad["files"][0]["crop"] = Value::from("base64...");
    bad["models"][0]["sha256"] = Value::from("0".repeat(64));
    let bp = out2.join("tampered-report.json");
    std::fs::write(&bp, serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = pixla()
        .args(["verify", "--json"])
        .arg(&bp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert!(
        v["schema_errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("crop")),
        "{v:#}"
    );
    assert_eq!(v["models"][0]["status"], "mismatch", "{v:#}");
    assert_eq!(v["models"][0]["pinned"], false);
    std::fs::write(&bp, b"{ not json").unwrap();
    pixla().arg("verify").arg(&bp).assert().code(2);
}

/// A report entry that failed makes the delivery incomplete; unreadable images are failures;
/// then `purge`: a dry run deletes nothing; with --yes and a changed output nothing is
/// deleted; with the delivery intact exactly the verified originals are deleted, the changed
/// one, the failed one and one reached through a symbolic link are kept, and every deletion
/// and refusal is in the log, fsynced before the deletion.
#[test]
fn check_refuses_failed_files_and_purge_deletes_only_verified_originals() {
    let (d, inp) = input_dir(&[
        "plates/nomeroff_example1.jpeg",
        "metadata/webodm_tiny_drone_image.jpg",
    ]);
    std::fs::copy(
        shared("metadata/webodm_tiny_drone_image.jpg"),
        inp.join("changed.jpg"),
    )
    .unwrap();
    std::fs::write(inp.join("cut.jpg"), b"\xff\xd8\xff\xdb truncated").unwrap();
    let outside = d.path().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(
        shared("metadata/webodm_tiny_drone_image.jpg"),
        outside.join("x.jpg"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("x.jpg"), inp.join("linked.jpg")).unwrap();
    let (code, report, out) = redact(&inp, &["-j", "2", "--operator", "P. Urge"]);
    assert_eq!(code, 1);
    assert_eq!(file_entry(&report, "cut.jpg")["status"], "failed");
    let rp = out.join("pixla-report.json");

    // the originals show a plate; the failed file is a failure of the delivery
    let o = pixla()
        .args(["check", "-j", "2", "--json"])
        .arg(&inp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["file"] == "nomeroff_example1.jpeg"
                && f["class"] == "plate"
                && f["score"].as_f64().unwrap() > 0.8),
        "{v:#}"
    );
    assert!(
        kinds(&v, "problems").contains(&("cut.jpg", "unreadable")),
        "{v:#}"
    );
    let o = pixla()
        .args(["check", "-j", "2", "--json"])
        .arg(&out)
        .arg("--report")
        .arg(&rp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(kinds(&json_out(&o), "problems").contains(&("cut.jpg", "failed")));

    // an original changed after the run
    let mut b = std::fs::read(inp.join("changed.jpg")).unwrap();
    b.extend_from_slice(b"edited");
    std::fs::write(inp.join("changed.jpg"), &b).unwrap();
    let before: Vec<_> = std::fs::read_dir(&inp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let log = out.join("pixla-purge.log.jsonl");

    // dry run: lists, deletes nothing, writes no log
    let o = pixla()
        .arg("purge")
        .arg(&rp)
        .arg("--input")
        .arg(&inp)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["dry_run"], true);
    let actions = |v: &Value| -> Vec<(String, String)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["file"].as_str().unwrap().to_string(),
                    i["action"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let want = |del: &str| {
        vec![
            ("changed.jpg".to_string(), "refused".to_string()),
            ("cut.jpg".into(), "refused".into()),
            ("linked.jpg".into(), "refused".into()),
            ("nomeroff_example1.jpeg".into(), del.to_string()),
            ("webodm_tiny_drone_image.jpg".into(), del.to_string()),
        ]
    };
    assert_eq!(actions(&v), want("delete"));
    assert_eq!(std::fs::read_dir(&inp).unwrap().count(), before.len());
    assert!(!log.exists());

    // an output changed: the delivery is not verified and nothing is deleted
    let good = std::fs::read(out.join("nomeroff_example1.jpeg")).unwrap();
    let mut evil = good.clone();
    evil.push(1);
    std::fs::write(out.join("nomeroff_example1.jpeg"), &evil).unwrap();
    let o = pixla()
        .arg("purge")
        .arg(&rp)
        .arg("--input")
        .arg(&inp)
        .args(["--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["delivery_verified"], false);
    assert!(actions(&v).iter().all(|(_, a)| a == "refused"), "{v:#}");
    assert_eq!(std::fs::read_dir(&inp).unwrap().count(), before.len());
    std::fs::write(out.join("nomeroff_example1.jpeg"), &good).unwrap();
    let refusals_before = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(refusals_before, 5);

    // the delivery intact: exactly the two verified originals go
    let o = pixla()
        .arg("purge")
        .arg(&rp)
        .arg("--input")
        .arg(&inp)
        .args(["--yes", "--json", "--operator", "P. Urge"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json_out(&o);
    assert_eq!(actions(&v), want("deleted"));
    assert!(
        !inp.join("nomeroff_example1.jpeg").exists()
            && !inp.join("webodm_tiny_drone_image.jpg").exists()
    );
    assert!(inp.join("changed.jpg").exists() && inp.join("cut.jpg").exists());
    assert!(outside.join("x.jpg").exists() && inp.join("linked.jpg").symlink_metadata().is_ok());
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .skip(refusals_before)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let (_, report_sha) = pixla::internal_tests::report::read(&rp).unwrap();
    for l in &lines {
        assert_eq!(l["schema"], "pixla-purge/1");
        assert_eq!(l["operator"], "P. Urge");
        assert_eq!(l["report"], "pixla-report.json");
        assert_eq!(l["report_sha256"], report_sha.as_str());
        assert!(
            l["time"].as_str().unwrap().ends_with('Z') && !l["host"].as_str().unwrap().is_empty()
        );
    }
    let deleted: Vec<&Value> = lines.iter().filter(|l| l["action"] == "deleted").collect();
    assert_eq!(deleted.len(), 2);
    for l in deleted {
        assert_eq!(
            l["sha256"],
            file_entry(&report, l["file"].as_str().unwrap())["input_sha256"]
        );
    }
    let changed = lines.iter().find(|l| l["file"] == "changed.jpg").unwrap();
    assert_eq!(changed["action"], "refused");
    assert!(changed["reason"]
        .as_str()
        .unwrap()
        .contains("changed since the run"));
    assert!(
        lines.iter().find(|l| l["file"] == "linked.jpg").unwrap()["reason"]
            .as_str()
            .unwrap()
            .contains("symbolic link")
    );
}

/// A TIFF is examined by the TIFF path of the pipeline (as `redact` reads it): the walkers
/// are findings in the original, and the redacted TIFF passes with its report.
#[test]
fn check_reads_tiff_like_redact() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let img = image::open(shared("annotations/sahi_terrain1.jpg"))
        .unwrap()
        .to_rgb8();
    let crop = image::imageops::crop_imm(&img, 400, 900, 1100, 420).to_image();
    crop.save(inp.join("walkers.tif")).unwrap();
    let o = pixla()
        .args(["check", "-j", "2", "--json"])
        .arg(&inp)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    let persons = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "person")
        .count();
    assert!(persons >= 5, "{v:#}");
    let (code, report, out) = redact(&inp, &["-j", "2"]);
    assert_eq!(code, 0);
    assert_eq!(file_entry(&report, "walkers.tif")["format"], "tiff");
    assert_valid(&report, "TIFF run");
    let o = pixla()
        .args(["check", "-j", "2", "--json"])
        .arg(&out)
        .arg("--report")
        .arg(out.join("pixla-report.json"))
        .output()
        .unwrap();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    eprintln!("pixla-check on the redacted TIFF: {}", v["summary"]);
    // other detection settings than the run's are said (not a failure by themselves)
    let o = pixla()
        .args(["check", "-j", "2", "--json", "--threshold", "person=0.9"])
        .arg(&out)
        .arg("--report")
        .arg(out.join("pixla-report.json"))
        .output()
        .unwrap();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert!(
        v["settings_differ"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("thresholds:")),
        "{v:#}"
    );
}

/// Two images with nothing to hide under `d/raw` (outputs are byte-for-byte copies, so an
/// output has the sha256 of its original), redacted into `d/out`; returns (raw, out).
fn clean_delivery(d: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let raw = d.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    for (i, n) in ["a.png", "b.png"].iter().enumerate() {
        image::RgbImage::from_fn(160, 120, |x, y| {
            image::Rgb([(x + 40 * i as u32) as u8, y as u8, 128])
        })
        .save(raw.join(n))
        .unwrap();
    }
    let (code, report, out) = redact(&raw, &["-j", "2"]);
    assert_eq!(code, 0);
    for n in ["a.png", "b.png"] {
        assert_eq!(
            file_entry(&report, n)["status"],
            "clean",
            "{n}: pick an image with nothing to hide"
        );
        assert_eq!(sha256(&out.join(n)), sha256(&raw.join(n)));
    }
    (raw, out)
}

/// `purge --input` naming the delivery itself (or a folder holding it, or one inside it,
/// also through a link) is refused as a whole: exit 2, nothing deleted, no log written.
#[test]
fn purge_refuses_when_root_and_delivery_overlap() {
    let d = tempfile::tempdir().unwrap();
    let (raw, out) = clean_delivery(d.path());
    let rp = out.join("pixla-report.json");
    std::fs::create_dir_all(out.join("sub")).unwrap();
    std::os::unix::fs::symlink(&out, d.path().join("alias")).unwrap();
    for root in [
        out.clone(),
        d.path().join("alias"),
        d.path().to_path_buf(),
        out.join("sub"),
    ] {
        let o = pixla()
            .arg("purge")
            .arg(&rp)
            .arg("--input")
            .arg(&root)
            .args(["--yes"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(2),
            "--input {}: {stderr}",
            root.display()
        );
        assert!(
            stderr.contains("different trees") && stderr.contains("nothing is deleted"),
            "{stderr}"
        );
        for n in ["a.png", "b.png"] {
            assert!(
                out.join(n).is_file() && raw.join(n).is_file(),
                "--input {}: {n} was deleted",
                root.display()
            );
        }
        assert!(!out.join("pixla-purge.log.jsonl").exists());
    }
    // the right root still purges
    pixla()
        .arg("purge")
        .arg(&rp)
        .arg("--input")
        .arg(&raw)
        .args(["--yes"])
        .assert()
        .code(0);
    assert!(!raw.join("a.png").exists() && out.join("a.png").is_file());
}

/// An output that is a link to its original is a problem of the delivery (`verify` exit 1,
/// `purge` deletes nothing); one that is the original's hard link (same device and inode)
/// is refused per file by `purge`, the others deleted.
#[test]
fn purge_and_verify_refuse_an_output_that_is_its_original() {
    let d = tempfile::tempdir().unwrap();
    let (raw, out) = clean_delivery(d.path());
    let rp = out.join("pixla-report.json");
    std::fs::remove_file(out.join("a.png")).unwrap();
    std::os::unix::fs::symlink("../raw/a.png", out.join("a.png")).unwrap();
    let o = pixla()
        .args(["verify", "--json"])
        .arg(&rp)
        .output()
        .unwrap();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    assert_eq!(
        kinds(&v, "outputs"),
        vec![("a.png", "symbolic-link")],
        "{v:#}"
    );
    let o = pixla()
        .arg("purge")
        .arg(&rp)
        .arg("--input")
        .arg(&raw)
        .args(["--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["delivery_verified"], false);
    assert!(
        raw.join("a.png").is_file() && raw.join("b.png").is_file(),
        "an original was deleted"
    );
    assert!(out.join("a.png").is_file(), "the delivered link dangles");

    // a hard link: a regular file with the right sha256 (verify passes), but the same file
    std::fs::remove_file(out.join("a.png")).unwrap();
    std::fs::hard_link(raw.join("a.png"), out.join("a.png")).unwrap();
    pixla().arg("verify").arg(&rp).assert().code(0);
    let o = pixla()
        .arg("purge")
        .arg(&rp)
        .arg("--input")
        .arg(&raw)
        .args(["--yes", "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    let item = |n: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["file"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(item("a.png")["action"], "refused", "{v:#}");
    assert!(
        item("a.png")["reason"]
            .as_str()
            .unwrap()
            .contains("same file"),
        "{v:#}"
    );
    assert_eq!(item("b.png")["action"], "deleted", "{v:#}");
    assert!(raw.join("a.png").is_file() && !raw.join("b.png").exists());
}

/// `verify` judges the delivery on disk: an output reached through a linked folder is a
/// problem (exit 1), whether the link leads outside OUT or to another folder inside it.
#[test]
fn verify_refuses_outputs_behind_a_linked_folder() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(inp.join("sub")).unwrap();
    std::fs::copy(
        shared("metadata/webodm_tiny_drone_image.jpg"),
        inp.join("sub/t.jpg"),
    )
    .unwrap();
    let (code, _, out) = redact(&inp, &["-j", "2"]);
    assert_eq!(code, 0);
    let rp = out.join("pixla-report.json");
    pixla().arg("verify").arg(&rp).assert().code(0);
    for target in [d.path().join("X"), out.join("real")] {
        std::fs::rename(out.join("sub"), &target).unwrap();
        std::os::unix::fs::symlink(&target, out.join("sub")).unwrap();
        let o = pixla()
            .args(["verify", "--json"])
            .arg(&rp)
            .output()
            .unwrap();
        let v = json_out(&o);
        assert_eq!(
            o.status.code(),
            Some(1),
            "through a link to {}: {v:#}",
            target.display()
        );
        assert_eq!(
            kinds(&v, "outputs"),
            vec![("sub/t.jpg", "symbolic-link")],
            "{v:#}"
        );
        std::fs::remove_file(out.join("sub")).unwrap();
        std::fs::rename(&target, out.join("sub")).unwrap();
    }
    pixla().arg("verify").arg(&rp).assert().code(0);
}

/// Checks judge the pixels on disk, not the report: the original put in place of its redacted
/// output, with the report's `output_sha256` and `output_bytes` edited to match, is refused by
/// verify and by check (every region `region-not-hidden`, and the people it shows are findings
/// again), while pixla's own output passes both.
#[test]
fn an_original_behind_a_matching_report_is_refused_by_its_pixels() {
    let d = tempfile::tempdir().unwrap();
    let inp = d.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    let original = shared("street/deface_city.jpg");
    std::fs::copy(&original, inp.join("city.jpg")).unwrap();
    let (code, report, out) = redact(&inp, &["-j", "2"]);
    assert_eq!(code, 0);
    let rp = out.join("pixla-report.json");
    let n = file_entry(&report, "city.jpg")["regions"]
        .as_array()
        .unwrap()
        .len();
    assert!(n >= 5, "{n} regions");
    let check = || {
        pixla()
            .args(["check", "--json", "-j", "2"])
            .arg(&out)
            .arg("--report")
            .arg(&rp)
            .output()
            .unwrap()
    };
    let verify = || {
        pixla()
            .args(["verify", "--json"])
            .arg(&rp)
            .output()
            .unwrap()
    };
    let o = check();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(0), "pixla's own output: {v:#}");
    let o = verify();
    assert_eq!(
        o.status.code(),
        Some(0),
        "pixla's own output: {}",
        String::from_utf8_lossy(&o.stdout)
    );

    // the original over the output, the report edited to its sha256 and size
    std::fs::copy(&original, out.join("city.jpg")).unwrap();
    let mut edited = report.clone();
    let e = edited["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["input"] == "city.jpg")
        .unwrap();
    e["output_sha256"] = sha256(&original).into();
    e["output_bytes"] = std::fs::metadata(&original).unwrap().len().into();
    std::fs::write(&rp, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();

    let o = verify();
    assert_eq!(
        o.status.code(),
        Some(1),
        "verify passed an original: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json_out(&o);
    assert_eq!(
        kinds(&v, "outputs"),
        vec![("city.jpg", "region-not-hidden"); n],
        "{v:#}"
    );
    let o = check();
    let v = json_out(&o);
    assert_eq!(o.status.code(), Some(1), "check passed an original: {v:#}");
    assert_eq!(
        kinds(&v, "problems"),
        vec![("city.jpg", "region-not-hidden"); n],
        "{v:#}"
    );
    assert_eq!(v["summary"]["regions_not_hidden"], n);
    assert_eq!(
        v["summary"]["covered"], 0,
        "a region that shows its pixels covers nothing: {v:#}"
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["class"] == "person")
            .count()
            >= 5,
        "{v:#}"
    );
}

/// The gate and redact agree at the defaults: pixla's own output of every shared fixture
/// passes `check --report` with no finding at all (in particular no plate beside a fill, and
/// no detection lifted over the threshold by a region pixla hid), while the originals are
/// refused with a plate finding in every plate picture whose plate reaches the threshold.
/// `nomeroff_250031471orig`'s tilted plate scores 0.41: redact fills it as a weak plate (the
/// fail-closed stand-in of a large vehicle with no plate), and check, which counts only
/// detections at the threshold, names the people in that picture but not its plate.
#[test]
fn the_gate_passes_pixlas_own_output_of_every_fixture_and_refuses_the_originals() {
    let (_d, inp) = input_dir(ALL_FIXTURES);
    let (code, report, out) = redact(&inp, &["-j", "2"]);
    assert_eq!(code, 0, "{report:#}");
    let check = |dir: &Path, with_report: bool| {
        let mut c = pixla();
        c.args(["check", "-j", "2", "--json"]).arg(dir);
        if with_report {
            c.arg("--report").arg(out.join("pixla-report.json"));
        }
        let o = c.output().unwrap();
        (o.status.code(), json_out(&o))
    };
    let (code, v) = check(&out, true);
    assert_eq!(v["findings"], serde_json::json!([]), "{v:#}");
    assert_eq!(v["problems"], serde_json::json!([]), "{v:#}");
    assert_eq!(code, Some(0), "{v:#}");
    assert!(v["summary"]["covered"].as_u64().unwrap() > 0, "{v:#}");

    let (code, v) = check(&inp, false);
    assert_eq!(code, Some(1), "{v:#}");
    let findings = v["findings"].as_array().unwrap();
    for f in ALL_FIXTURES
        .iter()
        .filter(|f| f.starts_with("plates/") && !f.contains("250031471orig"))
    {
        let name = Path::new(f).file_name().unwrap().to_str().unwrap();
        assert!(
            findings
                .iter()
                .any(|x| x["file"] == name && x["class"] == "plate"),
            "no plate named in the original {name}: {v:#}"
        );
    }
}
