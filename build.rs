// Bakes the default ONNX Runtime location (pixla's home at build time) into the binary, as the
// last place `runtime::locate` looks after ORT_DYLIB_PATH and the executable's own folder.
fn main() {
    let home = if let Some(h) = std::env::var_os("PIXLA_HOME").filter(|h| !h.is_empty()) {
        std::path::PathBuf::from(h)
    } else if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|h| !h.is_empty()) {
        std::path::PathBuf::from(x).join("pixla")
    } else {
        std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache")
            .join("pixla")
    };
    let lib = home.join("lib").join("libonnxruntime.so.1.31.1");
    println!("cargo:rustc-env=PIXLA_BAKED_ORT={}", lib.display());
    println!("cargo:rerun-if-env-changed=PIXLA_HOME");
    println!("cargo:rerun-if-env-changed=XDG_CACHE_HOME");
    println!("cargo:rerun-if-changed=build.rs");
}
