//! XMP edits: embedded images (`xmp:Thumbnails`, `GImage:Data`, `GDepth:Data`) and, with
//! `strip_gps`, location properties are cut out of the packet text as whole attributes and
//! elements, found with an XML parser (roxmltree). A packet that must be edited but is not
//! well-formed, or would not be afterwards, is an error; a packet with nothing to cut is
//! left byte for byte.

use super::previews::{MetaChanges, MetaOptions};
use anyhow::{anyhow, bail, Result};
use std::ops::Range;

/// The XMP rules on a bare packet: embedded images cut (unless previews are kept),
/// location properties cut when `strip_gps`. `None` when nothing changed.
pub fn edit_xmp_packet(
    packet: &[u8],
    opts: &MetaOptions,
) -> Result<(Option<Vec<u8>>, MetaChanges)> {
    let mut ch = MetaChanges::default();
    let r = edit_xmp(packet, opts.strip_gps, true, &mut ch)?;
    Ok((r, ch))
}

pub(super) const NS_EXIF: &str = "http://ns.adobe.com/exif/1.0/";
pub(super) const NS_XMP: &str = "http://ns.adobe.com/xap/1.0/";
pub(super) const NS_NOTE: &str = "http://ns.adobe.com/xmp/note/";
pub(super) const NS_GIMAGE: &str = "http://ns.google.com/photos/1.0/image/";
pub(super) const NS_GDEPTH: &str = "http://ns.google.com/photos/1.0/depthmap/";
pub(super) const NS_PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
pub(super) const NS_IPTC_CORE: &str = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/";
pub(super) const NS_IPTC_EXT: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
pub(super) const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
pub(super) const NS_X: &str = "adobe:ns:meta/";

/// Embedded images (always removed: they show the unredacted scene).
pub(super) fn xmp_is_image(ns: &str, local: &str) -> bool {
    matches!(
        (ns, local),
        (NS_XMP, "Thumbnails")
            | (NS_GIMAGE, "Data")
            | (NS_GDEPTH, "Data")
            | (NS_GDEPTH, "Confidence")
            | (NS_NOTE, "HasExtendedXMP")
    )
}

/// GPS and location properties: any property named GPS…/Gps…, …Latitude, …Longitude (and
/// DJI's "GpsLongtitude"), DJI's AbsoluteAltitude, and the IPTC/Photoshop place names.
pub fn xmp_is_location(ns: &str, local: &str) -> bool {
    if ns == NS_RDF || ns == NS_X {
        return false;
    }
    let l = local.to_ascii_lowercase();
    l.starts_with("gps")
        || l.contains("latitude")
        || l.contains("longitude")
        || l.contains("longtitude")
        || l == "absolutealtitude"
        || (ns == NS_EXIF && l.starts_with("gps"))
        || matches!(
            (ns, local),
            (NS_PHOTOSHOP, "City")
                | (NS_PHOTOSHOP, "State")
                | (NS_PHOTOSHOP, "Country")
                | (NS_IPTC_CORE, "Location")
                | (NS_IPTC_CORE, "CountryCode")
                | (NS_IPTC_EXT, "LocationCreated")
                | (NS_IPTC_EXT, "LocationShown")
        )
}

/// Cut the matching properties out of an XMP packet. `None` when nothing changed.
pub(super) fn edit_xmp(
    packet: &[u8],
    strip_gps: bool,
    cut_images: bool,
    ch: &mut MetaChanges,
) -> Result<Option<Vec<u8>>> {
    let needles: &[&[u8]] = &[b"Thumbnails", b"GImage", b"GDepth", b"HasExtendedXMP"];
    let has_images = cut_images
        && needles
            .iter()
            .any(|n| packet.windows(n.len()).any(|w| w == *n));
    if !strip_gps && !has_images {
        return Ok(None);
    }
    let text = std::str::from_utf8(packet).map_err(|_| anyhow!("XMP packet is not UTF-8"))?;
    // parse up to the last '>' (packets may end in NULs or padding)
    let xml_end = text
        .rfind('>')
        .map(|i| i + 1)
        .ok_or_else(|| anyhow!("XMP packet has no XML"))?;
    let xml = &text[..xml_end];
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| anyhow!("XMP is not well-formed XML: {e}"))?;
    let wanted = Wanted {
        strip_gps,
        cut_images,
    };
    let mut cuts = wanted.cuts(&doc, xml);
    if cuts.is_empty() {
        return Ok(None);
    }
    cuts.sort_by_key(|c| c.range.start);
    let out = apply_cuts(text, xml, &cuts, ch)?;
    roxmltree::Document::parse(&out[..out.rfind('>').map(|i| i + 1).unwrap_or(0)])
        .map_err(|e| anyhow!("XMP after editing is not well-formed ({e}); refusing to write it"))?;
    Ok(Some(out.into_bytes()))
}

