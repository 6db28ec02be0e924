//! Merging the reports of the shards of one batch (`pixla report merge`) into the report a
//! single run would have written, refusing shards that do not belong together.

use crate::config::comparable;
use crate::fsio::shard::Shard;
use crate::report::document::{FileEntry, Report, ReviewRun, Run, ShardRecord, Summary, SCHEMA};

fn seconds_between(a: &str, b: &str) -> f64 {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => ((b - a).num_milliseconds() as f64 / 1000.0).max(0.0),
        _ => 0.0,
    }
}

/// One shard report to merge: its file name, the sha256 of its bytes, the report.
pub struct ShardInput {
    pub name: String,
    pub sha256: String,
    pub report: Report,
}

/// Combine the reports of shards 1..N of one batch into one report. Refuses shards that do
/// not belong together: another schema, tool version, configuration or model set, another
/// N, a shard missing or given twice, a file in two shards, or a file whose path hash does
/// not fall in the shard that reports it. `run` describes the merge itself (operator, host,
/// command); its start, end and duration are taken from the shards.
pub fn merge_shards(parts: Vec<ShardInput>, mut run: Run) -> Result<Report, String> {
    let first = parts.first().ok_or("no shard reports given")?;
    let mut slots = Slots::default();
    for p in &parts {
        let spec = slots.take(p)?;
        same_run(p, first)?;
        same_batch(p, first, spec)?;
        files_belong(p, spec)?;
    }
    slots.all_given()?;
    let files = all_files(&parts)?;
    merged_run(&mut run, &parts);
    run.batch = first.report.run.batch.clone();
    Ok(Report {
        schema: SCHEMA.into(),
        tool: first.report.tool.clone(),
        run,
        config: first.report.config.clone(),
        models: first.report.models.clone(),
        summary: Summary::of(&files),
        files,
        reviews: all_reviews(&parts),
        shards: shard_records(&parts),
        accuracy: first.report.accuracy.clone(),
    })
}

/// The shards given so far: by index (0-based), the name of the report that is that shard;
/// and the split (N) of the first.
#[derive(Default)]
struct Slots<'a> {
    seen: Vec<Option<&'a str>>,
    count: Option<u32>,
}

impl<'a> Slots<'a> {
    /// The shard `p` is, taken: refused when `p` is not a shard report, is of another split
    /// than the first, or its shard was given already.
    fn take(&mut self, p: &'a ShardInput) -> Result<Shard, String> {
        let spec = p.report.run.shard.ok_or_else(|| {
            format!(
                "{}: not a shard report (it was not run with --shard)",
                p.name
            )
        })?;
        let (i, n) = (spec.index, spec.count);
        if *self.count.get_or_insert(n) != n {
            return Err(format!(
                "{}: shard {spec} is of another split than {}/{}",
                p.name,
                1,
                self.count.unwrap_or(0)
            ));
        }
        if self.seen.len() < n as usize {
            self.seen.resize(n as usize, None);
        }
        if let Some(other) = self.seen[i as usize - 1] {
            return Err(format!(
                "shard {spec} is given twice: {other} and {}",
                p.name
            ));
        }
        self.seen[i as usize - 1] = Some(&p.name);
        Ok(spec)
    }

    /// Every shard of the split was given.
    fn all_given(&self) -> Result<(), String> {
        let missing: Vec<String> = self
            .seen
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| {
                let (index, count) = (i as u32 + 1, self.seen.len() as u32);
                Shard { index, count }.to_string()
            })
            .collect();
        if !missing.is_empty() {
            return Err(format!("shard report(s) missing: {}", missing.join(", ")));
        }
        Ok(())
    }
}

/// `p` was made as `first` was: the same pixla version, configuration and models.
fn same_run(p: &ShardInput, first: &ShardInput) -> Result<(), String> {
    let r = &p.report;
    if r.tool.version != first.report.tool.version {
        return Err(format!(
            "{}: made by pixla {}, {} by pixla {}",
            p.name, r.tool.version, first.name, first.report.tool.version
        ));
    }
    if comparable(&r.config) != comparable(&first.report.config) {
        return Err(format!(
            "{}: its configuration differs from {}'s",
            p.name, first.name
        ));
    }
    let ids = |r: &Report| {
        r.models
            .iter()
            .map(|m| (m.role.clone(), m.name.clone(), m.sha256.clone()))
            .collect::<Vec<_>>()
    };
    if ids(r) != ids(&first.report) {
        return Err(format!(
            "{}: its models differ from {}'s",
            p.name, first.name
        ));
    }
    Ok(())
}

