"""Content hashes: an item is unchanged when its input bytes, its settings and the code are unchanged."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

from pipeline.batch.manifest import BatchItem
from pipeline.errors import InputError

CHUNK_BYTES = 1 << 20
PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
# What a render's result depends on besides its inputs: the code, voice profiles, trained weights.
# The batch package itself is left out: how items are scheduled does not change a video.
# Voices include their lexicons and clone files, not only the profiles.
CODE_GLOBS = (("pipeline", "**/*.py"), ("voices", "**/*.yaml"), ("voices", "**/*.npz"),
              ("checkpoints", "*.onnx"))
SKIP_DIRS = ("batch",)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the package's source, voice profiles and checkpoints (computed once per process)."""
    from pipeline import __version__

    digest = hashlib.sha256(__version__.encode())
    for folder, pattern in CODE_GLOBS:
        root = REPO_DIR / folder
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root)
            if "__pycache__" in rel.parts or (folder == "pipeline" and rel.parts[0] in SKIP_DIRS):
                continue
            digest.update(f"{folder}/{rel.as_posix()}\0".encode())
            digest.update(file_sha256(path).encode())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def _input_digest(path: Path, what: str) -> str:
    if not path.is_file():
        raise InputError(f"{what} not found: {path}. Check the path in the manifest "
                         "(paths are relative to the manifest file).")
    return file_sha256(path)


def settings_of(item: BatchItem) -> dict:
    settings = dataclasses.asdict(item.config)
    settings.pop("quiet", None)   # progress display does not change the video
    voice = Path(item.config.voice)
    if voice.suffix in (".yaml", ".yml") and voice.is_file():
        settings["voice_profile_sha256"] = file_sha256(voice)
    if item.config.lexicon and Path(item.config.lexicon).is_file():
        settings["lexicon_sha256"] = file_sha256(Path(item.config.lexicon))
    return settings


def item_inputs(item: BatchItem) -> dict:
    """What the item says, by content: file digests rather than paths, so moving a course keeps it done."""
    inputs = {"photo": _input_digest(item.photo, "Photo")}
    if item.script is not None:
        inputs["script"] = _input_digest(item.script, "Script file")
    if item.text is not None:
        inputs["text"] = item.text
    if item.audio is not None:
        inputs["audio"] = _input_digest(item.audio, "Audio file")
    return inputs


def item_hash(item: BatchItem, code: str) -> str:
    record = {"inputs": item_inputs(item), "settings": settings_of(item), "code": code}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
