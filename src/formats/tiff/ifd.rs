//! The one TIFF IFD reader, for TIFF files (classic and BigTIFF, read from disk by
//! `formats/tiff`) and for the TIFF data inside a JPEG (EXIF in APP1, the MPF index in APP2,
//! read from memory by `formats/jpeg`).
//!
//! What differs between them is a [`Form`]: the offset size (classic or BigTIFF), the byte
//! order, the field types known, the entry-count limit, whether an IFD may be empty or hold
//! a tag twice, and whether out-of-line values are checked against the data as the IFD is
//! read (files) or when they are used (EXIF, which tolerates a broken maker note it never
//! touches). What they share is here, once:
//!
//! - every read goes through [`Bytes::read`], which refuses what lies past the end of the
//!   data; the entry count is checked against [`Form::max_entries`] and the whole table
//!   against the data's length *before* it is allocated and read (at most
//!   8 + 65,535 × 20 + 8 bytes), so a hostile count costs neither memory nor time;
//! - value sizes (`count` × the type's size) and value ends are checked integer arithmetic;
//! - a problem is an [`IfdError`], never a panic. Each caller words it for its own reports
//!   ([`IfdError`]'s `Display` is a neutral fallback), so the messages a user sees stay the
//!   ones that format has always given.

use anyhow::{anyhow, Result};
use std::ops::Range;

/// Which field types an IFD may use (their sizes are [`type_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Types {
    /// TIFF 6.0's types 1 to 13 (EXIF and MPF are TIFF 6.0).
    Tiff6,
    /// TIFF 6.0 plus BigTIFF's LONG8, SLONG8 and IFD8 (16 to 18); TIFF files, classic or big.
    BigTiff,
}

/// Byte size of one value of field type `t`, or `None` for a type `types` does not know.
pub fn type_size(t: u16, types: Types) -> Option<u64> {
    Some(match (t, types) {
        (1 | 2 | 6 | 7, _) => 1,
        (3 | 8, _) => 2,
        (4 | 9 | 11 | 13, _) => 4,
        (5 | 10 | 12, _) => 8,
        (16..=18, Types::BigTiff) => 8,
        _ => return None,
    })
}

/// How an IFD is laid out and which limits apply to it.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// BigTIFF: 8-byte entry count, counts, value fields and next-IFD link; 20-byte entries.
    /// Classic: 2-byte entry count, 4-byte counts, fields and link; 12-byte entries.
    pub big: bool,
    /// Little-endian (`II`) rather than big-endian (`MM`).
    pub le: bool,
    pub types: Types,
    /// More entries than this is refused before the table is read.
    pub max_entries: u64,
    /// An IFD with no entries is accepted (otherwise refused).
    pub empty_ok: bool,
    /// A tag that appears twice is refused.
    pub unique_tags: bool,
    /// Check every out-of-line value against the data as the IFD is read (otherwise the
    /// caller checks a value when it uses it, with [`Entry::value_range`]).
    pub check_values: bool,
}

impl Form {
    fn count_size(&self) -> u64 {
        if self.big {
            8
        } else {
            2
        }
    }
    fn entry_size(&self) -> u64 {
        if self.big {
            20
        } else {
            12
        }
    }
    /// Size of a value field and of the next-IFD link.
    fn field_size(&self) -> u64 {
        if self.big {
            8
        } else {
            4
        }
    }
    /// Bytes of an IFD table with `n` entries: count, entries, next link.
    fn table_len(&self, n: u64) -> u64 {
        self.count_size() + n * self.entry_size() + self.field_size()
    }
    /// An unsigned integer of the offset size (4 bytes classic, 8 BigTIFF).
    fn offset(&self, b: &[u8]) -> u64 {
        if self.big {
            rd64(self.le, b)
        } else {
            rd32(self.le, b) as u64
        }
    }
}

/// Data an IFD is read from: a file, or TIFF bytes in memory.
pub trait Bytes {
    /// Length of the data.
    fn len(&self) -> u64;
    /// Fill `buf` from `off`; an error (in the source's own words) when that runs past the end.
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()>;
}

