"""The public Python API: `render(...)` runs every stage of DESIGN.md in order."""

from __future__ import annotations

import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.config import RenderConfig
from pipeline.errors import InputError, ScriptError
from pipeline.progress import Progress
from pipeline.timebase import frame_count
from pipeline.types import PhotoIssue, Speech, Timing

log = logging.getLogger(__name__)

IDLE_RATE_HZ = 16_000   # the silent track of a clip without speech


@dataclass
class RenderResult:
    video_path: Path
    srt_path: Path | None
    vtt_path: Path | None
    duration_s: float
    n_frames: int
    fps: float
    timing: Timing
    warnings: list[PhotoIssue] = field(default_factory=list)
    stage_s: dict[str, float] = field(default_factory=dict)  # wall time per stage


@contextmanager
def _timed(stage_s: dict[str, float], name: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        stage_s[name] = stage_s.get(name, 0.0) + time.perf_counter() - start


def read_script(path: str | os.PathLike) -> str:
    """The text of a script file, with a clear error for the usual mistakes."""
    p = Path(path)
    if not p.exists():
        raise ScriptError(f"Script file not found: {p}. Check the path, or pass the text with --text.")
    if p.is_dir():
        raise ScriptError(f"{p} is a folder, not a script. Pass a .txt file with the words to speak.")
    raw = p.read_bytes()
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ScriptError(
        f"{p} is not a text file (it is not UTF-8 text). Save the script as plain UTF-8 text."
    )


def fit_audio(speech: Speech, n_frames: int, fps: float) -> np.ndarray:
    """Pad or trim the audio to exactly n_frames/fps so audio and video end together."""
    n_samples = int(round(n_frames / fps * speech.sample_rate_hz))
    audio = speech.audio[:n_samples]
    if len(audio) < n_samples:
        audio = np.pad(audio, (0, n_samples - len(audio)))
    return audio.astype(np.float32)


def _mouth_track(driver: str, spoken: Speech, times: Timing, duration_s: float, fps: float):
    from pipeline import mouth
    from pipeline.mouth import net

    if driver == "envelope":
        return mouth.from_envelope(spoken.audio, spoken.sample_rate_hz, duration_s, fps)
    rules = mouth.track(times.phones, duration_s, fps)
    if driver == "rules":
        return rules
    learned = net.track_from_audio(spoken.audio, spoken.sample_rate_hz, duration_s, fps)
    return learned if driver == "net" else net.fuse(learned, rules)


def _with_lexicon(voice, lexicon_path: str | None):
    """The voice with a render's own lexicon on top of its profile's (the render's entries win)."""
    import dataclasses

    from pipeline.speech.voices import read_lexicon

    if not lexicon_path:
        return voice
    if not Path(lexicon_path).is_file():
        raise InputError(f"Lexicon file not found: {lexicon_path}. Check the path given to --lexicon "
                         "(a YAML file of `word: how to say it` lines).")
    return dataclasses.replace(voice, lexicon={**voice.lexicon, **read_lexicon(lexicon_path)})


def _sidecar_paths(out: Path) -> tuple[Path, Path]:
    return out.with_suffix(".srt"), out.with_suffix(".vtt")


def _render_key(photo, script: str | None, audio, config: RenderConfig, out: Path) -> str:
    """Names the work folder: everything the pixels and the sound are made from."""
    import dataclasses

    from pipeline.batch.hashing import code_version, file_sha256
    from pipeline.video import chunks

    if isinstance(photo, np.ndarray):
        photo_id = chunks.fingerprint(np.ascontiguousarray(photo))
    else:
        photo_id = file_sha256(photo)
    return chunks.render_key({
        "out": out.name,
        "photo": photo_id,
        "script": script,
        "lexicon": file_sha256(config.lexicon) if config.lexicon and Path(config.lexicon).is_file()
        else None,
        "audio": file_sha256(audio) if audio is not None else None,
        "config": dataclasses.asdict(dataclasses.replace(config, quiet=False)),
        "code": code_version(),
    })


def _encode_chunks(renderer_factory, mouth_values: np.ndarray, motion_values: np.ndarray,
                   todo: list, work_dir: Path, fps: float, width_px: int, height_px: int,
                   ass_path: Path | None, crf: int, preset: str, progress: Progress) -> None:
    """Render and encode the chunks not yet finished, each to its own segment in work_dir."""
    from itertools import islice

    from pipeline import video

    if not todo:
        return
    renderer = renderer_factory()
    indices = (i for c in todo for i in range(c.start_frame, c.start_frame + c.n_frames))
    frame_iter = progress.iterate(
        (renderer.render_frame_i420(mouth_values[i], motion_values[i]) for i in indices),
        desc="render", total=sum(c.n_frames for c in todo), unit="frame",
    )
    try:
        for c in todo:
            video.encode_segment(
                islice(frame_iter, c.n_frames), c.n_frames, work_dir / c.name, fps=fps,
                width_px=width_px, height_px=height_px, ass_path=ass_path,
                offset_s=c.offset_s(fps), crf=crf, preset=preset,
                # Frames arrive as BT.709 I420: only the head is converted per frame, and
                # ffmpeg has no RGB to convert (13 % less CPU per frame in all).
                pix_fmt="yuv420p",
            )
    finally:
        frame_iter.close()   # the progress bar ends here, not whenever the generator is collected


def render(
    photo: str | os.PathLike | np.ndarray,
    out: str | os.PathLike,
    *,
    script: str | None = None,
    audio: str | os.PathLike | None = None,
    config: RenderConfig | None = None,
    progress: Progress | None = None,
    resume: bool = False,
) -> RenderResult:
    """Render a talking video of the face in `photo` saying `script` (or the `audio` recording).

    With `audio`, `script` is optional: it is the transcript and keeps captions exact.
    Raises an `InputError` subclass for input that cannot be used; nothing is written then.

    The video is encoded in chunks kept in a hidden work folder beside `out`
    (`.avatar-<hash>`), joined and moved onto `out` only when all are done. An interrupted
    render keeps its finished chunks there; `resume=True` with the same inputs and settings
    reuses them. Without `resume` a left-over work folder is started afresh.
    """
    # Stages import lazily so `avatar --help` and `avatar check` stay fast.
    from pipeline import face, motion, speech, text, timing, video
    from pipeline.animate.renderer import Renderer
    from pipeline.video import chunks
    from pipeline.video.layout import plan_layout

    config = (config or RenderConfig()).validate()
    progress = progress or Progress(quiet=config.quiet)
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise InputError(f"Output {out} must end in .mp4 (for example --out video.mp4).")
    idle_s = config.duration_s if script is None and audio is None else None
    if script is None and audio is None and idle_s is None:
        raise ScriptError("Nothing to say: give a script file, --text \"...\", or --audio NARRATION.wav "
                          "(or --duration SECONDS for a clip without speech).")
    video.check_writable(out)

    stage_s: dict[str, float] = {}
    # Cheap checks first, so bad input fails before any slow work.
    with _timed(stage_s, "input"):
        sentences = text.prepare_script(script, max_chars=config.max_script_chars) if script else None
        spoken = speech.load_audio(audio, max_duration_s=config.max_audio_s) if audio else None
    with _timed(stage_s, "face"):
        portrait = face.analyze(photo, face_index=config.face_index)
    for issue in portrait.report.warnings:
        log.warning(issue.message)

    with _timed(stage_s, "speech"):
        if idle_s is not None:
            # No speech: a silent track keeps players and platforms that expect audio happy.
            spoken = Speech(np.zeros(int(round(idle_s * IDLE_RATE_HZ)), np.float32), IDLE_RATE_HZ)
        elif spoken is None:
            voice = _with_lexicon(speech.load_voice(config.voice), config.lexicon)
            spoken = speech.synthesize(sentences, voice, progress=progress)
    script_words = [w for s in sentences for w in text.words_of(s)] if sentences else None
    with _timed(stage_s, "timing"):
        if idle_s is not None:
            times = Timing(words=[], phones=[])
        else:
            times = timing.align(spoken, script_words, progress=progress)

    fps = config.video.fps
    n_frames = max(1, frame_count(spoken.duration_s, fps))
    duration_s = n_frames / fps
    tracks_start = time.perf_counter()
    mouth_track = _mouth_track(config.mouth, spoken, times, duration_s, fps)
    # Nods and brow raises follow the pitch accents of the speech itself.
    motion_track = motion.idle(
        duration_s, fps, seed=config.motion.seed, words=times.words,
        sentences=times.sentences, style=config.motion.style,
        audio=spoken.audio if idle_s is None else None, sample_rate_hz=spoken.sample_rate_hz,
        scale=config.motion.scale, loop=config.motion.loop,
    )
    width_px, height_px = config.video.size_px
    layout = plan_layout(portrait, width_px, height_px)
    phrases = video.phrases(
        times.words, min_words=config.captions.min_words, max_words=config.captions.max_words
    )
    stage_s["tracks+layout"] = time.perf_counter() - tracks_start

    srt_path, vtt_path = _sidecar_paths(out)
    sidecars = config.captions.sidecars and idle_s is None   # no words, no caption files
    samples = np.ascontiguousarray(spoken.audio, dtype=np.float32)
    mouth_values = np.ascontiguousarray(mouth_track.values[:n_frames], dtype=np.float32)
    motion_values = np.ascontiguousarray(motion_track.values[:n_frames], dtype=np.float32)
    if len(mouth_values) < n_frames or len(motion_values) < n_frames:
        raise ValueError(f"tracks have {len(mouth_values)} and {len(motion_values)} frames, "
                         f"{n_frames} needed")
    key = _render_key(photo, script, audio, config, out)
    caption_text = "\n".join(f"{p}" for p in phrases) if config.captions.enabled else ""
    stamp = chunks.fingerprint(
        samples, mouth_values, motion_values, np.frombuffer(caption_text.encode(), np.uint8),
        np.array([spoken.sample_rate_hz, n_frames, width_px, height_px], np.float64),
    )
    # The work folder sits beside the output so the final moves are renames on one file system.
    work_dir = chunks.open_work_dir(out, key, stamp, resume)
    audio_job = None
    try:
        ass_path = None
        if config.captions.enabled and phrases:
            ass_path = work_dir / "captions.ass"
            video.write_ass(phrases, ass_path, width_px, height_px, layout.caption_box_px)
        # Sidecars are written in the work folder and moved beside the video only after it is done.
        if sidecars:
            video.write_srt(phrases, work_dir / "captions.srt")
            video.write_vtt(phrases, work_dir / "captions.vtt")
        audio_path = work_dir / "audio.m4a"
        if not audio_path.is_file():
            # Raw samples straight from the array (no copy); ffmpeg encodes them while we render.
            raw_path = work_dir / "speech.f32"
            samples.tofile(raw_path)
            audio_job = video.AudioEncode(raw_path, audio_path, n_frames, fps,
                                          sample_rate_hz=spoken.sample_rate_hz)
        plan = chunks.plan_chunks(n_frames, fps)
        todo = list(chunks.remaining(work_dir, plan))
        if len(todo) < len(plan):
            log.info("resuming: %d of %d chunks already rendered", len(plan) - len(todo), len(plan))
        with _timed(stage_s, "render+encode"):
            _encode_chunks(
                lambda: Renderer(portrait, layout, tuple(mouth_track.names), tuple(motion_track.names)),
                mouth_values, motion_values, todo, work_dir, fps, width_px, height_px, ass_path,
                config.video.crf, config.video.preset, progress,
            )
            if audio_job is not None:
                audio_job.finish()
                audio_job = None
                (work_dir / "speech.f32").unlink(missing_ok=True)
            video.concat_mux([work_dir / c.name for c in plan], audio_path, out,
                             work_dir / "segments.txt")
        if sidecars:
            os.replace(work_dir / "captions.srt", srt_path)
            os.replace(work_dir / "captions.vtt", vtt_path)
    except KeyboardInterrupt:
        if audio_job is not None:
            audio_job.cancel()
        # Finished chunks are worth keeping for --resume; a folder without any is not.
        if not chunks.has_finished_chunks(work_dir):
            shutil.rmtree(work_dir, ignore_errors=True)
        raise
    except BaseException:
        if audio_job is not None:
            audio_job.cancel()
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    shutil.rmtree(work_dir, ignore_errors=True)
    return RenderResult(
        video_path=out,
        srt_path=srt_path if sidecars else None,
        vtt_path=vtt_path if sidecars else None,
        duration_s=duration_s,
        n_frames=n_frames,
        fps=fps,
        timing=times,
        warnings=portrait.report.warnings,
        stage_s=stage_s,
    )
