//! Crash safety, resume and interruption: the journal, `--resume`, and what SIGINT/SIGTERM do.
//!
//! # The journal and `--resume`
//!
//! pixla keeps a journal of the batch in `OUT/.pixla-journal.jsonl` (`.pixla-journal-I-of-N.jsonl`
//! per shard): one header line naming the batch (pixla version, settings, model sha256s, the list
//! of input paths: the whole batch's, every shard's), then one fsynced line per file whose output
//! has been renamed into place. If the run is killed (power, OOM killer, `kill -9`), run the same
//! command again with `--resume`:
//!
//! ```sh
//! pixla redact IN -o OUT --resume
//! ```
//!
//! - `--resume` refuses (exit 2) when the journal belongs to another batch (other inputs,
//!   settings, models or version). It then removes stray `.pixla-*.tmp` files under OUT (pixla's
//!   own temp files, only under OUT; do not resume while another pixla writes into the same OUT).
//! - It keeps each journaled file whose output still has the recorded sha256 and whose input
//!   still has its recorded sha256 (the output is not rewritten: same inode, same mtime), and does
//!   the rest, including files that failed.
//! - The report equals a clean run's apart from times and the `run` record: `run.resumed` is
//!   the number of files kept. The journal is deleted once the report is written.
//! - `--resume` with no journal is a plain run. A plain run into an OUT that holds an unfinished
//!   batch's journal refuses (exit 2) and says to use `--resume` or delete the journal: a kill is
//!   never silently thrown away. `-j` may differ between the runs.
//!
//! # Interruption
//!
//! Ctrl-C or SIGTERM (what Slurm and Kubernetes send) stops the batch cleanly: no new file is
//! started and the files in flight finish; the report is written with the files not done marked
//! `pending` ("interrupted before processing") and `run.interrupted: true`; the journal is kept for
//! `--resume`; pixla exits with **130**. A second signal exits at once (130); outputs are atomic
//! renames, so no half-written output is ever in place.
//!
//! # How it is tested
//!
//! `tests/resume.rs` kills a 10-file batch with SIGKILL at seeded moments (at least 4 kills), resumes
//! until done, and compares with a clean run: identical output sha256s, reports equal apart from
//! times, no temp file or journal left, kept outputs not rewritten. It also checks SIGINT (exit 130,
//! `pending` files, a plain rerun refused, `--resume` with other settings refused, `--resume`
//! finishing).
