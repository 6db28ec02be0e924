"""The training sources of pixla's own aerial detector: where each comes from, its licence as
the source itself states it, and which of its files may be used.

Every source is a public repository snapshot (brought in with the search library's `fetch`,
which leaves a bare git directory). `prepare.py` reads the files straight from git at the
pinned commit, so a re-run sees the same bytes. Nothing here is NC, SA, GPL or of unknown
licence. `../shared/fixtures` is validation only and never listed here; the repositories
reserved for independent evaluation (SimoesDP/Unicamp-UAV-Dataset,
UniversityRescueSquad/DroneSearchAndRescue, ria-com/nomeroff-net) are never read.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    name: str
    repo: str  # owner/name, as the fetch tool names it
    commit: str  # the snapshot's commit the data was prepared from
    licence: str
    licence_file: str  # the file in the repository that states the licence
    attribution: str
    notes: str = ""
    splits: dict = field(default_factory=dict)


HUMAN_RPI = Source(
    name="human_rpi",
    repo="projectaeroaiml/human_rpi",
    commit="c30f2b4e00aa796678c7a996640c88de9bf526b8",
    licence="CC BY 4.0",
    licence_file="README.dataset.txt",
    attribution="Tiny people detection RPI, provided by a Roboflow user (resq), CC BY 4.0",
    notes="oblique views of tiny people; YOLO polygon labels (box = min/max); each training "
    "image comes as 3 augmented copies. test/ is kept for the final figures only.",
)

HIT_UAV = Source(
    name="hit_uav",
    repo="suojiashun/HIT-UAV-Infrared-Thermal-Dataset",
    commit="f8100db7ce3ab602005dd9f32854bb57d4de9b87",
    licence="CC BY 4.0",
    licence_file="LICENSE",
    attribution="HIT-UAV: A high-altitude infrared thermal dataset for UAV-based object "
    "detection, Jiashun Suo, Tianyi Wang et al., CC BY 4.0",
    notes="thermal frames 640x512, 60-130 m, camera angle 30-90 deg in the file name "
    "(day_altitude_angle_..). Used as grey three-channel images.",
)

KIT_AIS = Source(
    name="kit_ais",
    repo="jekhor/aerial-cars-dataset",
    commit="d2ed927fe2b06e4794e90d6320152b940808ddd9",
    licence="CC BY 3.0",
    licence_file="README.md",
    attribution="KIT AIS Data Set (via jekhor/aerial-cars-dataset), CC BY 3.0",
    notes="only MOS*.png and MunichStreet02-*.png (the KIT AIS images); the other pictures "
    "of that repository have unclear licences and are never read.",
)

SOURCES = [HUMAN_RPI, HIT_UAV, KIT_AIS]


# ---------------------------------------------------------------- plates (pixla-plate)
GOOGLE_PLATES = Source(
    name="google_plates",
    repo="unknowncz/LP_recognition",
    commit="ecd25180ff577a39e4cf06cabb123771d503422c",
    licence="CC BY 4.0",
    licence_file="LP_Detection/README.dataset.txt",
    attribution="Google Licence Plates, provided by a Roboflow user "
    "(universe: aaaaaaaaaa-67qhw/google-licence-plates), CC BY 4.0; the photos are from "
    "Open Images (their file names keep the Open Images ids)",
    notes="1,800 street and car scenes of many countries, about 1024 px wide, not stretched; "
    "COCO labels (category 1 = plate). Its own train/valid splits: valid is pixla-plate's "
    "validation split. Only LP_Detection/{train,valid} is read (not the crops or VOC copies).",
)

PLATE_SOURCES = [GOOGLE_PLATES]