/// What [`edit_xmp`] cuts: location properties, embedded image data, or both.
struct Wanted {
    strip_gps: bool,
    cut_images: bool,
}

/// One attribute or element to cut: its bytes (with the whitespace before it), its
/// qualified name, and whether it holds image data.
struct Cut {
    range: Range<usize>,
    name: String,
    image: bool,
}

impl Wanted {
    /// `Some(is image)` when the property `ns`:`local` is to be cut.
    fn matches(&self, ns: &str, local: &str) -> Option<bool> {
        let img = self.cut_images && xmp_is_image(ns, local);
        (img || (self.strip_gps && xmp_is_location(ns, local))).then_some(img)
    }

    /// Every attribute and element to cut, in document order of the walk (not sorted); the
    /// children of a cut element are not visited.
    fn cuts(&self, doc: &roxmltree::Document, xml: &str) -> Vec<Cut> {
        let mut cut = Vec::new();
        let mut stack = vec![doc.root()];
        while let Some(n) = stack.pop() {
            for a in n.attributes() {
                let (Some(ns), local) = (a.namespace(), a.name()) else {
                    continue;
                };
                if let Some(image) = self.matches(ns, local) {
                    let r = a.range();
                    cut.push(Cut {
                        range: ws_before(xml, r.start)..r.end,
                        name: xml[a.range_qname()].to_string(),
                        image,
                    });
                }
            }
            for c in n.children().filter(|c| c.is_element()) {
                let tag = c.tag_name();
                match tag.namespace().and_then(|ns| self.matches(ns, tag.name())) {
                    Some(image) => cut.push(element_cut(xml, c.range(), image)),
                    None => stack.push(c),
                }
            }
        }
        cut
    }
}

/// The cut of the element at `r`, named by its start tag's qualified name.
fn element_cut(xml: &str, r: Range<usize>, image: bool) -> Cut {
    let qname_end = xml[r.start + 1..]
        .find(|ch: char| ch.is_whitespace() || ch == '>' || ch == '/')
        .map(|i| r.start + 1 + i)
        .unwrap_or(r.end);
    Cut {
        range: ws_before(xml, r.start)..r.end,
        name: xml[r.start + 1..qname_end].to_string(),
        image,
    }
}

/// Where the whitespace before `start` begins.
fn ws_before(xml: &str, start: usize) -> usize {
    let b = xml.as_bytes();
    let mut s = start;
    while s > 0 && matches!(b[s - 1], b' ' | b'\t' | b'\r' | b'\n') {
        s -= 1;
    }
    s
}

/// `text` without the (sorted) cuts, each listed once in `ch`; overlapping cuts are refused.
fn apply_cuts(text: &str, xml: &str, cuts: &[Cut], ch: &mut MetaChanges) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for c in cuts {
        if c.range.start < at {
            bail!("overlapping XMP edits");
        }
        out.push_str(&xml[at..c.range.start]);
        at = c.range.end;
        let label = if c.image {
            format!("xmp {} (embedded image data)", c.name)
        } else {
            format!("xmp {}", c.name)
        };
        if !ch.removed.contains(&label) {
            ch.removed.push(label);
        }
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_location_properties_are_cut_cleanly() {
        let x = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" drone-dji:GpsLatitude="59.3" drone-dji:GpsLongtitude="18.1"
   drone-dji:AbsoluteAltitude="+60.1" drone-dji:RelativeAltitude="+60.20">
   <exif:GPSLongitude>18,4.12E</exif:GPSLongitude>
   <exif:ExposureTime>1/100</exif:ExposureTime>
  </rdf:Description></rdf:RDF></x:xmpmeta>
  <?xpacket end="w"?>"#;
        let mut ch = MetaChanges::default();
        let out = String::from_utf8(
            edit_xmp(x.as_bytes(), true, true, &mut ch)
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        for gone in [
            "GpsLatitude",
            "GpsLongtitude",
            "AbsoluteAltitude",
            "GPSLongitude",
            "59.3",
            "18,4",
        ] {
            assert!(!out.contains(gone), "{gone} survived: {out}");
        }
        for kept in [
            "RelativeAltitude=\"+60.20\"",
            "<exif:ExposureTime>1/100</exif:ExposureTime>",
            "<?xpacket end=\"w\"?>",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        assert_eq!(ch.removed.len(), 4, "{:?}", ch.removed);
        assert!(ch
            .removed
            .contains(&"xmp drone-dji:GpsLongtitude".to_string()));
        // nothing to do without strip_gps
        assert!(edit_xmp(x.as_bytes(), false, true, &mut ch)
            .unwrap()
            .is_none());
        // a broken packet is an error when it must be edited
        assert!(edit_xmp(b"<x:xmpmeta><rdf:RDF>", true, true, &mut ch).is_err());
    }
}