/// TIFF data in memory (EXIF, MPF).
pub struct Slice<'a>(pub &'a [u8]);

impl Bytes for Slice<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        let at = usize::try_from(off).map_err(|_| anyhow!("offset overflow"))?;
        let b = self
            .0
            .get(
                at..at
                    .checked_add(buf.len())
                    .ok_or_else(|| anyhow!("offset overflow"))?,
            )
            .ok_or_else(|| anyhow!("read past the end of the TIFF data at {at}"))?;
        buf.copy_from_slice(b);
        Ok(())
    }
}

/// One IFD entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position of the entry (12 bytes classic, 20 BigTIFF) in the data.
    pub pos: u64,
    pub tag: u16,
    pub typ: u16,
    pub count: u64,
    /// The value field (4 bytes classic, 8 BigTIFF), raw; the rest zero.
    pub field: [u8; 8],
    /// The value field read as an unsigned integer of the offset size: the value's offset
    /// when it is out of line.
    pub val: u64,
    /// Byte length of the value; `None` for a field type the [`Form`] does not know.
    pub len: Option<u64>,
    /// The value lies inside the entry (it fits the field, or its type is unknown).
    pub inline: bool,
    /// Where the value bytes lie: inside the entry when `inline`, else at `val`.
    pub value_pos: u64,
}

impl Entry {
    /// The out-of-line bytes of the value, checked to lie in `floor..data_len`; `None` when
    /// the value is inline.
    pub fn value_range(&self, floor: u64, data_len: u64) -> Result<Option<Range<u64>>, IfdError> {
        if self.inline {
            return Ok(None);
        }
        let len = self.len.unwrap_or(0);
        let end = self
            .val
            .checked_add(len)
            .ok_or(IfdError::ValueOffsetOverflow { tag: self.tag })?;
        if self.val < floor || end > data_len {
            return Err(IfdError::ValueOutside {
                tag: self.tag,
                len,
                at: self.val,
            });
        }
        Ok(Some(self.val..end))
    }
}

/// One image file directory: its entries, in file order, and its link to the next IFD.
#[derive(Debug, Clone)]
pub struct Ifd {
    pub off: u64,
    pub entries: Vec<Entry>,
    /// Position of the next-IFD link.
    pub next_pos: u64,
    pub next: u64,
}

impl Ifd {
    pub fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// Why an IFD (or an entry's value) cannot be read.
#[derive(Debug)]
pub enum IfdError {
    /// The data could not be read (past its end, or an I/O error), in the source's words.
    Read(anyhow::Error),
    /// The IFD has no entries (and the form wants some).
    Empty,
    /// The IFD claims more entries than the form allows.
    TooManyEntries {
        n: u64,
    },
    /// The IFD's table (`need` bytes) runs past the end of the data.
    Truncated {
        need: u64,
    },
    DuplicateTag(u16),
    /// `count` × the type's size overflows.
    CountOverflow {
        tag: u16,
        count: u64,
    },
    /// The value's offset plus its length overflows.
    ValueOffsetOverflow {
        tag: u16,
    },
    /// The value's `len` bytes at `at` lie before the form's floor or past the end of the data.
    ValueOutside {
        tag: u16,
        len: u64,
        at: u64,
    },
}

impl std::fmt::Display for IfdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IfdError::Read(e) => write!(f, "{e:#}"),
            IfdError::Empty => write!(f, "IFD has no entries"),
            IfdError::TooManyEntries { n } => write!(f, "IFD claims {n} entries"),
            IfdError::Truncated { need } => write!(f, "IFD table of {need} bytes is truncated"),
            IfdError::DuplicateTag(tag) => write!(f, "tag {tag} appears twice"),
            IfdError::CountOverflow { tag, count } => {
                write!(f, "tag {tag}: count {count} overflows")
            }
            IfdError::ValueOffsetOverflow { tag } => write!(f, "tag {tag}: value offset overflows"),
            IfdError::ValueOutside { tag, len, at } => {
                write!(
                    f,
                    "tag {tag}: {len} value bytes at offset {at} outside the data"
                )
            }
        }
    }
}

