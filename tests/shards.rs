//! Sharded batches: the Slurm array script and the Kubernetes Indexed Job of
//! fixtures/cluster, run locally shard by shard, merged with `pixla report merge`, give the
//! same files, regions and output bytes as one single-process run.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A batch with a subfolder, a broken image and a non-image; the names spread over all
/// three shards (FNV-1a of the relative path).
fn batch() -> (tempfile::TempDir, PathBuf) {
    let (d, inp) = input_tree(&[
        ("annotations/sahi_terrain2.png", "sahi_terrain2.png"),
        ("annotations/sahi_terrain4.png", "sahi_terrain4.png"),
        ("plates/nomeroff_241458051.jpg", "nomeroff_241458051.jpg"),
        ("plates/nomeroff_example2.jpeg", "nomeroff_example2.jpeg"),
        ("street/deface_city.jpg", "deface_city.jpg"),
        (
            "plates/nomeroff_296023036.jpeg",
            "sub/nomeroff_296023036.jpeg",
        ),
    ]);
    std::fs::write(inp.join("sub/notes.txt"), b"flight log").unwrap();
    std::fs::write(inp.join("broken.jpg"), b"not an image").unwrap();
    (d, inp)
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("pixla")
}

/// sha256 of every output under `root`: the file tree without the reports and the reports
/// folder.
fn output_tree(root: &Path) -> BTreeMap<String, String> {
    let mut t = tree(root);
    t.retain(|rel, _| !rel.starts_with("reports/") && rel != "pixla-report.json");
    t
}

/// What must not differ between a merged and a single run: per file everything but the time.
fn files_without_times(r: &Value) -> Vec<Value> {
    r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().unwrap().remove("millis");
            f
        })
        .collect()
}

