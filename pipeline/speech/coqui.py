"""Coqui TTS voices: a local model folder (config.json + model.pth: VITS, YourTTS, XTTS).

A profile names the folder in `model` (relative to the profile file), and optionally a
`speaker` of a multi-speaker model, a `language` of a multilingual one, and a `speaker_wav`
recording to clone from when the model can (a speaker encoder, as in YourTTS, or XTTS).
Coqui reports no phone timing, so the Speech carries none: timing.align finds words and
phones in the audio (Whisper, then pocketsphinx), with the script's words as captions.

Installed by `make coqui` (the `coqui` extra). PyPI's torchaudio links CUDA libraries this
machine lacks; Coqui needs only its pure-Python parts (mel spectrograms, resampling), so
`_torchaudio_without_extension` imports it without the compiled extension.
"""

from __future__ import annotations

import logging
import pickle
import re
import sys
import tempfile
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.progress import SILENT, Progress
from pipeline.speech.loudness import normalize_loudness
from pipeline.text.tags import SPEAKABLE, Pause, Unit, display_text, parse
from pipeline.types import Speech

LOGGER = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
MODEL_FILE = "model.pth"
# The names Coqui's YourTTS release gives its speaker encoder; used when they lie in the folder.
ENCODER_MODEL_FILE = "model_se.pth"
ENCODER_CONFIG_FILE = "config_se.json"
INSTALL_HINT = "Install it with `make coqui` (pip install -e '.[coqui]')."
NOISE_SEED = 1234        # VITS samples durations and waveform noise: seeded, renders are reproducible
EDGE_SILENCE_S = 0.15    # lead-in and lead-out, as for Piper voices
EMPHASIS_LENGTH = 1.25   # emphasized words: their own utterance, slower and louder (as for Piper)
EMPHASIS_GAIN_DB = 4.0
MIN_CLONE_SAMPLE_S = 2.0 # a speaker encoder needs a few seconds of voice
REFERENCE_VOICE = "reference"  # the name a speaker recording's voice is cached under, per synthesis


def _torchaudio_without_extension() -> None:
    """Import torchaudio; if its compiled extension cannot load, import it without one.

    torchaudio's Python code runs without the extension (it is how its pex builds work), and
    the parts Coqui uses for inference are plain torch. Audio files are read with soundfile
    when torchcodec (torchaudio's only reader since 2.9) cannot load either.
    """
    try:
        import torchaudio  # noqa: F401
        return
    except OSError:
        LOGGER.info("torchaudio's compiled extension cannot load here; using its Python parts only")
    for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
        del sys.modules[name]
    stub = types.ModuleType("torchaudio._extension")
    stub._IS_TORCHAUDIO_EXT_AVAILABLE = False
    stub._IS_ALIGN_AVAILABLE = False

    def fail_if_no_align(func):
        def unavailable(*args, **kwargs):
            raise RuntimeError("torchaudio's forced alignment needs its compiled extension")
        return unavailable

    stub.fail_if_no_align = fail_if_no_align
    sys.modules["torchaudio._extension"] = stub
    import torchaudio

    try:
        import torchcodec.decoders  # noqa: F401
    except (ImportError, OSError, RuntimeError):
        torchaudio.load = _load_with_soundfile


def _load_with_soundfile(uri, frame_offset: int = 0, num_frames: int = -1, normalize: bool = True,
                         channels_first: bool = True, **kwargs):
    """torchaudio.load's contract ([channels, time] float32, rate) for what soundfile reads."""
    import soundfile
    import torch

    data, rate_hz = soundfile.read(uri, dtype="float32", always_2d=True, start=frame_offset,
                                   frames=num_frames)
    tensor = torch.from_numpy(np.ascontiguousarray(data.T if channels_first else data))
    return tensor, int(rate_hz)