impl std::error::Error for IfdError {}

/// Read the IFD at `off`. The table and, with [`Form::check_values`], each out-of-line value
/// are appended to `seen` as `(start, end)` once checked, in file order, also when a later
/// entry turns out to be broken (a best-effort caller keeps what was read).
pub fn read_ifd(
    src: &mut impl Bytes,
    off: u64,
    form: &Form,
    seen: &mut Vec<(u64, u64)>,
) -> Result<Ifd, IfdError> {
    let (cs, es) = (form.count_size(), form.entry_size());
    let mut cb = [0u8; 8];
    src.read(off, &mut cb[..cs as usize])
        .map_err(IfdError::Read)?;
    let n = if form.big {
        rd64(form.le, &cb)
    } else {
        rd16(form.le, &cb) as u64
    };
    if n == 0 && !form.empty_ok {
        return Err(IfdError::Empty);
    }
    if n > form.max_entries {
        return Err(IfdError::TooManyEntries { n });
    }
    let total = form.table_len(n);
    if off.checked_add(total).is_none_or(|end| end > src.len()) {
        return Err(IfdError::Truncated { need: total });
    }
    let mut buf = vec![0u8; total as usize];
    src.read(off, &mut buf).map_err(IfdError::Read)?;
    seen.push((off, off + total));
    let mut entries = Vec::with_capacity(n as usize);
    let mut tags = std::collections::HashSet::new();
    for i in 0..n {
        let pos = off + cs + i * es;
        let b = &buf[(cs + i * es) as usize..(cs + (i + 1) * es) as usize];
        let e = entry(form, b, pos, &mut tags)?;
        if form.check_values {
            if let Some(r) = e.value_range(0, src.len())? {
                seen.push((r.start, r.end));
            }
        }
        entries.push(e);
    }
    let next_pos = off + cs + n * es;
    Ok(Ifd {
        off,
        entries,
        next_pos,
        next: form.offset(&buf[(cs + n * es) as usize..]),
    })
}

/// One entry from its bytes `b` at `pos`.
fn entry(
    form: &Form,
    b: &[u8],
    pos: u64,
    tags: &mut std::collections::HashSet<u16>,
) -> Result<Entry, IfdError> {
    let fs = form.field_size() as usize;
    let tag = rd16(form.le, b);
    let typ = rd16(form.le, &b[2..]);
    let count = if form.big {
        rd64(form.le, &b[4..])
    } else {
        rd32(form.le, &b[4..]) as u64
    };
    let fo = if form.big { 12 } else { 8 };
    let mut field = [0u8; 8];
    field[..fs].copy_from_slice(&b[fo..fo + fs]);
    if form.unique_tags && !tags.insert(tag) {
        return Err(IfdError::DuplicateTag(tag));
    }
    let len = match type_size(typ, form.types) {
        Some(s) => Some(
            count
                .checked_mul(s)
                .ok_or(IfdError::CountOverflow { tag, count })?,
        ),
        None => None,
    };
    let inline = len.is_none_or(|l| l <= fs as u64);
    let val = form.offset(&field);
    Ok(Entry {
        pos,
        tag,
        typ,
        count,
        field,
        val,
        len,
        inline,
        value_pos: if inline { pos + fo as u64 } else { val },
    })
}

pub fn rd16(le: bool, b: &[u8]) -> u16 {
    let a = [b[0], b[1]];
    if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    }
}
pub fn rd32(le: bool, b: &[u8]) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}
pub fn rd64(le: bool, b: &[u8]) -> u64 {
    let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
    if le {
        u64::from_le_bytes(a)
    } else {
        u64::from_be_bytes(a)
    }
}

