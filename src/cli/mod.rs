//! The commands of the `pixla` binary, one module each: its flags and its body, which calls
//! the library, prints the result and picks the exit code. Bin-only (declared from
//! `main.rs`); library work belongs in the library.

pub mod check;
pub mod detect_args;
pub mod eval;
pub mod models;
pub mod progress;
pub mod purge;
pub mod redact;
pub mod report;
pub mod review;
pub mod verify;

use pixla::SetupError;

pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), SetupError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| SetupError::Internal(e.to_string()))?
    );
    Ok(())
}
