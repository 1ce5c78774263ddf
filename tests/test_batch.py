"""Batch rendering on real renders (tiny ones): skip unchanged items, resume after a kill,
bad items fail alone, names cannot leave the output folder, Ray writes what the local executor writes."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.batch import DONE, FAILED, REPORT_NAME, SKIPPED, resolve_items, run_batch
from pipeline.batch.hashing import item_hash
from pipeline.batch.item import read_record
from pipeline.batch.manifest import BatchItem, ItemProblem, safe_output
from pipeline.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, InputError
from pipeline.video.probe import probe

from conftest import EXAMPLES

CODE = "test-code-1"          # a fixed code version, so edits elsewhere in the tree cannot flake a rerun
DEFAULTS = 'defaults: {photo: selfie.png, aspect: "1:1", fps: 15, preset: draft}\n'
MANIFEST = DEFAULTS + """items:
  - script: one.txt
  - script: two.txt
  - {name: three, audio: three.wav, text: "Audio item here."}
"""
NAMES = ("one", "two", "three")
KILL_WAIT_S = 300


def quiet(_line: str) -> None:
    pass


def mtimes(out_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(out_dir.iterdir()) if p.name != REPORT_NAME}


def leftovers(out_dir: Path) -> list[Path]:
    return [p for p in out_dir.rglob(".*") if p.name != ".batch-lock"]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """Three tiny lessons: two scripts for TTS and one narration recording with its transcript."""
    from pipeline import speech, text

    root = tmp_path_factory.mktemp("course")
    shutil.copy(EXAMPLES / "selfie.png", root / "selfie.png")
    (root / "one.txt").write_text("Hello from lesson one.")
    (root / "two.txt").write_text("Lesson two is short.")
    spoken = speech.synthesize(text.prepare_script("Audio item here."), speech.load_voice("joe"))
    speech.save_wav(spoken, root / "three.wav")
    (root / "course.yaml").write_text(MANIFEST)
    return root


@pytest.fixture(scope="module")
def first_run(course):
    """The course rendered once, in this process, with the model caches watched."""
    from pipeline.speech.voices import _load_piper
    from pipeline.timing.whisper import load_model

    before = _load_piper.cache_info(), load_model.cache_info()
    report = run_batch(course / "course.yaml", course / "out", code=CODE, echo=quiet)
    after = _load_piper.cache_info(), load_model.cache_info()
    return report, before, after


def test_batch_renders_every_item_and_loads_tts_once(course, first_run):
    report, before, after = first_run
    assert [r.status for r in report.items] == [DONE] * 3, [r.reason for r in report.items]
    assert report.exit_code == 0
    out = course / "out"
    for name in NAMES:
        info = probe(out / f"{name}.mp4")
        assert (info.width, info.height, info.fps) == (1080, 1080, 15)
        recorded_s = read_record(out / f"{name}.mp4")["duration_s"]
        assert recorded_s == pytest.approx(info.video_duration_s, abs=0.07)
        assert (out / f"{name}.srt").is_file() and (out / f"{name}.vtt").is_file()
    saved = json.loads((out / REPORT_NAME).read_text())
    assert saved["counts"] == {"done": 3, "skipped": 0, "failed": 0}
    # Piper is loaded at most once for the two TTS items (the fixture may already have loaded it),
    # and Whisper at most once in the process.
    (piper_before, whisper_before), (piper_after, whisper_after) = before, after
    assert piper_after.misses - piper_before.misses <= 1
    assert (piper_after.hits + piper_after.misses) - (piper_before.hits + piper_before.misses) >= 2
    assert whisper_after.misses - whisper_before.misses <= 1
    assert not leftovers(out)


def test_rerun_skips_unchanged_items_without_touching_them(course, first_run):
    out = course / "out"
    times = mtimes(out)
    report = run_batch(course / "course.yaml", out, code=CODE, echo=quiet)
    assert [r.status for r in report.items] == [SKIPPED] * 3
    assert mtimes(out) == times


def test_changed_script_rerenders_only_its_item(course, first_run, tmp_path):
    # A moved copy of the course: hashes are of contents, not paths, so it is still done.
    moved = tmp_path / "moved"
    shutil.copytree(course, moved)
    times = mtimes(moved / "out")
    (moved / "two.txt").write_text("Lesson two has new words.")
    report = run_batch(moved / "course.yaml", moved / "out", code=CODE, echo=quiet)
    assert {r.name: r.status for r in report.items} == {"one": SKIPPED, "two": DONE, "three": SKIPPED}
    after = mtimes(moved / "out")
    for name in ("one.mp4", "one.mp4.json", "three.mp4", "three.mp4.json"):
        assert after[name] == times[name]
    assert after["two.mp4"] != times["two.mp4"]


def test_hash_follows_contents_settings_and_code(course):
    item = next(i for i in resolve_items(course / "course.yaml", course / "out") if i.name == "one")
    base = item_hash(item, CODE)
    assert item_hash(item, CODE) == base
    assert item_hash(item, "another-code") != base
    other_seed = resolve_items_with(course, "  - {script: one.txt, seed: 7}\n")
    assert item_hash(other_seed, CODE) != base


def test_a_lexicon_is_read_beside_the_manifest_and_its_words_count_in_the_hash(course):
    lexicon = course / "words.yaml"
    lexicon.write_text("SQL: sequel\n")
    item = resolve_items_with(course, "  - {script: one.txt, lexicon: words.yaml, motion_scale: 0.5}\n")
    assert Path(item.config.lexicon) == lexicon and item.config.motion.scale == 0.5
    before = item_hash(item, CODE)
    lexicon.write_text("SQL: ess cue ell\n")
    assert item_hash(item, CODE) != before


def resolve_items_with(course: Path, item_line: str) -> BatchItem:
    manifest = course / "variant.yaml"
    manifest.write_text(DEFAULTS + "items:\n" + item_line)
    (item,) = resolve_items(manifest, course / "out")
    assert isinstance(item, BatchItem), item
    return item


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_killed_batch_resumes_without_redoing_finished_items(course, tmp_path, sig):
    work = tmp_path / "course"
    shutil.copytree(course, work, ignore=shutil.ignore_patterns("out"))
    out = work / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "batch", str(work / "course.yaml"), "--out-dir", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + KILL_WAIT_S
    try:
        while not (out / "one.mp4.json").exists():
            assert proc.poll() is None, f"batch ended before it was killed:\n{proc.stdout.read()}"
            assert time.monotonic() < deadline, "the first item did not finish in time"
            time.sleep(0.05)
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert not (out / "two.mp4.json").exists(), "killed too late: the second item had finished"
    if sig == signal.SIGINT:
        # Ctrl-C: the running render cleans up after itself and the report says what is left.
        assert proc.returncode == EXIT_INTERRUPTED, output
        assert not leftovers(out), leftovers(out)
        status = {r["name"]: r["status"] for r in json.loads((out / REPORT_NAME).read_text())["items"]}
        assert status == {"one": DONE, "two": "interrupted", "three": "interrupted"}
    first_mtime = (out / "one.mp4").stat().st_mtime_ns
    # The rerun uses the code version the killed run recorded.
    code = read_record(out / "one.mp4")["code"]
    report = run_batch(work / "course.yaml", out, code=code, echo=quiet)
    assert {r.name: r.status for r in report.items} == {"one": SKIPPED, "two": DONE, "three": DONE}
    assert (out / "one.mp4").stat().st_mtime_ns == first_mtime
    assert not leftovers(out), leftovers(out)


def test_bad_items_fail_alone_with_reasons(course, tmp_path):
    from pipeline.cli import main

    work = tmp_path / "course"
    work.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    out = work / "out"
    out.mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    shutil.copy(course / "selfie.png", work / "selfie.png")
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(work / "wall.png")
    (work / "blank.txt").write_text("  \n")
    (work / "course.yaml").write_text(DEFAULTS + """items:
  - {name: good, text: "Still rendered."}
  - {name: noface, text: "No face here.", photo: wall.png}
  - {name: blank, script: blank.txt}
  - {name: missing, script: nowhere.txt}
  - {name: typo, txt: "Misspelt field."}
  - {name: ../escape, text: "Up and out."}
  - {name: /tmp/absolute, text: "Absolute."}
  - {name: link/through, text: "Through a link."}
  - {name: good, text: "Same name again."}
  - {name: slow, text: "Bad frame rate.", fps: 1000}
