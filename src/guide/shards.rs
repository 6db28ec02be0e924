//! Clusters: sharded batches, one task of a job array per shard, one merged report.
//!
//! ```sh
//! pixla redact raw/ -o out/ --shard 3/16 --report out/reports/shard-3-of-16.json   # one task
//! pixla report merge out/reports/shard-*.json -o out/pixla-report.json            # one report from the shards
//! ```
//!
//! `--shard I/N` keeps the files whose FNV-1a hash of the relative path falls in shard I of N,
//! so every task of a job array agrees on the split without coordination. Each task writes its
//! outputs into the shared OUT tree (the shards' files are disjoint) and its own report
//! (`--report OUT/reports/shard-I-of-N.json`). Every report records its batch in `run.batch`:
//! `inputs` and `inputs_sha256`, the number and sha256 of the relative paths of the whole batch's
//! images before sharding (the journal's definition), and `id`, the sha256 of the journal header
//! less its shard (version, settings, models, inputs), so all shards of one batch carry the same.
//! `pixla report merge R1 R2 … -o MERGED` then checks that the shards belong together (same tool
//! version, configuration except threads, models and N; the same `run.batch`, which a shard must
//! have; every shard 1..N exactly once; no file twice; every file's path hash in the shard that
//! reports it), refusing (exit 2) with the shard that differs and how, and writes one report:
//! files sorted by path, summary recomputed, the shards' run records under `shards`, the merge's
//! own operator/host/command under `run` (with the shards' `batch`). Examples:
//! `fixtures/cluster/slurm-array.sh` (`$SLURM_ARRAY_TASK_ID`) and
//! `fixtures/cluster/k8s-indexed-job.yaml` (`$JOB_COMPLETION_INDEX`); `tests/shards.rs` runs both
//! locally for indexes 0, 1, 2, merges, and compares with a single-process run. Path problems
//! (broken links, unreadable folders) also belong to the shard of their path, so each is reported
//! once.
