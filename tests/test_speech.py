from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import AudioError, InputError
from pipeline.speech import list_voices, load_audio, load_voice, save_wav, synthesize
from pipeline.speech.loudness import TARGET_LUFS, loudness_lufs, normalize_loudness, true_peak_dbtp
from pipeline.speech.phones import COMBINED, SINGLE, fold, known_symbols
from pipeline.speech.voices import model_files
from pipeline.text import prepare_script, words_of
from pipeline.text.tags import PARAGRAPH_PAUSE_S
from pipeline.types import PHONES, SILENCE, Speech

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


@pytest.fixture(scope="module")
def voice():
    return load_voice("joe")


@pytest.fixture(scope="module")
def bob(voice):
    return synthesize(["Bob met Pam."], voice)


def test_list_voices_includes_joe():
    joe = {p.name: p for p in list_voices()}["joe"]
    assert joe.engine == "piper" and joe.description


def test_unknown_voice_lists_available():
    with pytest.raises(InputError, match="joe"):
        load_voice("nobody")


def test_phone_table_covers_the_voice():
    import json

    _, config = model_files(load_voice("joe").profile)
    symbols = json.loads(config.read_text())["phoneme_id_map"]
    assert set(symbols) <= known_symbols()
    assert set(SINGLE.values()) | set(COMBINED.values()) <= set(PHONES)


def test_fold_merges_marks_diphthongs_and_spaces():
    # "my chair": m ˈa ɪ | t ʃ ˈɛ ɹ . with Piper-like sample counts
    pairs = [("^", 100), ("m", 50), ("ˈ", 30), ("a", 40), ("ɪ", 40), (" ", 20), ("t", 25), ("ʃ", 25),
             ("ˈ", 10), ("ɛ", 40), ("ː", 10), ("ɹ", 30), (".", 60), ("$", 10)]
    segments = fold(pairs, 22050)
    assert [s.label for s in segments] == [SILENCE, "M", "AY", "CH", "EH", "R", SILENCE]
    assert [s.samples for s in segments] == [100, 50, 30 + 40 + 40 + 10, 10 + 25 + 25, 10 + 40 + 10, 30, 70]
    assert sum(s.samples for s in segments) == sum(n for _, n in pairs)
    assert [s.word for s in segments if s.label != SILENCE] == [0, 0, 1, 1, 1]


def test_fold_unknown_symbol_does_not_crash(caplog):
    segments = fold([("b", 10), ("☃", 10), ("b", 10)], 22050)
    assert sum(s.samples for s in segments) == 30
    assert "Unknown phoneme" in caplog.text


def test_synthesized_phones_cover_the_audio_exactly(bob):
    assert bob.sample_rate_hz == 22050
    assert 0.6 < bob.duration_s < 3.0
    assert np.max(np.abs(bob.audio)) > 0.3
    phones = bob.phones
    assert phones[0].start_s == 0.0
    assert abs(phones[-1].end_s - bob.duration_s) < 1.0 / bob.sample_rate_hz
    assert all(a.end_s == b.start_s for a, b in zip(phones, phones[1:], strict=False))
    assert all(p.duration_s > 0 for p in phones)
    assert all(p.label in PHONES for p in phones)
    labels = [p.label for p in phones if p.label != SILENCE]
    assert labels == ["B", "AA", "B", "M", "EH", "T", "P", "AE", "M"]
    assert phones[0].label == SILENCE and phones[-1].label == SILENCE


def test_closed_lip_phones_are_quiet_and_vowels_loud(bob):
    """P/B/M spans hold less energy than the vowels: the timing matches the audio."""
    rate = bob.sample_rate_hz

    def rms(p):
        seg = bob.audio[int(p.start_s * rate):int(p.end_s * rate)]
        return float(np.sqrt(np.mean(seg ** 2)))

    closed = [rms(p) for p in bob.phones if p.label in ("P", "B", "M")]
    vowels = [rms(p) for p in bob.phones if p.label in ("AA", "EH", "AE")]
    silences = [rms(p) for p in bob.phones if p.label == SILENCE]
    assert np.median(closed) < np.median(vowels)
    assert max(silences) < min(vowels)