/// `p` (shard `spec`) is of `first`'s batch: the same input files (all shards', before
/// sharding) and identity.
fn same_batch(p: &ShardInput, first: &ShardInput, spec: Shard) -> Result<(), String> {
    let no_batch = |name: &str| {
        format!("{name}: shard without a batch identity (run.batch): it cannot be shown to belong to this batch; run that shard again with this pixla")
    };
    let b = p
        .report
        .run
        .batch
        .as_ref()
        .ok_or_else(|| no_batch(&p.name))?;
    let fb = first
        .report
        .run
        .batch
        .as_ref()
        .ok_or_else(|| no_batch(&first.name))?;
    if (b.inputs, &b.inputs_sha256) != (fb.inputs, &fb.inputs_sha256) {
        return Err(format!(
            "{}: shard {spec} is of another batch than {}: its batch has {} input images (paths sha256 {}), {}'s has {} (sha256 {}); run every shard on the same inputs",
            p.name, first.name, b.inputs, b.inputs_sha256, first.name, fb.inputs, fb.inputs_sha256
        ));
    }
    if b.id != fb.id {
        return Err(format!(
            "{}: shard {spec} is of another batch than {}: batch id {}, {}'s is {}",
            p.name, first.name, b.id, first.name, fb.id
        ));
    }
    Ok(())
}

/// The path hash puts every file of `p` in its shard `spec` (else the report was renamed or
/// edited by hand).
fn files_belong(p: &ShardInput, spec: Shard) -> Result<(), String> {
    for f in &p.report.files {
        if !f.input.contains('\u{FFFD}') && !spec.contains(std::path::Path::new(&f.input)) {
            return Err(format!(
                "{}: {} does not belong to shard {spec}",
                p.name, f.input
            ));
        }
    }
    Ok(())
}

/// The files of all shards by input path, each in one shard only.
fn all_files(parts: &[ShardInput]) -> Result<Vec<FileEntry>, String> {
    let mut files: Vec<FileEntry> = Vec::new();
    let mut where_: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for p in parts {
        for f in &p.report.files {
            if let Some(other) = where_.insert(f.input.clone(), &p.name) {
                return Err(format!(
                    "{} is in two shard reports: {other} and {}",
                    f.input, p.name
                ));
            }
            files.push(f.clone());
        }
    }
    files.sort_by(|a, b| a.input.cmp(&b.input));
    Ok(files)
}

/// The merged run's times (from the first start to the last end), threads (all shards'),
/// and no shard.
fn merged_run(run: &mut Run, parts: &[ShardInput]) {
    run.started = parts
        .iter()
        .map(|p| p.report.run.started.clone())
        .min()
        .unwrap_or_default();
    run.finished = parts
        .iter()
        .map(|p| p.report.run.finished.clone())
        .max()
        .unwrap_or_default();
    run.seconds = seconds_between(&run.started, &run.finished);
    run.threads = parts.iter().map(|p| p.report.run.threads).sum();
    run.shard = None;
}

/// One record per shard, by index (every part has its shard: checked by [`Slots::take`]).
fn shard_records(parts: &[ShardInput]) -> Vec<ShardRecord> {
    let mut shards: Vec<ShardRecord> = parts
        .iter()
        .filter_map(|p| {
            Some(ShardRecord {
                shard: p.report.run.shard?,
                report: p.name.clone(),
                report_sha256: p.sha256.clone(),
                run: p.report.run.clone(),
                files: p.report.files.len(),
            })
        })
        .collect();
    shards.sort_by_key(|s| s.shard.index);
    shards
}

/// The reviews of all shards, by start.
fn all_reviews(parts: &[ShardInput]) -> Vec<ReviewRun> {
    let mut reviews: Vec<ReviewRun> = parts
        .iter()
        .flat_map(|p| p.report.reviews.clone())
        .collect();
    reviews.sort_by(|a, b| a.started.cmp(&b.started));
    reviews
}
