//! Ground-truth labels for `pixla eval`: COCO JSON, or YOLO txt files with their class names,
//! read into boxes in stored pixels.

use crate::detect::Class;
use crate::geom::BoxF;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One ground-truth box, in stored pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct GtBox {
    pub class: Class,
    pub bbox: BoxF,
}

/// Ground truth: per image key (a path relative to IMAGES, `/`-separated), its boxes.
#[derive(Debug, Default)]
pub struct Labels {
    pub images: BTreeMap<String, Vec<GtBox>>,
    /// Label class names that map to no pixla class (their boxes are ignored).
    pub ignored: BTreeMap<String, usize>,
    /// The pixla classes these labels cover (COCO: the categories): detections of other
    /// classes are not counted against precision.
    pub labelled: BTreeSet<Class>,
}

/// Read a COCO JSON file (`images[].file_name`, `categories[].name`, `annotations[].bbox` as
/// `[x, y, w, h]`). Every listed image is a key, also those without annotations.
pub fn read_coco(path: &Path) -> Result<Labels, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
    let coco = Coco { path };
    let imgs = coco.array(&v, "images")?;
    let cats = coco.array(&v, "categories")?;
    let anns = coco.array(&v, "annotations")?;
    let names = coco.categories(cats)?;
    let mut l = Labels {
        labelled: names
            .values()
            .filter_map(|n| Class::from_label(n))
            .collect(),
        ..Default::default()
    };
    let files = coco.images(imgs, &mut l)?;
    for (k, a) in anns.iter().enumerate() {
        coco.annotation(k, a, &files, &names, &mut l)?;
    }
    Ok(l)
}

/// The COCO file being read, for its error messages.
struct Coco<'a> {
    path: &'a Path,
}

impl Coco<'_> {
    fn bad(&self, what: &str) -> String {
        format!("{}: not a COCO file: {what}", self.path.display())
    }

    /// The document's array `key`.
    fn array<'v>(
        &self,
        v: &'v serde_json::Value,
        key: &str,
    ) -> Result<&'v Vec<serde_json::Value>, String> {
        v[key]
            .as_array()
            .ok_or_else(|| self.bad(&format!("no `{key}` array")))
    }

    /// The category names by id.
    fn categories(&self, cats: &[serde_json::Value]) -> Result<BTreeMap<i64, String>, String> {
        let mut names = BTreeMap::new();
        for c in cats {
            let id = c["id"]
                .as_i64()
                .ok_or_else(|| self.bad("a category without a numeric `id`"))?;
            let name = c["name"]
                .as_str()
                .ok_or_else(|| self.bad("a category without a `name`"))?;
            names.insert(id, name.to_string());
        }
        Ok(names)
    }

    /// The image file names by id, each a key of `l` (with no boxes yet).
    fn images(
        &self,
        imgs: &[serde_json::Value],
        l: &mut Labels,
    ) -> Result<BTreeMap<i64, String>, String> {
        let mut files = BTreeMap::new();
        for i in imgs {
            let id = i["id"]
                .as_i64()
                .ok_or_else(|| self.bad("an image without a numeric `id`"))?;
            let f = i["file_name"]
                .as_str()
                .ok_or_else(|| self.bad("an image without a `file_name`"))?;
            files.insert(id, f.to_string());
            l.images.entry(f.to_string()).or_default();
        }
        Ok(files)
    }

    /// Annotation `k`, `a`, into `l`: a box of its image, or an ignored category.
    fn annotation(
        &self,
        k: usize,
        a: &serde_json::Value,
        files: &BTreeMap<i64, String>,
        names: &BTreeMap<i64, String>,
        l: &mut Labels,
    ) -> Result<(), String> {
        let img = a["image_id"]
            .as_i64()
            .and_then(|id| files.get(&id))
            .ok_or_else(|| self.bad(&format!("annotation {k}: `image_id` names no image")))?;
        let cat = a["category_id"]
            .as_i64()
            .and_then(|id| names.get(&id))
            .ok_or_else(|| self.bad(&format!("annotation {k}: `category_id` names no category")))?;
        let b: Vec<f64> = a["bbox"]
            .as_array()
            .map(|b| b.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default();
        if b.len() != 4 || b[2] < 0.0 || b[3] < 0.0 {
            return Err(self.bad(&format!("annotation {k}: `bbox` is not [x, y, w, h]")));
        }
        match Class::from_label(cat) {
            Some(class) => l.images.entry(img.clone()).or_default().push(GtBox {
                class,
                bbox: BoxF::new(
                    b[0] as f32,
                    b[1] as f32,
                    (b[0] + b[2]) as f32,
                    (b[1] + b[3]) as f32,
                ),
            }),
            None => *l.ignored.entry(cat.clone()).or_default() += 1,
        }
        Ok(())
    }
}