def test_words_match_caption_words(voice):
    sentences = prepare_script("Hello world, this is a test of the system. In 2024, I paid $3.50!")
    speech = synthesize(sentences, voice)
    caption = [w for s in sentences for w in words_of(s)]
    assert speech.text == " ".join(sentences)
    assert [w.text for w in speech.words] == caption
    assert all(w.start_s < w.end_s for w in speech.words)
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in zip(speech.words, speech.words[1:], strict=False))
    assert speech.words[-1].end_s <= speech.duration_s
    assert all(w.probability == 1.0 for w in speech.words)  # measured, not estimated
    # a pause sits between the two sentences
    gap = speech.words[9].start_s - speech.words[8].end_s
    assert gap > 0.2


def test_save_and_load_roundtrip(bob, tmp_path):
    path = save_wav(bob, tmp_path / "bob.wav")
    loaded = load_audio(path)
    assert loaded.sample_rate_hz == 22050
    assert loaded.text is None and loaded.phones is None
    assert abs(loaded.duration_s - bob.duration_s) < 0.01
    assert np.max(np.abs(loaded.audio - bob.audio[: len(loaded.audio)])) < 1e-3


def test_load_audio_resamples_other_formats(bob, tmp_path):
    import subprocess

    import imageio_ffmpeg

    wav = save_wav(bob, tmp_path / "bob.wav")
    flac = tmp_path / "bob.flac"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-ar", "44100",
                    "-ac", "2", str(flac)], check=True)
    loaded = load_audio(flac)
    assert loaded.sample_rate_hz == 22050 and loaded.audio.ndim == 1
    assert abs(loaded.duration_s - bob.duration_s) < 0.01


@pytest.mark.parametrize("kind, fragment", [
    ("missing", "not found"),
    ("empty", "empty"),
    ("corrupt", "Cannot read"),
    ("silent", "silent"),
    ("short", "long"),
])
def test_load_audio_errors(tmp_path, kind, fragment):
    path = tmp_path / "narration.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"RIFF not really a wave file" * 50)
    elif kind == "silent":
        save_wav(Speech(np.zeros(22050 * 2, dtype=np.float32), 22050), path)
    elif kind == "short":
        tone = 0.5 * np.sin(np.arange(2205) * 0.1).astype(np.float32)
        save_wav(Speech(tone, 22050), path)
    with pytest.raises(AudioError, match=fragment):
        load_audio(path)


def test_load_audio_too_long(tmp_path):
    tone = 0.5 * np.sin(np.arange(22050 * 3) * 0.1).astype(np.float32)
    path = save_wav(Speech(tone, 22050), tmp_path / "long.wav")
    with pytest.raises(AudioError, match="limit"):
        load_audio(path, max_duration_s=2.0)


def test_load_audio_reads_every_sample(tmp_path):
    # The decode streams into a preallocated buffer: no sample may be lost or moved.
    rng = np.random.default_rng(3)
    noise = (0.1 * rng.standard_normal(22050 * 4 + 123)).astype(np.float32)   # -17 LUFS: kept as is
    path = save_wav(Speech(noise, 22050), tmp_path / "noise.wav")
    loaded = load_audio(path)
    assert loaded.audio.size == noise.size
    assert np.max(np.abs(loaded.audio - np.clip(noise, -1, 1))) < 1.5 / 32767


def test_load_real_recording():
    path = EVAL / "speech" / "whisper_jfk.flac"
    if not path.exists():
        pytest.skip(f"evaluation data not present: {path}")
    speech = load_audio(path)
    assert 10.5 < speech.duration_s < 11.5
    assert speech.audio.dtype == np.float32


