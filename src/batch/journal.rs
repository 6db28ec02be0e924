//! The batch journal, for crash safety and `pixla redact --resume`.
//!
//! `OUT/.pixla-journal.jsonl` (`.pixla-journal-I-of-N.jsonl` for a shard): a header line that
//! names the batch (tool version, configuration, models, the list of input paths), then one
//! JSON line per file whose output has been renamed into place — the file's full report
//! entry — each written and fsynced before the next. A run killed at any moment leaves at
//! worst a torn last line (ignored) and a stray `.pixla-*.tmp` (removed by `--resume`).
//! `--resume` keeps an entry only when the output on disk still has the recorded sha256 and
//! the input still has its recorded sha256; everything else is done again. The journal is
//! deleted once the batch's report is written.

use crate::config::Config;
use crate::find::loaded::Models;
use crate::fsio::shard::Shard;
use crate::fsio::walk::Job;
use crate::report::FileEntry;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const SCHEMA: &str = "pixla-journal/1";

/// The journal's path in `out` (one per shard, so shards can share an output folder).
pub fn path(out: &Path, shard: Option<Shard>) -> PathBuf {
    match shard {
        None => out.join(".pixla-journal.jsonl"),
        Some(s) => out.join(format!(".pixla-journal-{}-of-{}.jsonl", s.index, s.count)),
    }
}

/// What a batch is: a journal is only continued by a run whose header is equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub journal: String,
    pub tool_version: String,
    /// The run's configuration as runs are compared ([`Config::comparable`]).
    pub config: serde_json::Value,
    pub models: Vec<(String, String)>,
    pub shard: Option<Shard>,
    /// The whole batch (every shard's images, [`crate::fsio::walk::Walk::batch`]): the number of
    /// images and the sha256 of their relative paths ([`inputs_digest`]).
    pub inputs: usize,
    pub inputs_sha256: String,
}

/// The number of `rels` and the sha256 of them sorted, each followed by a NUL byte: what
/// names the input files of a batch (the journal header, the report's `run.batch`).
pub fn inputs_digest(rels: &[PathBuf]) -> (usize, String) {
    let mut sorted: Vec<&[u8]> = rels
        .iter()
        .map(|r| r.as_os_str().as_encoded_bytes())
        .collect();
    sorted.sort();
    let mut all = Vec::new();
    for r in sorted {
        all.extend_from_slice(r);
        all.push(0);
    }
    (rels.len(), crate::fsio::sha256_hex(&all))
}

impl Header {
    /// The header of a batch: `batch` is every image of the whole batch before sharding
    /// ([`crate::fsio::walk::Walk::batch`]), so the shards of one batch share everything but `shard`.
    pub fn new(cfg: &Config, models: &Models, shard: Option<Shard>, batch: &[PathBuf]) -> Header {
        let config = cfg.comparable();
        let (inputs, inputs_sha256) = inputs_digest(batch);
        Header {
            journal: SCHEMA.into(),
            tool_version: crate::VERSION.into(),
            config,
            models: models
                .specs()
                .iter()
                .map(|m| (m.name.to_string(), m.sha256.to_string()))
                .collect(),
            shard,
            inputs,
            inputs_sha256,
        }
    }

    /// The batch this header names, as the report records it (`run.batch`): every shard of
    /// one batch has the same (the header less its shard, hashed).
    pub fn batch(&self) -> crate::report::Batch {
        let whole = Header {
            shard: None,
            ..self.clone()
        };
        crate::report::Batch {
            id: crate::fsio::sha256_hex(&serde_json::to_vec(&whole).unwrap_or_default()),
            inputs: self.inputs,
            inputs_sha256: self.inputs_sha256.clone(),
        }
    }

    /// Which parts differ from `other`, for the refusal message.
    pub fn differences(&self, other: &Header) -> Vec<&'static str> {
        let mut v = vec![];
        if self.journal != other.journal || self.tool_version != other.tool_version {
            v.push("pixla version");
        }
        if self.config != other.config {
            v.push("settings");
        }
        if self.models != other.models {
            v.push("models");
        }
        if self.shard != other.shard {
            v.push("shard");
        }
        if self.inputs != other.inputs || self.inputs_sha256 != other.inputs_sha256 {
            v.push("input files");
        }
        v
    }
}