/// Write `v` at `at` in TIFF data of the given byte order (big-endian when `be`).
pub fn put_u32(d: &mut [u8], at: usize, v: u32, be: bool) -> Result<()> {
    let b = if be { v.to_be_bytes() } else { v.to_le_bytes() };
    d.get_mut(at..at + 4)
        .ok_or_else(|| anyhow!("write past the end at {at}"))?
        .copy_from_slice(&b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIC_LE: Form = Form {
        big: false,
        le: true,
        types: Types::Tiff6,
        max_entries: 1000,
        empty_ok: true,
        unique_tags: false,
        check_values: false,
    };

    #[test]
    fn one_reader_for_classic_and_big_with_its_limits() {
        // classic LE: one SHORT inline (3), one RATIONAL out of line at 38
        let mut d = b"II*\0\x08\0\0\0".to_vec();
        d.extend(2u16.to_le_bytes());
        for (tag, typ, count, val) in [(0x0112u16, 3u16, 1u32, 3u32), (0x011A, 5, 1, 38)] {
            d.extend(tag.to_le_bytes());
            d.extend(typ.to_le_bytes());
            d.extend(count.to_le_bytes());
            d.extend(val.to_le_bytes());
        }
        d.extend(0u32.to_le_bytes());
        d.extend([0u8; 8 + 4]);
        let mut seen = Vec::new();
        let ifd = read_ifd(&mut Slice(&d), 8, &CLASSIC_LE, &mut seen).unwrap();
        assert_eq!(ifd.entries.len(), 2);
        assert_eq!((ifd.next_pos, ifd.next), (8 + 2 + 24, 0));
        assert!(ifd.get(0x0112).unwrap().inline);
        let r = ifd.get(0x011A).unwrap().value_range(8, d.len() as u64);
        assert_eq!(r.unwrap(), Some(38..46));
        assert_eq!(seen, vec![(8, 38)]);
        // a value past the end, checked as read
        let strict = Form {
            check_values: true,
            ..CLASSIC_LE
        };
        assert!(matches!(
            read_ifd(&mut Slice(&d[..40]), 8, &strict, &mut seen),
            Err(IfdError::ValueOutside { tag: 0x011A, .. })
        ));
        // limits: too many entries, truncated table, empty, duplicate tag
        let limited = Form {
            max_entries: 1,
            ..CLASSIC_LE
        };
        assert!(matches!(
            read_ifd(&mut Slice(&d), 8, &limited, &mut seen),
            Err(IfdError::TooManyEntries { n: 2 })
        ));
        assert!(matches!(
            read_ifd(&mut Slice(&d[..20]), 8, &CLASSIC_LE, &mut seen),
            Err(IfdError::Truncated { need: 30 })
        ));
        let mut e = d.clone();
        e[8..10].copy_from_slice(&0u16.to_le_bytes());
        let strict = Form {
            empty_ok: false,
            unique_tags: true,
            ..CLASSIC_LE
        };
        assert!(matches!(
            read_ifd(&mut Slice(&e), 8, &strict, &mut seen),
            Err(IfdError::Empty)
        ));
        let mut e = d.clone();
        e[22..24].copy_from_slice(&0x0112u16.to_le_bytes());
        assert!(matches!(
            read_ifd(&mut Slice(&e), 8, &strict, &mut seen),
            Err(IfdError::DuplicateTag(0x0112))
        ));
        // BigTIFF BE: one LONG8 entry, known only to the BigTIFF types
        let mut b = b"MM\0\x2b\0\x08\0\0".to_vec();
        b.extend(16u64.to_be_bytes());
        b.extend(1u64.to_be_bytes());
        b.extend(273u16.to_be_bytes());
        b.extend(16u16.to_be_bytes());
        b.extend(1u64.to_be_bytes());
        b.extend(99u64.to_be_bytes());
        b.extend(0u64.to_be_bytes());
        let big = Form {
            big: true,
            le: false,
            types: Types::BigTiff,
            ..CLASSIC_LE
        };
        let ifd = read_ifd(&mut Slice(&b), 16, &big, &mut seen).unwrap();
        let e = &ifd.entries[0];
        assert_eq!(
            (e.tag, e.count, e.val, e.len, e.inline),
            (273, 1, 99, Some(8), true)
        );
        assert_eq!(type_size(16, Types::Tiff6), None);
        // every truncation is an error, never a panic
        for n in 0..d.len() {
            let _ = read_ifd(&mut Slice(&d[..n]), 8, &CLASSIC_LE, &mut seen);
        }
    }
}