/// Parse `0=person,1=car` (YOLO class ids to label names).
pub fn parse_label_classes(s: &str) -> Result<BTreeMap<usize, String>, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("`{p}`: expected ID=NAME"))?;
            let id = k
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("`{k}` is not a class id"))?;
            Ok((id, v.trim().to_string()))
        })
        .collect()
}

/// A YOLO class names file: one name per line, the line number (from 0) is the id.
pub fn read_names(path: &Path) -> Result<BTreeMap<usize, String>, String> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, n)| (i, n.to_string()))
        .collect())
}

/// One YOLO label file (`cls cx cy w h`, normalised to the image size) for a `w`×`h` image;
/// and the classes a `# labelled: plate,person` comment line says the file covers (else all
/// classes of the names file).
pub fn read_yolo_file(
    path: &Path,
    w: u32,
    h: u32,
    names: &BTreeMap<usize, String>,
    ignored: &mut BTreeMap<String, usize>,
) -> Result<(Vec<GtBox>, Option<BTreeSet<Class>>), String> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut labelled = None;
    for (n, line) in s.lines().enumerate() {
        let at = YoloLine { path, n: n + 1 };
        let line = line.trim();
        if let Some(rest) = line
            .strip_prefix('#')
            .map(str::trim)
            .and_then(|r| r.strip_prefix("labelled:"))
        {
            labelled = Some(at.labelled(rest)?);
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, bbox) = at.gt_box(line, w, h, names)?;
        match Class::from_label(name) {
            Some(class) => out.push(GtBox { class, bbox }),
            None => *ignored.entry(name.clone()).or_default() += 1,
        }
    }
    Ok((out, labelled))
}

/// Line `n` (from 1) of the YOLO label file `path`, for its error messages.
struct YoloLine<'a> {
    path: &'a Path,
    n: usize,
}

impl YoloLine<'_> {
    /// The classes of a `# labelled: plate,person` line (`rest` follows `labelled:`).
    fn labelled(&self, rest: &str) -> Result<BTreeSet<Class>, String> {
        let list = rest.split_whitespace().next().unwrap_or("");
        list.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| {
                Class::from_label(x).ok_or_else(|| {
                    format!(
                        "{} line {}: `labelled: {list}`: `{x}` is no pixla class",
                        self.path.display(),
                        self.n
                    )
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()
    }

    /// The label name and the box (in pixels of a `w`×`h` image) of a `cls cx cy w h` line.
    fn gt_box<'n>(
        &self,
        line: &str,
        w: u32,
        h: u32,
        names: &'n BTreeMap<usize, String>,
    ) -> Result<(&'n String, BoxF), String> {
        let bad = || {
            format!(
                "{} line {}: expected `class cx cy w h` (normalised 0..1), got `{line}`",
                self.path.display(),
                self.n
            )
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 {
            return Err(bad());
        }
        let id: usize = f[0].parse().map_err(|_| bad())?;
        let v: Vec<f32> = f[1..]
            .iter()
            .map(|x| x.parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if v.iter()
            .any(|x| !x.is_finite() || !(-0.01..=1.01).contains(x))
        {
            return Err(bad());
        }
        let name = names.get(&id).ok_or_else(|| format!("{} line {}: class {id} has no name (give a classes.txt beside the labels, or --label-classes {id}=NAME)", self.path.display(), self.n))?;
        let (cx, cy, bw, bh) = (
            v[0] * w as f32,
            v[1] * h as f32,
            v[2] * w as f32,
            v[3] * h as f32,
        );
        let bbox = BoxF::new(cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0);
        Ok((name, bbox))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolo_and_labels() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.txt");
        std::fs::write(&p, "0 0.5 0.5 0.2 0.4\n3 0.1 0.1 0.1 0.1\n").unwrap();
        let names = parse_label_classes("0=pedestrian,3=tree").unwrap();
        let mut ig = BTreeMap::new();
        let (g, l) = read_yolo_file(&p, 100, 50, &names, &mut ig).unwrap();
        assert_eq!(
            g,
            vec![GtBox {
                class: Class::Person,
                bbox: BoxF::new(40.0, 15.0, 60.0, 35.0)
            }]
        );
        assert_eq!(l, None);
        std::fs::write(&p, "# labelled: plate,people\n").unwrap();
        assert_eq!(
            read_yolo_file(&p, 100, 50, &names, &mut ig).unwrap(),
            (vec![], Some(BTreeSet::from([Class::Person, Class::Plate])))
        );
        assert_eq!(ig["tree"], 1);
        std::fs::write(&p, "0 0.5 0.5 0.2\n").unwrap();
        assert!(read_yolo_file(&p, 100, 50, &names, &mut ig)
            .unwrap_err()
            .contains("line 1"));
        std::fs::write(&p, "7 0.5 0.5 0.2 0.2\n").unwrap();
        assert!(read_yolo_file(&p, 100, 50, &names, &mut ig)
            .unwrap_err()
            .contains("class 7 has no name"));
    }
}