def _quiet_runs_s(speech, threshold_dbfs: float = -50.0) -> list[tuple[float, float]]:
    """(start_s, duration_s) of stretches whose 5 ms RMS stays under the threshold."""
    rate = speech.sample_rate_hz
    hop = int(0.005 * rate)
    rms = np.sqrt(np.convolve(speech.audio.astype(np.float64) ** 2, np.ones(hop) / hop, "same"))
    quiet = np.concatenate([[False], rms < 10 ** (threshold_dbfs / 20), [False]]).astype(int)
    edges = np.flatnonzero(np.diff(quiet))
    return [(a / rate, (b - a) / rate) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@pytest.mark.parametrize("asked_s", [1.0, 0.5])
def test_pause_markup_gives_that_much_silence(voice, asked_s):
    tag = f"[pause {asked_s:g}s]" if asked_s >= 1 else f"[pause {asked_s * 1000:g}ms]"
    speech = synthesize(prepare_script(f"Hello there. {tag} Next words here."), voice)
    assert [w.text for w in speech.words] == ["Hello", "there.", "Next", "words", "here."]
    between = (speech.words[1].end_s + speech.words[2].start_s) / 2
    gap = [p for p in speech.phones if p.label == SILENCE and p.start_s < between < p.end_s]
    assert len(gap) == 1 and abs(gap[0].duration_s - asked_s) < 0.05
    # The audio agrees: the quiet stretch there is as long as asked.
    heard = [d for s, d in _quiet_runs_s(speech) if s < gap[0].end_s and s + d > gap[0].start_s
             and d > 0.02]  # (a zero crossing of a fading phone is not a pause)
    assert len(heard) == 1 and abs(heard[0] - asked_s) < 0.05, heard
    words = speech.words
    assert abs((words[2].start_s - words[1].end_s) - asked_s) < 0.05


def test_paragraph_pause(voice):
    speech = synthesize(prepare_script("First part.\n\nSecond part."), voice)
    gap_s = speech.words[2].start_s - speech.words[1].end_s
    assert abs(gap_s - PARAGRAPH_PAUSE_S) < 0.05


def _word_phones(speech, index: int) -> list[str]:
    word = speech.words[index]
    return [p.label for p in speech.phones
            if p.label != SILENCE and word.start_s <= p.start_s < word.end_s]


def test_override_changes_phones_not_captions(voice):
    plain = synthesize(prepare_script("I say tomato."), voice)
    told = synthesize(prepare_script("I say {tomato|tomahto}."), voice)
    assert [w.text for w in told.words] == [w.text for w in plain.words] == ["I", "say", "tomato."]
    assert told.text == "I say tomato."
    assert _word_phones(plain, 2) != _word_phones(told, 2)
    assert "AA" in _word_phones(told, 2) and "EY" in _word_phones(plain, 2)


def test_lexicon_of_the_voice_changes_phones(voice, tmp_path):
    (tmp_path / "lexicon.yaml").write_text("tomato: tomahto\nSQL: sequel\n")
    profile = tmp_path / "joe_lex.yaml"
    profile.write_text((Path(voice.profile.path).read_text()) + "lexicon: lexicon.yaml\n")
    lexical = load_voice(str(profile))
    assert lexical.lexicon["sql"] == "sequel"
    said = synthesize(prepare_script("I say Tomato."), lexical)
    told = synthesize(prepare_script("I say {Tomato|tomahto}."), voice)
    assert [w.text for w in said.words] == ["I", "say", "Tomato."]
    assert _word_phones(said, 2) == _word_phones(told, 2)
    assert _word_phones(said, 2) != _word_phones(synthesize(["I say Tomato."], voice), 2)


def test_bad_lexicon_is_refused(tmp_path):
    from pipeline.speech.voices import read_lexicon

    path = tmp_path / "lex.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(InputError, match="mapping of word"):
        read_lexicon(path)


def _rms(speech, word) -> float:
    rate = speech.sample_rate_hz
    part = speech.audio[int(word.start_s * rate):int(word.end_s * rate)]
    return float(np.sqrt(np.mean(part.astype(np.float64) ** 2)))


def test_emphasis_is_slower_and_louder(voice):
    plain = synthesize(prepare_script("This is important today."), voice)
    stressed = synthesize(prepare_script("This is *important* today."), voice)
    assert [w.text for w in stressed.words] == [w.text for w in plain.words]
    word_plain, word_stressed = plain.words[2], stressed.words[2]
    assert word_stressed.end_s - word_stressed.start_s > 1.1 * (word_plain.end_s - word_plain.start_s)

    def contrast(speech):  # the word against the rest of the sentence (the whole is normalized)
        return _rms(speech, speech.words[2]) / np.mean([_rms(speech, w) for w in speech.words[:2]])
    assert contrast(stressed) > 1.2 * contrast(plain)


def test_speed_passage_is_faster(voice):
    text = "One two three four five six seven eight."
    plain = synthesize(prepare_script(text), voice)
    fast = synthesize(prepare_script(f"[speed 1.5]{text}[/speed]"), voice)
    span = lambda s: s.words[-1].end_s - s.words[0].start_s  # noqa: E731
    assert span(fast) < 0.8 * span(plain)
    assert [w.text for w in fast.words] == [w.text for w in plain.words]


def test_speech_is_at_minus_14_lufs_under_minus_1_dbtp(bob):
    assert abs(loudness_lufs(bob.audio, bob.sample_rate_hz) - TARGET_LUFS) < 0.5
    assert true_peak_dbtp(bob.audio) <= -1.0


def test_normalize_loudness_quiet_and_peaky_input():
    rate = 22050
    rng = np.random.default_rng(0)
    t = np.arange(3 * rate) / rate
    # Speech-like: a buzz whose level comes and goes, plus a few sharp clicks.
    audio = (0.02 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    audio += 0.002 * rng.standard_normal(audio.size).astype(np.float32)
    audio[[5000, 30000, 50000]] = 0.3
    before_lufs, before_tp = loudness_lufs(audio, rate), true_peak_dbtp(audio)
    out = normalize_loudness(audio, rate)
    assert before_lufs < -25 and abs(loudness_lufs(out, rate) - TARGET_LUFS) < 0.2
    assert true_peak_dbtp(out) <= -1.0 < before_tp + (TARGET_LUFS - before_lufs)


def test_narration_far_off_is_levelled_else_kept(bob, tmp_path):
    quiet = save_wav(Speech(bob.audio * 0.05, bob.sample_rate_hz), tmp_path / "quiet.wav")
    assert abs(loudness_lufs(load_audio(quiet).audio, 22050) - TARGET_LUFS) < 0.5
    fine = save_wav(Speech(bob.audio * 0.7, bob.sample_rate_hz), tmp_path / "fine.wav")
    kept = load_audio(fine)
    assert np.max(np.abs(kept.audio - bob.audio[: kept.audio.size] * 0.7)) < 1e-3


def test_loudness_survives_the_aac_encode(bob, tmp_path):
    import subprocess

    import imageio_ffmpeg

    from pipeline.video.probe import read_audio

    speech = synthesize(prepare_script("Loudness is measured after the encode, at forty eight kilohertz, "
                                       "as a viewer would hear it."), load_voice("joe"))
    wav = save_wav(speech, tmp_path / "s.wav")
    mp4 = tmp_path / "s.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", "aac",
                    "-b:a", "128k", "-ar", "48000", str(mp4)], check=True)
    heard = read_audio(mp4, sample_rate_hz=48000)
    assert abs(loudness_lufs(heard, 48000) - TARGET_LUFS) < 1.0
    assert true_peak_dbtp(heard) < -1.0