fn merge(reports: &[PathBuf], out: &Path) -> std::process::Output {
    pixla()
        .args(["report", "merge"])
        .args(reports)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn shard_reports(out: &Path) -> Vec<PathBuf> {
    (1..=3)
        .map(|i| out.join(format!("reports/shard-{i}-of-3.json")))
        .collect()
}

fn compare_with_single(single: &Value, single_out: &Path, merged: &Value, sharded_out: &Path) {
    assert_eq!(
        files_without_times(merged),
        files_without_times(single),
        "merged files differ from the single run"
    );
    assert_eq!(merged["summary"], single["summary"]);
    assert_eq!(
        output_tree(sharded_out),
        output_tree(single_out),
        "output trees differ"
    );
    assert_eq!(merged["shards"].as_array().unwrap().len(), 3);
    assert!(merged["run"]["shard"].is_null());
}

#[test]
fn slurm_and_kubernetes_shards_merge_into_the_single_run() {
    let (d, inp) = batch();
    let t = std::time::Instant::now();
    let (code, single, single_out) = redact(&inp, &["-j", "2"]);
    let single_s = t.elapsed().as_secs_f64();
    assert_eq!(code, 1, "broken.jpg fails");
    assert_eq!(single["summary"]["files"], 8);
    let cluster = repo_file("fixtures/cluster");

    // Slurm: the array script, task ids 0, 1, 2
    let slurm_out = d.path().join("slurm-out");
    let t = std::time::Instant::now();
    let mut per_shard = Vec::new();
    for id in 0..3 {
        let o = Command::new("bash")
            .arg(cluster.join("slurm-array.sh"))
            .env("IN", &inp)
            .env("OUT", &slurm_out)
            .env("PIXLA", bin())
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .env("SLURM_CPUS_PER_TASK", "1")
            .env_remove("PIXLA_OPERATOR")
            .output()
            .unwrap();
        let r = read_json(&slurm_out.join(format!("reports/shard-{}-of-3.json", id + 1)));
        assert_eq!(r["run"]["shard"], format!("{}/3", id + 1));
        let failed = r["summary"]["failed"].as_u64().unwrap();
        assert_eq!(
            o.status.code(),
            Some((failed > 0) as i32),
            "task {id}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        per_shard.push(r["summary"]["files"].as_u64().unwrap());
    }
    let slurm_s = t.elapsed().as_secs_f64();
    assert!(
        per_shard.iter().all(|&n| n > 0),
        "a shard got no files: {per_shard:?}"
    );
    let merged_path = slurm_out.join("pixla-report.json");
    let o = merge(&shard_reports(&slurm_out), &merged_path);
    assert_eq!(
        o.status.code(),
        Some(1),
        "merge exits 1 like the batch (a failed file): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let merged = read_json(&merged_path);
    compare_with_single(&single, &single_out, &merged, &slurm_out);
    eprintln!("shards {per_shard:?}: single run {single_s:.1} s, three Slurm tasks one after another {slurm_s:.1} s; merged report equals the single run");

    // Kubernetes: the manifest's own command line, per completion index
    let yaml = {
        let dir = repo_file("tests/browser");
        assert!(
            dir.join("node_modules/js-yaml").exists(),
            "run `npm ci --prefix tests/browser`"
        );
        let o = Command::new("node")
            .arg(dir.join("yaml.mjs"))
            .arg(cluster.join("k8s-indexed-job.yaml"))
            .output()
            .expect("node");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    assert_eq!(yaml["kind"], "Job");
    assert_eq!(yaml["spec"]["completionMode"], "Indexed");
    let c = &yaml["spec"]["template"]["spec"]["containers"][0];
    let env: BTreeMap<String, String> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    let n: u64 = env["SHARDS"].parse().unwrap();
    assert_eq!(
        yaml["spec"]["completions"], n,
        "SHARDS must equal completions"
    );
    assert_eq!(yaml["spec"]["parallelism"], n);
    assert_eq!(n, 3, "the test runs three indexes");
    let argv: Vec<String> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .chain(c["args"].as_array().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let k8s_out = d.path().join("k8s-out");
    let path = format!(
        "{}:{}",
        bin().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for idx in 0..3 {
        let o = Command::new(&argv[0])
            .args(&argv[1..])
            .envs(&env)
            .env("IN", &inp)
            .env("OUT", &k8s_out)
            .env("PATH", &path)
            .env("JOB_COMPLETION_INDEX", idx.to_string())
            .output()
            .unwrap();
        assert!(
            o.status.code().unwrap_or(9) <= 1,
            "index {idx}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let k8s_merged = k8s_out.join("pixla-report.json");
    merge(&shard_reports(&k8s_out), &k8s_merged);
    let km = read_json(&k8s_merged);
    compare_with_single(&single, &single_out, &km, &k8s_out);
    assert_eq!(km["shards"][0]["run"]["operator"], env["PIXLA_OPERATOR"]);
}

/// Shards that do not belong together are refused, with the reason.
#[test]
fn merge_refuses_shards_that_do_not_belong_together() {
    let (d, inp) = batch();
    let out = d.path().join("out");
    for i in 1..=3 {
        let rp = out.join(format!("reports/shard-{i}-of-3.json"));
        let o = pixla()
            .arg("redact")
            .arg(&inp)
            .arg("-o")
            .arg(&out)
            .args(["--quiet", "--shard", &format!("{i}/3"), "--report"])
            .arg(&rp)
            .output()
            .unwrap();
        assert!(o.status.code().unwrap() <= 1);
    }
    let reports = shard_reports(&out);
    let m = d.path().join("merged.json");
    let refused_to = |rs: &[PathBuf], why: &str, m: &Path| {
        let before = std::fs::read(m).ok();
        let o = merge(rs, m);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{why}: {err}");
        assert!(err.contains(why), "expected `{why}` in: {err}");
        assert_eq!(
            std::fs::read(m).ok(),
            before,
            "a refused merge wrote {}",
            m.display()
        );
    };
    let refused = |rs: &[PathBuf], why: &str| refused_to(rs, why, &m);
    refused(&reports[..2], "missing: 3/3");
    refused(
        &[reports[0].clone(), reports[0].clone(), reports[1].clone()],
        "given twice",
    );
    // edited copies: another configuration; a file moved to another shard's report
    let edit = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut v = read_json(&reports[1]);
        f(&mut v);
        let p = d.path().join(name);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        vec![reports[0].clone(), p, reports[2].clone()]
    };
    refused(
        &edit("margin.json", &|v| v["config"]["margin"] = 0.3.into()),
        "configuration differs",
    );
    let moved = read_json(&reports[0])["files"][0].clone();
    refused(
        &edit("moved.json", &|v| {
            v["files"].as_array_mut().unwrap().push(moved.clone())
        }),
        "does not belong to shard 2/3",
    );
    refused(
        &edit("plain.json", &|v| v["run"]["shard"] = Value::Null),
        "not a shard report",
    );
    // the three real ones merge; the merged report is not itself a shard
    let o = merge(&reports, &m);
    assert!(
        o.status.code().unwrap() <= 1,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = read_json(&m);
    assert_eq!(v["summary"]["files"], 8);
    let names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["input"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    refused_to(
        &[m.clone(), reports[1].clone(), reports[2].clone()],
        "not a shard report",
        &d.path().join("again.json"),
    );
    refused_to(&reports, "is one of the shard reports", &reports[0]);
}

/// Shards must prove they belong to one batch, not only share the settings: every shard
/// report records the batch (`run.batch`: the number and sha256 of the whole batch's input
/// paths, before sharding, and an identity over them, the version, settings and models), and
/// merge refuses shards whose batches differ, or a shard without one.
#[test]
fn merge_refuses_shards_of_two_batches() {
    let d = tempfile::tempdir().unwrap();
    let (inp, other) = (d.path().join("in"), d.path().join("other"));
    for (dir, names) in [
        (&inp, ["a.jpg", "b.jpg", "c.jpg"]),
        (&other, ["d.jpg", "e.jpg", "f.jpg"]),
    ] {
        std::fs::create_dir_all(dir).unwrap();
        for n in names {
            std::fs::copy(shared("metadata/webodm_tiny_drone_image.jpg"), dir.join(n)).unwrap();
        }
    }
    let shard = |input: &Path, out: &Path, spec: &str, report: &Path| {
        let o = pixla()
            .arg("redact")
            .arg(input)
            .arg("-o")
            .arg(out)
            .args(["--quiet", "--shard", spec, "--report"])
            .arg(report)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{spec}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        read_json(report)
    };
    let (out, out2) = (d.path().join("out"), d.path().join("out2"));
    let s1 = out.join("reports/s1.json");
    let s2_other = out2.join("reports/s2.json");
    let r1 = shard(&inp, &out, "1/2", &s1);
    let r2 = shard(&other, &out2, "2/2", &s2_other);
    let m = d.path().join("m.json");
    let o = merge(&[s1.clone(), s2_other.clone()], &m);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "two batches merged: {err}");
    assert!(
        err.contains("s2.json") && err.contains("another batch") && err.contains("3 input images"),
        "{err}"
    );
    assert!(!m.exists());
    assert_eq!(r1["run"]["batch"]["inputs"], 3, "{}", r1["run"]);
    assert_ne!(
        r1["run"]["batch"]["inputs_sha256"],
        r2["run"]["batch"]["inputs_sha256"]
    );

    // shard 2/2 of the same batch: the same batch, and the merge goes through
    let s2 = out.join("reports/s2.json");
    let r2 = shard(&inp, &out, "2/2", &s2);
    assert_eq!(r1["run"]["batch"], r2["run"]["batch"]);
    let o = merge(&[s1.clone(), s2.clone()], &m);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let merged = read_json(&m);
    assert_eq!(merged["summary"]["files"], 3);
    assert_eq!(merged["run"]["batch"], r1["run"]["batch"]);
    std::fs::remove_file(&m).unwrap();

    // a shard without the identity (an older pixla's, or edited), or with another one
    let edit = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut v = r2.clone();
        f(&mut v);
        let p = d.path().join(name);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        p
    };
    for (name, why, f) in [
        (
            "no-batch.json",
            "without a batch identity",
            &(|v: &mut Value| drop(v["run"].as_object_mut().unwrap().remove("batch")))
                as &dyn Fn(&mut Value),
        ),
        ("other-id.json", "batch id", &|v: &mut Value| {
            v["run"]["batch"]["id"] = "0".repeat(64).into()
        }),
        ("other-inputs.json", "another batch", &|v: &mut Value| {
            v["run"]["batch"]["inputs"] = 4.into()
        }),
    ] {
        let o = merge(&[s1.clone(), edit(name, f)], &m);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(name) && err.contains(why),
            "{name}: expected `{why}` in: {err}"
        );
        assert!(!m.exists());
    }
}