@lru_cache(maxsize=1)
def _coqui():
    """The Coqui modules used here, imported once (about 2 s)."""
    try:
        import torch  # noqa: F401
        _torchaudio_without_extension()
        from TTS.config import load_config
        from TTS.tts.models import setup_model
    except ImportError as exc:
        raise InputError(f"Coqui TTS voices need the coqui extra, which is not installed ({exc}). "
                         f"{INSTALL_HINT}") from exc
    return types.SimpleNamespace(load_config=load_config, setup_model=setup_model)


@dataclass(frozen=True, eq=False)
class CoquiModel:
    """A loaded Coqui model and what it accepts."""

    folder: Path
    tts: object                  # TTS.tts.models.base_tts.BaseTTS, in eval mode
    sample_rate_hz: int
    model_type: str              # "vits", "xtts", ...
    speakers: tuple[str, ...]    # names of a multi-speaker model (empty otherwise)
    languages: tuple[str, ...]   # languages of a multilingual model (empty otherwise)
    can_clone: bool              # has a speaker encoder (YourTTS) or clones by itself (XTTS)
    length_scale: float          # the model's own; a profile's length_scale multiplies it


def model_folder(model: str, profile_path: Path | None = None) -> Path:
    """The folder a profile's `model` names (relative to the profile file), checked for its files."""
    folder = Path(model).expanduser()
    if not folder.is_absolute() and profile_path is not None:
        folder = profile_path.parent / folder
    if not folder.is_dir():
        raise InputError(f"Coqui model folder {folder} does not exist. Set `model:` in the voice profile "
                         f"to a folder holding {CONFIG_FILE} and {MODEL_FILE}.")
    missing = [name for name in (CONFIG_FILE, MODEL_FILE) if not (folder / name).is_file()]
    if missing:
        raise InputError(f"Coqui model folder {folder} lacks {' and '.join(missing)}. A Coqui model "
                         f"folder holds {CONFIG_FILE} and {MODEL_FILE} (as `tts --list_models` "
                         "downloads save them); copy the missing files there.")
    return folder


