//! The post-run commands on a delivery, as library calls that each return a result for the
//! binary to print: the CI gate on an image set ([`check`]), the soundness of a report and
//! the integrity of the outputs it lists ([`verify`]), and deleting the originals after a
//! verified delivery ([`purge`]). Both `check` and `verify` test whether the regions a report
//! says are hidden are hidden in the pixels ([`hidden`]).

pub mod check;
pub mod hidden;
mod problem;
pub mod purge;
pub mod verify;

pub use problem::ProblemKind;