""")
    # Two worker processes: failures come back from the pool like from this process.
    code = main(["batch", str(work / "course.yaml"), "--out-dir", str(out), "--jobs", "2"])
    assert code == EXIT_BAD_INPUT
    report = json.loads((out / REPORT_NAME).read_text())
    first, *rest = report["items"]
    assert (first["name"], first["status"]) == ("good", DONE)
    assert all(r["status"] == FAILED for r in rest)
    reason = {r["name"]: r["reason"].lower() for r in rest}
    assert report["counts"] == {"done": 1, "skipped": 0, "failed": 9}
    assert "face" in reason["noface"]
    assert "empty" in reason["blank"]
    assert "not found" in reason["missing"]
    assert "unknown field" in reason["typo"]
    assert "not allowed" in reason["../escape"]
    assert "absolute" in reason["/tmp/absolute"]
    assert "link" in reason["link/through"]
    assert "frame rate" in reason["slow"]
    assert "already used" in reason["good"]
    assert list(outside.iterdir()) == []
    assert (out / "good.mp4").is_file()


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/x", "~/x", "a\\b", "", "a//b", ".", "x/.."])
def test_names_that_could_leave_the_output_folder_are_rejected(tmp_path, name):
    with pytest.raises(InputError):
        safe_output(tmp_path, name)


def test_plain_names_and_subfolders_stay_inside(tmp_path):
    assert safe_output(tmp_path, "unit 1/lesson_01.mp4") == (tmp_path / "unit 1" / "lesson_01.mp4").resolve()
    (tmp_path / "target.mp4").symlink_to("/tmp/elsewhere.mp4")
    with pytest.raises(InputError, match="link"):
        safe_output(tmp_path, "target")


def test_csv_manifest_with_defaults_from_the_command_line(tmp_path):
    (tmp_path / "lessons.csv").write_text(
        "name,script,text,style,fps,captions\n"
        "intro,,Hello there.,calm,,\n"
        ",lesson_2.txt,,,24,no\n"
        "bad,,Hi,,fast,\n"
        ",unit 1/01 intro (v2).txt,,,,\n"
    )
    items = resolve_items(tmp_path / "lessons.csv", tmp_path / "out", {"photo": "me.jpg", "fps": 15})
    intro, lesson, bad, derived = items
    assert isinstance(intro, BatchItem) and isinstance(lesson, BatchItem)
    assert (intro.name, intro.text, intro.config.motion.style, intro.config.video.fps) == \
        ("intro", "Hello there.", "calm", 15)
    assert intro.photo == tmp_path / "me.jpg"
    assert (lesson.name, lesson.script, lesson.config.video.fps) == \
        ("lesson_2", tmp_path / "lesson_2.txt", 24)
    assert lesson.config.captions.enabled is False
    assert isinstance(bad, ItemProblem) and "number" in bad.reason
    assert isinstance(derived, BatchItem) and derived.name == "01 intro _v2_"


def test_ray_executor_writes_what_the_local_executor_writes(course, first_run, tmp_path):
    ray = pytest.importorskip("ray")
    work = tmp_path / "course"
    shutil.copytree(course, work, ignore=shutil.ignore_patterns("out"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = run_batch(work / "course.yaml", work / "out", executor="ray", code=CODE, echo=quiet)
    finally:
        ray.shutdown()
    assert [r.status for r in report.items] == [DONE] * 3, [r.reason for r in report.items]
    local, remote = course / "out", work / "out"
    assert sorted(p.name for p in remote.iterdir()) == sorted(p.name for p in local.iterdir())
    for name in NAMES:
        local_s = probe(local / f"{name}.mp4").video_duration_s
        remote_s = probe(remote / f"{name}.mp4").video_duration_s
        # The recorded narration gives identical lengths; Piper's random durations differ a little.
        tolerance_s = 1e-3 if name == "three" else 0.5
        assert remote_s == pytest.approx(local_s, abs=tolerance_s)
    assert not leftovers(remote)


def test_a_manifest_item_can_ask_for_a_seamless_loop(tmp_path):
    from pipeline.batch.manifest import config_of

    shutil.copy(EXAMPLES / "selfie.png", tmp_path / "selfie.png")
    (tmp_path / "loops.yaml").write_text(DEFAULTS + """items:
  - {name: looped, text: "Round and round.", loop: true}
  - {name: plain, text: "Round and round."}
  - {name: worded, text: "Round again.", loop: "yes"}
  - {name: unsure, text: "Maybe.", loop: sometimes}
