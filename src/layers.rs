//! The layer rule of the crate docs, checked: every `crate::` path in `src/` must lead into
//! the file's own top-level module or into a lower layer. Comments are skipped, so doc
//! links may point anywhere.

use std::path::Path;

/// The top-level modules, lowest layer first. Modules of one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["geom", "guide", "home", "stats"],
    &["error"],
    &["fsio"],
    &["redact"],
    &["detect", "formats"],
    &["config"],
    &["find", "report"],
    &["review"],
    &["file"],
    &["batch"],
    &["delivery", "eval"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let own = first.trim_end_matches(".rs");
        if ["lib", "main", "layers"].contains(&own) {
            continue; // the crate roots and this test
        }
        let own_layer = layer(own).unwrap_or_else(|| panic!("{own} is in no layer"));
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let used = rest
                    .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                    .next()
                    .unwrap_or_default();
                // `crate::VERSION` and the like: the crate root's own constants
                let root_item =
                    used.is_empty() && rest.starts_with(|c: char| c.is_ascii_uppercase());
                let ok = root_item || used == own || layer(used).is_some_and(|l| l < own_layer);
                if !ok {
                    wrong.push(format!("{}:{}: crate::{rest}", rel.display(), n + 1));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports from a higher layer or the crate root:\n{}",
        wrong.join("\n")
    );
}
