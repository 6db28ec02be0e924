//! The shards of a batch (`redact --shard I/N`): a stable hash of each relative path says
//! which shard a file belongs to, so every machine of a job array agrees without
//! coordination. [`Shard`] is 1-based, as written on the command line and in the report.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Shard `index` of `count` (1 <= `index` <= `count`), written `index/count`: `--shard 2/4`,
/// the report's `"shard": "2/4"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Does `rel` (a path relative to its input root) belong to this shard?
    pub fn contains(&self, rel: &Path) -> bool {
        shard_of(rel, self.count) + 1 == self.index
    }
}

/// Stable shard of a relative path, 0-based: FNV-1a over its bytes, so every machine agrees.
pub fn shard_of(rel: &Path, n: u32) -> u32 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in rel.as_os_str().as_encoded_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    (h % n.max(1) as u64) as u32
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `I/N` with 1 <= I <= N (spaces around either number are allowed).
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || "expected I/N with 1 <= I <= N".to_string();
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Serialize for Shard {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Shard, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn shards_partition_the_batch() {
        let names: Vec<PathBuf> = (0..200)
            .map(|i| PathBuf::from(format!("f/{i}.jpg")))
            .collect();
        let mut counts = [0; 3];
        for n in &names {
            counts[shard_of(n, 3) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<i32>(), 200);
        assert!(counts.iter().all(|&c| c > 40), "{counts:?}");
        for n in &names {
            let of: Vec<u32> = (1..=3)
                .filter(|&index| Shard { index, count: 3 }.contains(n))
                .collect();
            assert_eq!(of, [shard_of(n, 3) + 1]);
        }
    }

    #[test]
    fn one_based_outside() {
        let s: Shard = "2/4".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 4 });
        assert_eq!(s.to_string(), "2/4");
        assert_eq!(" 1 / 1".parse(), Ok(Shard { index: 1, count: 1 }));
        assert_eq!(serde_json::to_value(s).unwrap(), "2/4");
        assert_eq!(serde_json::from_value::<Shard>("2/4".into()).unwrap(), s);
        for bad in ["0/2", "3/2", "0/0", "1", "a/2", "1/b", "", "-1/2"] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err("expected I/N with 1 <= I <= N".into()),
                "{bad}"
            );
            assert!(serde_json::from_value::<Shard>(bad.into()).is_err());
        }
    }
}
