//! The parsed file: header, COG ghost, IFD chain (read by the one IFD reader, [`super::ifd`]),
//! and the check that every chunk has bytes of its own.

use super::ifd::{self, rd16, rd32, rd64, Entry, Form, IfdError, Types};
use super::info::TiffInfo;
use super::layout::Layout;
use super::tags::*;
use super::{MAX_CHUNKS, MAX_ENTRIES, MAX_IFDS};
use anyhow::{anyhow, bail, ensure, Context, Result};
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Debug, Clone)]
pub(super) struct Ghost {
    pub(super) leader: bool,
    pub(super) trailer: bool,
    /// Position of `NO\n ` after `KNOWN_INCOMPATIBLE_EDITION=`.
    pub(super) incompat_no: Option<u64>,
}

/// The source file, read-only, with its length and byte order.
pub(super) struct Src {
    pub(super) f: File,
    pub(super) len: u64,
    pub(super) le: bool,
}

pub(super) struct Parsed {
    pub(super) src: Src,
    pub(super) big: bool,
    pub(super) ghost: Option<Ghost>,
    /// Byte ranges [start, end) of the header, ghost area, IFDs and out-of-line tag values.
    pub(super) structure: Vec<(u64, u64)>,
    pub(super) ifds: Vec<Layout>,
}

pub(super) fn read_at(f: &mut File, len: u64, off: u64, buf: &mut [u8]) -> Result<()> {
    let end = off
        .checked_add(buf.len() as u64)
        .ok_or_else(|| anyhow!("offset {off} overflows"))?;
    ensure!(
        end <= len,
        "{} bytes at offset {off} run past the end of the file ({len} bytes)",
        buf.len()
    );
    f.seek(SeekFrom::Start(off))?;
    f.read_exact(buf)?;
    Ok(())
}

impl Parsed {
    pub(super) fn open(path: &Path) -> Result<Parsed> {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = f.metadata()?.len();
        let mut p = Parsed {
            src: Src { f, len, le: true },
            big: false,
            ghost: None,
            structure: Vec::new(),
            ifds: Vec::new(),
        };
        p.parse()
            .with_context(|| format!("{} is not a TIFF pixla can edit", path.display()))?;
        Ok(p)
    }