/// Read a journal: `None` when there is none; lines that do not parse (a torn last line
/// after a kill) are ignored; for a file journaled twice the last entry counts.
pub fn read(path: &Path) -> anyhow::Result<Option<(Header, Vec<FileEntry>)>> {
    let f = match open_nofollow(path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the journal {}", path.display()))
        }
    };
    let mut lines = std::io::BufReader::new(f).split(b'\n');
    let first = lines.next().transpose()?.unwrap_or_default();
    let header: Header = serde_json::from_slice(&first)
        .with_context(|| format!("the journal {} has no valid header line", path.display()))?;
    let mut entries: Vec<FileEntry> = Vec::new();
    for l in lines {
        let Ok(e) = serde_json::from_slice::<FileEntry>(&l?) else {
            continue;
        };
        entries.retain(|x| x.input != e.input);
        entries.push(e);
    }
    Ok(Some((header, entries)))
}

fn open_nofollow(path: &Path, append: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    if append {
        o.append(true);
    } else {
        o.read(true);
    }
    // never through a symbolic link planted in OUT; never block on a FIFO
    o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Is the journaled `e` still true of the disk: its output at `job.output` with the recorded
/// sha256, and the input with the recorded sha256?
pub fn still_valid(e: &FileEntry, job: &Job) -> bool {
    let (Some(out_sha), Some(in_sha)) = (&e.output_sha256, &e.input_sha256) else {
        return false;
    };
    if !e.status.is_done() || e.output.is_none() {
        return false;
    }
    let hash = |p: &Path| -> Option<String> {
        let m = std::fs::symlink_metadata(p).ok()?;
        if !m.is_file() {
            return None;
        }
        crate::fsio::sha256_file(p).ok()
    };
    let input_ok = std::fs::metadata(&job.input)
        .map(|m| m.is_file())
        .unwrap_or(false)
        && crate::fsio::sha256_file(&job.input).ok().as_ref() == Some(in_sha);
    input_ok && hash(&job.output).as_ref() == Some(out_sha)
}

/// An open journal, appended to from the worker threads.
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Start the journal at `path` with `header` and the entries kept from an earlier run
    /// (written whole, atomically, replacing any earlier journal).
    pub fn create<'a>(
        path: &Path,
        header: &Header,
        keep: impl IntoIterator<Item = &'a FileEntry>,
    ) -> anyhow::Result<Journal> {
        let mut text = serde_json::to_vec(header)?;
        text.push(b'\n');
        for e in keep {
            text.extend(serde_json::to_vec(e)?);
            text.push(b'\n');
        }
        crate::fsio::write_atomic(path, &text, None).context("cannot write the journal")?;
        let file = open_nofollow(path, true)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Record a file whose output is in place: one line, fsynced.
    pub fn append(&self, e: &FileEntry) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(e)?;
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)?;
        f.sync_data()?;
        Ok(())
    }

    /// The batch is complete (its report written): the journal goes.
    pub fn remove(self) -> std::io::Result<()> {
        drop(self.file);
        std::fs::remove_file(&self.path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Remove pixla's own stray temp files (`.pixla-*.tmp`, left by a killed run) under `out`,
/// without following symbolic links; returns how many were removed.
pub fn clean_temps(out: &Path) -> usize {
    let mut n = 0;
    for e in walkdir::WalkDir::new(out)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        let name = e.file_name().to_string_lossy();
        if e.file_type().is_file()
            && name.starts_with(".pixla-")
            && name.ends_with(".tmp")
            && std::fs::remove_file(e.path()).is_ok()
        {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_ignored_and_last_entry_wins() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), None);
        let h = Header {
            journal: SCHEMA.into(),
            tool_version: "x".into(),
            config: serde_json::json!({"a": 1}),
            models: vec![],
            shard: None,
            inputs: 2,
            inputs_sha256: "s".into(),
        };
        let e1 = FileEntry {
            input: "a.jpg".into(),
            status: crate::report::Status::Clean,
            millis: 1,
            ..Default::default()
        };
        let j = Journal::create(&p, &h, [&e1]).unwrap();
        j.append(&FileEntry {
            millis: 2,
            ..e1.clone()
        })
        .unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"input\":\"b.jpg\",\"sta").unwrap();
        let (h2, es) = read(&p).unwrap().unwrap();
        assert_eq!(h2, h);
        assert_eq!(es.len(), 1);
        assert_eq!(es[0].millis, 2);
        assert!(read(&d.path().join("none")).unwrap().is_none());
    }

    #[test]
    fn clean_temps_removes_only_pixla_temp_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a")).unwrap();
        for n in [
            "a/.pixla-x1.tmp",
            ".pixla-y.tmp",
            "a/keep.tmp",
            "a/.pixla-keep.jpg",
        ] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        assert_eq!(clean_temps(d.path()), 2);
        assert!(
            d.path().join("a/keep.tmp").exists() && d.path().join("a/.pixla-keep.jpg").exists()
        );
    }
}