@lru_cache(maxsize=2)
def load_model(folder: Path) -> CoquiModel:
    """A Coqui model from its folder, loaded once per process."""
    coqui = _coqui()
    try:
        config = coqui.load_config(str(folder / CONFIG_FILE))
    except Exception as exc:  # Coqui raises bare Exceptions and KeyErrors for unknown configs
        raise InputError(f"{folder / CONFIG_FILE} is not a Coqui TTS config ({exc}). "
                         "Use the config.json that came with the model.") from exc
    encoder = folder / ENCODER_MODEL_FILE, folder / ENCODER_CONFIG_FILE
    if all(p.is_file() for p in encoder) and "model_args" in config:
        # Released configs name the encoder by a path on their author's disk.
        config.model_args.speaker_encoder_model_path = str(encoder[0])
        config.model_args.speaker_encoder_config_path = str(encoder[1])
    model_type = str(config.get("model", "")).lower()
    try:
        tts = coqui.setup_model(config)
        if model_type == "xtts":  # XTTS reads several files from its folder
            tts.load_checkpoint(config, checkpoint_dir=str(folder), eval=True)
        else:
            tts.load_checkpoint(config, checkpoint_path=str(folder / MODEL_FILE), eval=True)
    except (OSError, RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise InputError(f"The Coqui model in {folder} cannot be loaded ({exc}). Check that "
                         f"{MODEL_FILE} and {CONFIG_FILE} belong together and are complete.") from exc
    speakers = getattr(tts, "speaker_manager", None)
    languages = getattr(tts, "language_manager", None)
    if model_type == "xtts":  # XTTS lists its languages in the config, and always wants one
        language_names = tuple(config.get("languages") or ())
    else:
        language_names = tuple(languages.language_names) if languages is not None and \
            languages.num_languages > 1 else ()
    audio = config.audio
    rate = audio.get("output_sample_rate") or audio["sample_rate"]
    return CoquiModel(
        folder=folder, tts=tts, sample_rate_hz=int(rate), model_type=model_type,
        speakers=tuple(speakers.speaker_names) if speakers is not None else (),
        languages=language_names,
        can_clone=model_type == "xtts" or (speakers is not None and speakers.encoder is not None),
        length_scale=float(getattr(tts, "length_scale", 1.0)),
    )


def speaker_wav_path(speaker_wav: str, profile_path: Path | None = None) -> Path:
    path = Path(speaker_wav).expanduser()
    return profile_path.parent / path if not path.is_absolute() and profile_path is not None else path


def load_coqui(profile) -> CoquiModel:
    """The model of a coqui voice profile, checked against the profile's speaker, language and clone."""
    model = load_model(model_folder(profile.model, profile.path))
    name = profile.name
    if profile.speaker_wav:
        if not model.can_clone:
            raise InputError(f"Voice {name!r}: the Coqui model in {model.folder} cannot clone a voice from "
                             "a recording (it has no speaker encoder). Remove `speaker_wav:` or use a "
                             "model that clones, such as YourTTS or XTTS.")
        if not speaker_wav_path(profile.speaker_wav, profile.path).is_file():
            raise InputError(f"Voice {name!r}: speaker recording {profile.speaker_wav} not found. "
                             "Fix `speaker_wav:` in the profile (relative to the profile file).")
    elif model.speakers and profile.speaker is None:
        raise InputError(f"Voice {name!r}: the Coqui model has several speakers; set `speaker:` to one of "
                         f"{', '.join(model.speakers[:20])}" + (" ..." if len(model.speakers) > 20 else "")
                         + (" (or `speaker_wav:` to clone from a recording)." if model.can_clone else "."))
    elif model.can_clone and profile.speaker is None:
        raise InputError(f"Voice {name!r}: the Coqui model speaks in the voice of a recording; set "
                         "`speaker_wav:` to a WAV of the speaker (10 s or more of clear speech).")
    if profile.speaker is not None and model.speakers and str(profile.speaker) not in model.speakers:
        raise InputError(f"Voice {name!r}: speaker {profile.speaker!r} is not in the model. "
                         f"Speakers: {', '.join(model.speakers[:20])}.")
    if profile.speaker is not None and not model.speakers:
        raise InputError(f"Voice {name!r}: the Coqui model has a single speaker; remove `speaker:`.")
    if model.languages and profile.language not in model.languages:
        raise InputError(f"Voice {name!r}: set `language:` to one of {', '.join(model.languages)} "
                         "(the model is multilingual).")
    return model


def _reference_wav(speaker_wav: Path, directory: Path) -> Path:
    """The speaker recording, read by load_audio (any format ffmpeg reads), as a mono WAV."""
    from pipeline.speech.audio import load_audio, save_wav

    speech = load_audio(speaker_wav)
    if speech.duration_s < MIN_CLONE_SAMPLE_S:
        raise InputError(f"Speaker recording {speaker_wav} is {speech.duration_s:.1f} s long; cloning needs "
                         f"at least {MIN_CLONE_SAMPLE_S:.0f} s of clear speech (10 s or more is better).")
    path = directory / "speaker.wav"
    save_wav(speech, path)
    return path


def speak(model: CoquiModel, text: str, speaker: str | None = None, language: str | None = None,
          speaker_wav: Path | None = None, length_scale: float = 1.0,
          voice_dir: Path | None = None) -> np.ndarray:
    """One utterance as float32 mono audio at model.sample_rate_hz (same text, same audio).

    With a speaker recording and a voice_dir, the voice Coqui derives from the recording (a
    d-vector, XTTS's conditioning latents) is kept there and reused by later utterances.
    """
    import torch

    settings: dict = {"speaker": speaker}
    if speaker_wav is not None:
        # Cached under a fixed name in voice_dir (a temporary folder), never in the model folder.
        cached = voice_dir is not None and (voice_dir / f"{REFERENCE_VOICE}.pth").is_file()
        settings = {"speaker": REFERENCE_VOICE if voice_dir is not None else None,
                    "speaker_wav": None if cached else str(speaker_wav), "voice_dir": voice_dir}
    if model.model_type == "xtts":
        settings["speed"] = 1.0 / length_scale
    elif hasattr(model.tts, "length_scale"):
        model.tts.length_scale = model.length_scale * length_scale
    with torch.random.fork_rng(), torch.inference_mode():
        torch.manual_seed(NOISE_SEED)
        out = model.tts.synthesize(text=text, language=language, use_griffin_lim=True, **settings)
    wav = out["wav"]
    wav = wav.detach().cpu().numpy() if hasattr(wav, "detach") else np.asarray(wav)
    return np.clip(wav.astype(np.float32).reshape(-1), -1.0, 1.0)


def _spoken(units: list[Unit], lexicon) -> str:
    from pipeline.speech.synth import _spoken_form

    return " ".join(_spoken_form(u, lexicon) for u in units)


def synthesize(sentences: list[str], voice, progress: Progress = SILENT) -> Speech:
    """Speak prepared sentences with a coqui voice; the Speech has no phones or word spans.

    Markup as for Piper voices: [pause]s are silence of the length asked (plus the model's own
    edge silence), emphasized words their own utterance, slower and louder; overrides and the
    lexicon change what is said. At -14 LUFS, peaks under -1 dBTP.
    """
    from pipeline.speech.synth import _runs

    model: CoquiModel = voice.model
    p = voice.profile
    rate = model.sample_rate_hz
    pieces: list[np.ndarray] = []
    # Silence before the next utterance: (seconds, exact). A [pause] replaces a sentence pause
    # and pauses in a row count once, at the longest, as for Piper voices.
    gap: tuple[float, bool] | None = (EDGE_SILENCE_S, False)

    def silence(seconds: float) -> np.ndarray:
        return np.zeros(int(round(seconds * rate)), dtype=np.float32)

    with tempfile.TemporaryDirectory(prefix="coqui-") as tmp:
        reference = _reference_wav(speaker_wav_path(p.speaker_wav, p.path), Path(tmp)) if p.speaker_wav \
            else None
        for n, sentence in enumerate(progress.iterate(sentences, desc="speech", total=len(sentences),
                                                      unit="sentence")):
            items = parse(sentence)
            if not items:
                continue
            if n and not isinstance(items[0], Pause) and gap is None:
                gap = (p.sentence_pause_s, False)
            runs = _runs(items)
            for k, run in enumerate(runs):
                if isinstance(run, Pause):
                    gap = (max(run.seconds, gap[0] if gap and gap[1] else 0.0), True)
                    continue
                text = _spoken(run, voice.lexicon)
                if not all(isinstance(r, Pause) for r in runs[k + 1:]) and not re.search(r"[.,;:!?]$", text):
                    text += ","  # continuation intonation where the sentence goes on
                if not SPEAKABLE.search(text):
                    continue
                scale = p.length_scale / run[0].speed * (EMPHASIS_LENGTH if run[0].emphasis else 1.0)
                audio = speak(model, text, None if p.speaker is None else str(p.speaker), p.language,
                              reference, scale, Path(tmp))
                if run[0].emphasis:
                    audio = audio * np.float32(10.0 ** (EMPHASIS_GAIN_DB / 20.0))
                if gap is not None:
                    pieces.append(silence(gap[0]))
                    gap = None
                pieces.append(audio)
    if gap is not None and gap[1]:
        pieces.append(silence(gap[0]))
    pieces.append(silence(EDGE_SILENCE_S))
    audio = normalize_loudness(np.concatenate(pieces), rate)
    return Speech(audio=audio, sample_rate_hz=rate,
                  text=" ".join(filter(None, (display_text(s) for s in sentences))))