    pub(super) fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        self.src.read(off, buf)
    }

    /// Header, COG ghost, the main IFD chain, the EXIF/GPS/Interoperability IFDs, each IFD's
    /// layout, and the chunk slots, in that order.
    pub(super) fn parse(&mut self) -> Result<()> {
        let first = self.header()?;
        let hl = if self.big { 16 } else { 8 };
        self.structure.push((0, hl));
        self.parse_ghost(hl)?;
        let mut seen = HashSet::new();
        let raw_ifds = self.chain(first, &mut seen)?;
        self.private_ifds(&raw_ifds, &mut seen);
        for (i, (off, entries)) in raw_ifds.iter().enumerate() {
            self.build(i, *off, entries)
                .with_context(|| format!("IFD {i}"))?;
        }
        self.check_slots()
    }

    /// The header: byte order, classic or BigTIFF; returns the offset of the first IFD.
    fn header(&mut self) -> Result<u64> {
        ensure!(
            self.src.len >= 8,
            "file is only {} bytes long",
            self.src.len
        );
        let mut h = [0u8; 16];
        let hn = self.src.len.min(16) as usize;
        self.read(0, &mut h[..hn])?;
        self.src.le = match &h[..2] {
            b"II" => true,
            b"MM" => false,
            _ => bail!("no TIFF byte-order mark"),
        };
        Ok(match rd16(self.src.le, &h[2..]) {
            42 => rd32(self.src.le, &h[4..]) as u64,
            43 => {
                ensure!(hn == 16, "truncated BigTIFF header");
                ensure!(
                    rd16(self.src.le, &h[4..]) == 8 && rd16(self.src.le, &h[6..]) == 0,
                    "BigTIFF header with offset size other than 8"
                );
                self.big = true;
                rd64(self.src.le, &h[8..])
            }
            v => bail!("TIFF version {v} (neither 42 nor 43)"),
        })
    }

    /// The main IFD chain from `first`: (offset, entries) of each IFD, at least one, at most
    /// [`MAX_IFDS`]; a chain that comes back to an offset in `seen` is refused.
    fn chain(&mut self, first: u64, seen: &mut HashSet<u64>) -> Result<Vec<(u64, Vec<Entry>)>> {
        let mut next = first;
        let mut raw_ifds = Vec::new();
        while next != 0 {
            ensure!(seen.insert(next), "IFD chain loops back to offset {next}");
            ensure!(raw_ifds.len() < MAX_IFDS, "more than {MAX_IFDS} IFDs");
            let (entries, n) = self
                .directory(next)
                .with_context(|| format!("IFD {} at offset {next}", raw_ifds.len()))?;
            raw_ifds.push((next, entries));
            next = n;
        }
        ensure!(!raw_ifds.is_empty(), "no IFD");
        Ok(raw_ifds)
    }

    /// The EXIF, GPS and Interoperability IFDs are structure too (their entries and values
    /// are kept); best effort: what cannot be read is not referenced. `seen` guards loops.
    fn private_ifds(&mut self, raw_ifds: &[(u64, Vec<Entry>)], seen: &mut HashSet<u64>) {
        let mut private: Vec<u64> = Vec::new();
        for (_, entries) in raw_ifds {
            private.extend(
                entries
                    .iter()
                    .filter(|e| matches!(e.tag, T_EXIF_IFD | T_GPS_IFD) && e.count == 1)
                    .map(|e| self.field_u(e)),
            );
        }
        while let Some(off) = private.pop() {
            if off == 0 || !seen.insert(off) || seen.len() > MAX_IFDS * 2 {
                continue;
            }
            if let Ok((entries, _)) = self.directory(off) {
                private.extend(
                    entries
                        .iter()
                        .filter(|e| e.tag == T_INTEROP_IFD && e.count == 1)
                        .map(|e| self.field_u(e)),
                );
            }
        }
    }

    /// The value of a one-element inline integer entry (an IFD offset).
    pub(super) fn field_u(&self, e: &Entry) -> u64 {
        match (e.typ, self.big) {
            (3, _) => rd16(self.src.le, &e.field) as u64,
            (16 | 18, true) => rd64(self.src.le, &e.field),
            _ => rd32(self.src.le, &e.field) as u64,
        }
    }

    /// Every strip and tile has bytes of its own, outside the TIFF structure. A file whose
    /// chunks share bytes (a million strips at one offset) would make the work of reading it
    /// unbounded by its size; with this rule there are at most as many non-empty chunks as
    /// the file has bytes. Refused otherwise.
    pub(super) fn check_slots(&self) -> Result<()> {
        let mut slots: Vec<(u64, u64, u32, u32)> = Vec::new();
        for (i, lay) in self.ifds.iter().enumerate() {
            slots.extend(
                lay.offsets
                    .iter()
                    .zip(&lay.counts)
                    .enumerate()
                    .filter(|(_, (_, &c))| c > 0)
                    .map(|(j, (&o, &c))| (o, o + c, i as u32, j as u32)),
            );
        }
        slots.sort_unstable();
        let mut max: Option<(u64, u32, u32)> = None;
        for &(o, e, i, j) in &slots {
            if let Some((end, pi, pj)) = max.filter(|m| o < m.0) {
                bail!("IFD {pi} chunk {pj} and IFD {i} chunk {j} share bytes (at offset {o}, up to {end}): every strip or tile must have bytes of its own; refused");
            }
            if max.is_none_or(|m| e > m.0) {
                max = Some((e, i, j));
            }
        }
        let mut st = self.structure.clone();
        st.sort_unstable();
        let mut k = 0;
        for &(o, e, i, j) in &slots {
            while k < st.len() && st[k].1 <= o {
                k += 1;
            }
            // st is sorted by start, not merged: look at every range that starts before e
            if let Some(s) = st[k..].iter().take_while(|s| s.0 < e).find(|s| s.1 > o) {
                bail!("IFD {i} chunk {j} ({} bytes at {o}) overlaps TIFF structure at {}..{}; refused", e - o, s.0, s.1);
            }
        }
        Ok(())
    }

    pub(super) fn parse_ghost(&mut self, hl: u64) -> Result<()> {
        const KEY: &[u8] = b"GDAL_STRUCTURAL_METADATA_SIZE=";
        let mut b = [0u8; 43];
        if self.src.len < hl + 43 || self.read(hl, &mut b).is_err() || !b.starts_with(KEY) {
            return Ok(());
        }
        let Some(size) = std::str::from_utf8(&b[30..36])
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return Ok(());
        };
        if size > 65536 || hl + 43 + size > self.src.len {
            return Ok(());
        }
        let mut text = vec![0u8; size as usize];
        self.read(hl + 43, &mut text)?;
        let has = |s: &[u8]| text.windows(s.len()).position(|w| w == s);
        let incompat_no = has(b"KNOWN_INCOMPATIBLE_EDITION=NO\n ").map(|i| hl + 43 + i as u64 + 27);
        self.ghost = Some(Ghost {
            leader: has(b"BLOCK_LEADER=SIZE_AS_UINT4").is_some(),
            trailer: has(b"BLOCK_TRAILER=LAST_4_BYTES_REPEATED").is_some(),
            incompat_no,
        });
        self.structure.push((hl, hl + 43 + size));
        Ok(())
    }

    /// Entries and the next-IFD offset of the IFD at `off`, read by the one IFD reader with a
    /// file's limits: at most [`MAX_ENTRIES`] entries, none empty, no tag twice, every value
    /// inside the file. Its table and values join the structure (also those read before a
    /// broken entry: the EXIF and GPS IFDs are read best effort).
    pub(super) fn directory(&mut self, off: u64) -> Result<(Vec<Entry>, u64)> {
        let form = Form {
            big: self.big,
            le: self.src.le,
            types: Types::BigTiff,
            max_entries: MAX_ENTRIES,
            empty_ok: false,
            unique_tags: true,
            check_values: true,
        };
        let mut seen = Vec::new();
        let read = ifd::read_ifd(&mut self.src, off, &form, &mut seen);
        self.structure.extend(seen);
        let file_len = self.src.len;
        let ifd = read.map_err(|e| match e {
            IfdError::Read(e) => e,
            IfdError::Truncated { need } => anyhow!(
                "{need} bytes at offset {off} run past the end of the file ({file_len} bytes)"
            ),
            IfdError::ValueOutside { tag, len, at } => anyhow!(
                "tag {tag}: {len} value bytes at offset {at} run past the end of the file ({file_len} bytes)"
            ),
            e => anyhow!(e),
        })?;
        Ok((ifd.entries, ifd.next))
    }

    /// Integer values of an entry (BYTE, SHORT, LONG, LONG8, IFD, IFD8).
    pub(super) fn uints(&mut self, e: &Entry) -> Result<Vec<u64>> {
        let s = match e.typ {
            1 => 1,
            3 => 2,
            4 | 13 => 4,
            16 | 18 => 8,
            t => bail!("tag {} has field type {t}, not an unsigned integer", e.tag),
        };
        ensure!(
            e.count <= MAX_CHUNKS,
            "tag {} has {} values",
            e.tag,
            e.count
        );
        let mut raw = vec![0u8; (e.count * s) as usize];
        if e.inline {
            let k = raw.len();
            raw.copy_from_slice(&e.field[..k]);
        } else {
            self.read(e.value_pos, &mut raw)?;
        }
        Ok(raw
            .chunks_exact(s as usize)
            .map(|c| match s {
                1 => c[0] as u64,
                2 => rd16(self.src.le, c) as u64,
                4 => rd32(self.src.le, c) as u64,
                _ => rd64(self.src.le, c),
            })
            .collect())
    }

    pub(super) fn info(&self) -> TiffInfo {
        TiffInfo {
            bigtiff: self.big,
            little_endian: self.src.le,
            file_len: self.src.len,
            cog_ghost: self.ghost.as_ref().is_some_and(|g| g.leader),
            ifds: self.ifds.iter().map(|l| l.info.clone()).collect(),
        }
    }

    /// Does this chunk carry a valid COG leader and trailer?
    pub(super) fn ghost_for(&mut self, ifd: usize, idx: usize) -> Result<bool> {
        let Some(g) = self.ghost.clone() else {
            return Ok(false);
        };
        if !(g.leader && g.trailer) {
            return Ok(false);
        }
        let (o, c) = (self.ifds[ifd].offsets[idx], self.ifds[ifd].counts[idx]);
        if o < 4 || c < 4 || o + c + 4 > self.src.len {
            return Ok(false);
        }
        let mut lead = [0u8; 4];
        self.read(o - 4, &mut lead)?;
        let mut tail = [0u8; 8];
        self.read(o + c - 4, &mut tail)?;
        Ok(u32::from_le_bytes(lead) as u64 == c && tail[..4] == tail[4..])
    }
}

impl ifd::Bytes for Src {
    fn len(&self) -> u64 {
        self.len
    }
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        Src::read(self, off, buf)
    }
}
