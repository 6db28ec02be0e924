//! The report's side of a check: its entries by output path (what the delivered folder
//! should hold), the files it says failed, and the detection settings in which the check
//! differs from its run.

use super::result::Problem;
use crate::config::{Compared, Config, Difference};
use crate::delivery::ProblemKind;
use crate::report::{FileEntry, Report, Status};
use std::collections::{BTreeMap, BTreeSet};

/// What the report says the delivered folder holds.
pub(super) struct Expected<'a> {
    /// The report's entries by output path (relative to the delivered folder).
    by_output: BTreeMap<String, &'a FileEntry>,
    /// The entries of files the run could not redact.
    failed: Vec<&'a FileEntry>,
}

impl<'a> Expected<'a> {
    pub(super) fn of(report: &'a Report) -> Self {
        let mut by_output = BTreeMap::new();
        let mut failed = Vec::new();
        for f in &report.files {
            match (f.status, &f.output) {
                (Status::Failed, _) => failed.push(f),
                (_, Some(o)) => {
                    by_output.insert(o.clone(), f);
                }
                _ => {}
            }
        }
        Expected { by_output, failed }
    }

    /// The report's entry of the delivered file at `rel`.
    pub(super) fn entry(&self, rel: &str) -> Option<&'a FileEntry> {
        self.by_output.get(rel).copied()
    }

    /// One `failed` problem per file the report says failed, in the report's order.
    pub(super) fn failed(&self) -> impl Iterator<Item = Problem> + '_ {
        self.failed.iter().map(|f| Problem {
            file: f.input.clone(),
            kind: ProblemKind::Failed,
            detail: format!(
                "the report says this file failed: {}",
                f.error.as_deref().unwrap_or("?")
            ),
        })
    }

    /// One `missing` problem per output the report lists that is not among `seen`.
    pub(super) fn missing<'s>(
        &'s self,
        seen: &'s BTreeSet<String>,
    ) -> impl Iterator<Item = Problem> + 's {
        self.by_output
            .keys()
            .filter(|o| !seen.contains(*o))
            .map(|o| Problem {
                file: o.clone(),
                kind: ProblemKind::Missing,
                detail: "listed in the report, not in the delivered folder".into(),
            })
    }
}

/// The detection settings ([`Compared::Detection`]) in which this check differs from the
/// report's run, one note each: `key: report A, now B` (`-` for a setting not made).
pub(super) fn settings_notes(cfg: &Config, recorded: &serde_json::Value) -> Vec<String> {
    cfg.differences(recorded, Compared::Detection)
        .iter()
        .map(|d| {
            format!(
                "{}: report {}, now {}",
                d.key,
                Difference::show(&d.recorded),
                Difference::show(&d.now)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Class;
    use std::path::PathBuf;

    #[test]
    fn a_check_with_a_user_model_notes_it_against_a_nanodet_report() {
        let nanodet = Config {
            detector: crate::config::ObjectModels::NanoDet,
            ..Config::default()
        };
        let mut user = nanodet.clone();
        user.threads = nanodet.threads + 1;
        assert_eq!(
            settings_notes(&user, &nanodet.recorded()),
            Vec::<String>::new()
        );
        user.model = Some(crate::config::UserModel {
            path: PathBuf::from("/m/x.onnx"),
            file: "x.onnx".into(),
            format: "yolov8".into(),
            classes: vec![("person".into(), 0, Class::Person)],
            size: None,
        });
        let notes = settings_notes(&user, &nanodet.recorded());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("model: report -, now {") && notes[0].contains("x.onnx"),
            "{notes:?}"
        );
    }
}