def test_tech_lexicon_reads(tmp_path):
    from pipeline.speech.voices import read_lexicon

    lexicon = read_lexicon(Path(__file__).resolve().parents[1] / "voices" / "lexicons" / "tech.yaml")
    assert lexicon["SQL"] == lexicon["sql"] == "sequel"


def test_cli_voices_show_and_say(tmp_path, capsys):
    from pipeline.cli import main

    assert main(["voices", "show", "joe"]) == 0
    shown = capsys.readouterr().out
    assert "length_scale: 1.0" in shown and ".onnx" in shown
    out = tmp_path / "hi.wav"
    assert main(["voices", "say", "joe", "Hi [pause 300ms] there.", "--out", str(out)]) == 0
    said = load_audio(out)
    assert 0.8 < said.duration_s < 3.0
    assert abs(loudness_lufs(said.audio, said.sample_rate_hz) - TARGET_LUFS) < 0.5
    assert main(["voices", "say", "joe", "Hi [pause there.", "--out", str(tmp_path / "x.wav")]) == 2
    assert "line 1" in capsys.readouterr().err and not (tmp_path / "x.wav").exists()
    assert main(["voices", "show", "nobody"]) == 2


def _lj() -> Path:
    path = EVAL / "speech" / "ljspeech_LJ001-0001.wav"
    if not path.exists():
        pytest.skip(f"evaluation data not present: {path}")
    return path


