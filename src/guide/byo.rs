//! Bring your own detector: `--model` with an Ultralytics YOLO or RT-DETR ONNX export.
//!
//! ```sh
//! pixla redact IN -o OUT --model my.onnx --model-format auto --classes person=0,car=2,truck=7
//! ```
//!
//! `--model` replaces the built-in person and vehicle detectors (`--detector`) as the tile detector
//! (persons, vehicles, and any class `--classes` names, e.g. `plate=0` or `face=0`); everything
//! else (tiling, pyramid, whole pass, merge, plates in vehicles, margins, report, `check`, `eval`)
//! is unchanged. `--classes NAME=INDEX,...` picks the model's class indices; names map like dataset
//! labels (car/truck/bus → vehicle), several indices may map to one class. `--model-format
//! auto|yolov8|yolo11|rtdetr|yolov10`: `auto` reads the layout from the model: input `[1,3,H,W]`
//! float32/float16 (size from the input shape, else the Ultralytics `imgsz` metadata, else
//! `--model-size`, else 640); output YOLOv8/YOLO11 `[1,4+nc(+32),N]` (a `-seg` export's mask
//! coefficients are ignored), the same transposed `[1,N,4+nc]`, RT-DETR `[1,300,4+nc]` (normalised
//! boxes, told apart by the metadata description or by one trial run), end-to-end `[1,N,6]`; the
//! class count comes from the Ultralytics `names` metadata, else from the shape. A layout that does
//! not fit or a class index the model lacks is a usage error (exit 2) before any file is processed,
//! e.g. `output shape [37, 8400] is no detection layout this version reads` or `the model has 1
//! classes: 0=plate`. The report's model entry records the file name (not its path), the sha256 of
//! the bytes actually loaded, the licence from the model's `license` metadata (else "user-supplied
//! (not stated)"), the layout it was read as, and the class map. Scores use `--threshold` per pixla
//! class.
//!
//! # How it is tested
//!
//! Tested (`tests/byo.rs`) with a real Ultralytics export: `platedet.onnx` given as `--model
//! --classes plate=0` finds exactly the boxes of the built-in `--plate-model platedet`; models
//! derived from it with the `onnx` package (a Transpose appended → `[1,N,C]`; ops appended to make
//! RT-DETR's normalised layout) are recognised by `auto` and find the same plates; a 2-D output and
//! a missing class index give the clear errors. No COCO YOLO/RT-DETR person model ships in any
//! package a registry here serves (three candidate PyPI packages ship no weights), so persons with a
//! user model are not tested on a real export; the end-to-end `[1,N,6]` layout and non-square
//! inputs are implemented but untested on a real model.
