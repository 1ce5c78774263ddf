"""Course manifests (YAML or CSV): shared defaults, per-item overrides, output names kept inside --out-dir.

YAML:
    defaults: {photo: me.jpg, voice: joe, style: natural, aspect: "9:16", fps: 30, seed: 0, captions: true}
    items:
      - script: lessons/01_intro.txt          # output: 01_intro.mp4
      - {name: welcome, text: "Welcome to the course!", style: calm}
      - {name: q_and_a, audio: q_and_a.wav, script: q_and_a.txt}   # own narration, script as transcript
CSV: one row per item with a header naming the same fields; an empty cell takes the default.
Paths are relative to the manifest file. A problem with one item fails only that item.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from pipeline.config import PRESETS, MotionConfig, RenderConfig, VideoConfig
from pipeline.errors import InputError

# What config_of reads: the `avatar render` flags, spelt without dashes (--motion-scale is
# motion_scale, --no-captions is captions: false). The studio sends these names too.
CONFIG_FIELDS = ("voice", "style", "aspect", "fps", "seed", "captions", "loop", "preset", "mouth", "face",
                 "motion_scale", "lexicon")
SETTING_FIELDS = ("photo", *CONFIG_FIELDS)
ITEM_FIELDS = ("name", "script", "text", "audio", *SETTING_FIELDS)
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
# Said beside a number that does not parse: a manifest author and a studio user both need to
# know what the field means and what a good value looks like.
NUMBER_HINTS = {
    "fps": "frames per second, e.g. 30",
    "seed": "the motion seed, e.g. 0",
    "face": "which face to animate: 0 is the largest",
    "motion_scale": "the motion intensity: 0 is a still head, 3 the most; 1 is natural",
}
# A name is a relative path of plain parts: letters, digits, and . _ - space; subfolders allowed.
NAME_PART = re.compile(r"^[\w][\w .\-]*$")


@dataclass(frozen=True)
class BatchItem:
    """One video to render, every path absolute."""
    index: int
    name: str
    out: Path                     # the .mp4, inside the output folder
    photo: Path
    config: RenderConfig
    script: Path | None = None
    text: str | None = None
    audio: Path | None = None


@dataclass(frozen=True)
class ItemProblem:
    """An item that cannot be rendered as written; it fails alone."""
    index: int
    name: str
    reason: str


def read_manifest(path: str | Path) -> tuple[dict, list[dict]]:
    """The defaults and the raw item rows of a .yaml/.yml/.csv manifest."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Manifest not found: {path}. Pass a course .yaml or .csv file.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k}
                    for row in csv.DictReader(f)]
        # Empty cells take the default rather than overriding it with "".
        return {}, [{k: v for k, v in row.items() if v != ""} for row in rows]
    if suffix not in (".yaml", ".yml"):
        raise InputError(f"Manifest {path} must be a .yaml, .yml or .csv file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"Manifest {path} cannot be read ({exc}). Fix the YAML.") from exc
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InputError(
            f"Manifest {path} needs an `items:` list (and optionally `defaults:`). "
            "See README.md, section Batch."
        )
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError(f"Manifest {path}: `defaults:` must be a mapping of settings.")
    unknown = sorted(set(defaults) - set(SETTING_FIELDS))
    if unknown:
        raise InputError(
            f"Manifest {path}: unknown defaults {', '.join(unknown)}. Allowed: {', '.join(SETTING_FIELDS)}."
        )
    return defaults, data["items"]


def _shown(value: object) -> str:
    """A field's value as the user typed it; an empty one still shows as something."""
    return str(value) if str(value).strip() else repr(value)


def _bool(value: object, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        return word in TRUE_WORDS
    raise InputError(f"`{field_name}: {_shown(value)}` must be true or false "
                     "(yes/no, on/off and 1/0 work too).")


def _number(value: object, field_name: str, kind: type[int] | type[float]) -> int | float:
    hint = f" ({NUMBER_HINTS[field_name]})" if field_name in NUMBER_HINTS else ""
    not_a_number = InputError(f"`{field_name}: {_shown(value)}` must be a number{hint}.")
    not_whole = InputError(f"`{field_name}: {_shown(value)}` must be a whole number{hint}.")
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise not_a_number from None
    # 1.5 is refused rather than cut down to 1.
    if isinstance(value, float) and not value.is_integer():
        raise not_whole
    try:
        return int(value)
    except (TypeError, ValueError):
        pass
    try:
        float(value)
    except (TypeError, ValueError):
        raise not_a_number from None
    raise not_whole from None


def config_of(fields: Mapping[str, object], base: RenderConfig | None = None) -> RenderConfig:
    """The render settings of a manifest item's merged fields (defaults, then the item's own),
    or of the studio page's settings: the one place settings become a RenderConfig.

    Names are CONFIG_FIELDS. A field left out keeps `base`'s value (RenderConfig() holds the same
    defaults as `avatar render`'s flags), except `face` and `lexicon`: left out or None, there is
    none, as without --face and --lexicon. Raises InputError naming the field and a good value.
    """
    preset_name = str(fields.get("preset", "default"))
    if preset_name not in PRESETS:
        raise InputError(f"Unknown preset {preset_name!r}. Use one of: {', '.join(PRESETS)}.")
    base = base or RenderConfig()
    # A preset is an encoding choice only, as with --preset; the other settings come from `fields`.
    encoding = PRESETS[preset_name].video
    face = fields.get("face")
    lexicon = fields.get("lexicon")
    config = replace(
        base,
        voice=str(fields.get("voice", base.voice)),
        face_index=None if face is None else _number(face, "face", int),
        mouth=str(fields.get("mouth", base.mouth)),
        video=VideoConfig(
            aspect=str(fields.get("aspect", base.video.aspect)),
            fps=_number(fields.get("fps", base.video.fps), "fps", float),
            crf=encoding.crf, preset=encoding.preset,
        ),
        captions=replace(base.captions,
                         enabled=_bool(fields.get("captions", base.captions.enabled), "captions")),
        motion=MotionConfig(style=str(fields.get("style", base.motion.style)),
                            seed=_number(fields.get("seed", base.motion.seed), "seed", int),
                            scale=_number(fields.get("motion_scale", base.motion.scale), "motion_scale",
                                          float),
                            loop=_bool(fields.get("loop", base.motion.loop), "loop")),
        lexicon=None if lexicon is None else str(lexicon),
        quiet=True,
    )
    return config.validate(setting=str)


def safe_output(out_dir: Path, name: str) -> Path:
    """The .mp4 path for `name` inside out_dir; raises InputError for names that would leave it."""
    name = name.strip()
    if name.lower().endswith(".mp4"):
        name = name[:-4]
    if not name:
        raise InputError("The output name is empty. Give the item a `name:`.")
    if "\\" in name or name.startswith("/") or Path(name).is_absolute() or name.startswith("~"):
        raise InputError(
            f"Output name {name!r} is an absolute path; names must stay inside the output folder. "
            "Use a plain name such as `lesson_01` (subfolders like `unit1/lesson_01` are fine)."
        )
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", "..") or not NAME_PART.match(part):
            raise InputError(
                f"Output name {name!r} is not allowed (`..`, empty parts and characters other than "
                "letters, digits, space, `.`, `_`, `-` could leave the output folder). "
                "Use a plain name such as `lesson_01`."
            )
    root = out_dir.resolve()
    out = root.joinpath(*parts[:-1], parts[-1] + ".mp4")
    # resolve() follows symlinks already on disk: a linked subfolder or file pointing outside is caught.
    resolved = out.resolve()
    if root != resolved.parent and root not in resolved.parents:
        raise InputError(
            f"Output name {name!r} leads outside the output folder {root} (through a symbolic link). "
            "Remove the link or use another name."
        )
    return resolved


def _relative_file(base_dir: Path, value, field_name: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"`{field_name}:` must be a file path.")
    path = Path(value.strip()).expanduser()
    return path if path.is_absolute() else (base_dir / path)


def _default_name(row: dict, index: int) -> str:
    """The script's (or recording's) file name, made safe: `01 intro (v2).txt` -> `01 intro _v2_`."""
    for key in ("script", "audio"):
        if isinstance(row.get(key), str) and row[key].strip():
            stem = re.sub(r"[^\w .\-]", "_", Path(row[key].strip()).stem).lstrip(" .-")
            if stem:
                return stem
    return f"item_{index + 1:03d}"


def resolve_items(manifest_path: str | Path, out_dir: str | Path,
                  overrides: dict | None = None) -> list[BatchItem | ItemProblem]:
    """Every item of the manifest as a BatchItem, or an ItemProblem saying why it cannot run.

    `overrides` are defaults from the command line; the manifest's own defaults win over them.
    """
    manifest_path = Path(manifest_path).resolve()
    base_dir = manifest_path.parent
    out_dir = Path(out_dir)
    defaults, rows = read_manifest(manifest_path)
    defaults = {**(overrides or {}), **defaults}
    if not rows:
        raise InputError(f"Manifest {manifest_path} has no items. Add at least one under `items:`.")
    resolved: list[BatchItem | ItemProblem] = []
    taken: dict[Path, str] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            resolved.append(ItemProblem(index, f"item_{index + 1:03d}",
                                        "an item must be a mapping such as `{script: lesson.txt}`"))
            continue
        name = str(row.get("name") or _default_name(row, index))
        try:
            resolved.append(_resolve_one(index, name, row, defaults, base_dir, out_dir, taken))
        except InputError as exc:
            resolved.append(ItemProblem(index, name, str(exc)))
    return resolved


def _resolve_one(index: int, name: str, row: dict, defaults: dict, base_dir: Path, out_dir: Path,
                 taken: dict[Path, str]) -> BatchItem:
    unknown = sorted(set(row) - set(ITEM_FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}. Allowed: {', '.join(ITEM_FIELDS)}.")
    fields = {**defaults, **row}
    out = safe_output(out_dir, name)
    if out in taken:
        raise InputError(f"the output name {name!r} is already used by item {taken[out]!r}. "
                         "Give each item its own `name:`.")
    taken[out] = name
    if fields.get("script") is not None and fields.get("text") is not None:
        raise InputError("give either `script:` (a file) or `text:`, not both.")
    if all(fields.get(k) is None for k in ("script", "text", "audio")):
        raise InputError("nothing to say: give `script:` (a text file), `text:` or `audio:`.")
    if fields.get("photo") is None:
        raise InputError("no photo: give `photo:` in the item or in `defaults:`.")
    voice = fields.get("voice")
    if isinstance(voice, str) and voice.lower().endswith((".yaml", ".yml")):
        fields["voice"] = str(_relative_file(base_dir, voice, "voice"))
    if fields.get("lexicon") is not None:
        fields["lexicon"] = str(_relative_file(base_dir, str(fields["lexicon"]), "lexicon"))
    return BatchItem(
        index=index,
        name=out.relative_to(out_dir.resolve()).with_suffix("").as_posix(),
        out=out,
        photo=_relative_file(base_dir, fields["photo"], "photo"),
        config=config_of(fields),
        script=None if fields.get("script") is None else _relative_file(base_dir, fields["script"], "script"),
        text=None if fields.get("text") is None else str(fields["text"]),
        audio=None if fields.get("audio") is None else _relative_file(base_dir, fields["audio"], "audio"),
    )