@pytest.mark.parametrize("kind, fragment", [("short", "at least 10 s"), ("clipped", "clipped"),
                                            ("noisy", "noisy")])
def test_clone_refuses_bad_samples(tmp_path, kind, fragment):
    from pipeline.speech.voices import clone_voice

    lj = _lj()
    samples = [lj] if kind == "short" else [lj, lj]
    if kind != "short":
        audio = load_audio(lj).audio
        rng = np.random.default_rng(0)
        audio = np.clip(audio * 8.0, -1, 1) if kind == "clipped" else \
            np.clip(audio + 0.05 * rng.standard_normal(audio.size).astype(np.float32), -1, 1)
        samples = [save_wav(Speech(audio, 22050), tmp_path / f"{kind}.wav")] * 2
    with pytest.raises(AudioError, match=fragment):
        clone_voice("someone", samples, voices_dir=tmp_path)
    assert not (tmp_path / "someone.yaml").exists()


def test_clone_moves_pitch_keeps_timing_and_words(tmp_path, voice):
    from pipeline.speech.clone import _analyze_frames, analyze, convert
    from pipeline.speech.voices import clone_voice
    lj = _lj()
    profile = clone_voice("lj", [lj, lj], voices_dir=tmp_path)
    clone = load_voice(str(profile))
    assert clone.profile.engine == "clone" and clone.conversion is not None
    target_hz = float(np.exp(analyze(load_audio(lj).audio, 22050).lf0_mean))

    text = ("We will meet at the library on Monday morning. Bring your notes and a pencil, and we will "
            "start the lesson on time.")
    base = synthesize(prepare_script(text), voice)
    cloned = convert(base.audio, base.sample_rate_hz, clone.conversion)
    assert cloned.size == base.audio.size  # frame for frame: the phone timing still holds

    def mean_f0(audio):
        f0, _, _ = _analyze_frames(audio, 22050)
        return float(np.exp(np.mean(np.log(f0[f0 > 0]))))
    assert abs(np.log(mean_f0(cloned) / target_hz)) < 0.5 * abs(np.log(mean_f0(base.audio) / target_hz))
    # Loud and quiet stretches stay where they were.
    hop = 441
    env = [np.sqrt(np.mean(a[: a.size // hop * hop].reshape(-1, hop) ** 2, axis=1))
           for a in (base.audio, cloned)]
    assert np.corrcoef(env[0], env[1])[0, 1] > 0.8

    spoken = synthesize(prepare_script(text), clone)
    assert spoken.phones is not None and abs(spoken.phones[-1].end_s - spoken.duration_s) < 1e-3
    assert _word_error_rate(text, spoken) <= 0.10


def _word_error_rate(text: str, speech) -> float:
    import difflib

    from pipeline.timing import transcribe

    expected = [w.strip(".,").lower() for w in text.split()]
    heard = [w.strip(".,!?").lower() for w in " ".join(w.text for w in transcribe(speech)).split()]
    matcher = difflib.SequenceMatcher(a=expected, b=heard, autojunk=False)
    return 1.0 - sum(block.size for block in matcher.get_matching_blocks()) / max(len(expected), len(heard))


def test_cli_voices_clone_refuses_short_sample(capsys):
    from pipeline.cli import main

    assert main(["voices", "clone", "shorty", str(_lj())]) == 2
    assert "at least 10 s" in capsys.readouterr().err
    assert main(["voices", "clone", "shorty"]) == 2