""")
    looped, plain, worded, unsure = resolve_items(tmp_path / "loops.yaml", tmp_path / "out")
    assert isinstance(looped, BatchItem) and looped.config.motion.loop is True
    assert isinstance(plain, BatchItem) and plain.config.motion.loop is False
    assert isinstance(worded, BatchItem) and worded.config.motion.loop is True
    assert isinstance(unsure, ItemProblem)
    assert "`loop: sometimes`" in unsure.reason and "true or false" in unsure.reason
    # Same words and photo: only the loop differs, and a rerun must see that as a change.
    assert item_hash(looped, CODE) != item_hash(plain, CODE)
    with pytest.raises(InputError, match=r"`loop: sometimes`.*true or false"):
        config_of({"loop": "sometimes"})
    # A loop for every item from the defaults; a CSV cell is parsed like `captions`.
    (tmp_path / "loops.csv").write_text("name,text,loop\nall,Hi.,\nnone,Hi.,no\n")
    everything, none = resolve_items(tmp_path / "loops.csv", tmp_path / "out",
                                     {"photo": "selfie.png", "loop": True})
    assert everything.config.motion.loop is True and none.config.motion.loop is False


@pytest.mark.parametrize("flags,fields", [
    ([], {}),
    (["--voice", "joe", "--aspect", "16:9", "--fps", "24", "--seed", "7", "--style", "expressive",
      "--motion-scale", "0.4", "--loop", "--mouth", "envelope", "--face", "1", "--preset", "quality",
      "--no-captions", "--lexicon", "words.yaml"],
     {"voice": "joe", "aspect": "16:9", "fps": 24, "seed": 7, "style": "expressive", "motion_scale": 0.4,
      "loop": True, "mouth": "envelope", "face": 1, "preset": "quality", "captions": False,
      "lexicon": "words.yaml"}),
])
def test_a_manifest_item_renders_like_the_same_flags(flags, fields):
    """A manifest's fields are the render flags without dashes, defaulted the same: the two
    mappings to a RenderConfig (the CLI's from argparse, config_of for manifests and the
    studio) must not drift apart."""
    import dataclasses

    from pipeline.batch.manifest import config_of
    from pipeline.cli import _build_parser, _config_from_args

    argv = ["render", "--text", "Hi.", "--photo", "p.png", "--out", "o.mp4", *flags]
    args = _build_parser().parse_args(argv)
    assert dataclasses.replace(_config_from_args(args), quiet=True) == config_of(fields)


def test_a_range_error_names_the_setting_as_the_user_wrote_it():
    """Out-of-range values say which setting to change in the words of where they came from:
    a manifest or the studio has `motion_scale`, the command line has --motion-scale."""
    from pipeline.batch.manifest import config_of
    from pipeline.config import MotionConfig, RenderConfig, VideoConfig

    for fields, name in (({"fps": 500}, "fps"), ({"motion_scale": 9}, "motion_scale")):
        with pytest.raises(InputError, match=rf"Use {name} between") as caught:
            config_of(fields)
        assert "--" not in str(caught.value)
    with pytest.raises(InputError, match="Use --fps between"):
        RenderConfig(video=VideoConfig(fps=500)).validate()
    with pytest.raises(InputError, match="Use --motion-scale between"):
        RenderConfig(motion=MotionConfig(scale=9)).validate()
