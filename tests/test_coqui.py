"""Coqui TTS voices end to end, on tiny Coqui models built here (random weights, real Coqui code).

Random weights speak noise, not words, but everything around the words is real: the folder
loads through Coqui's own config and checkpoint code, the audio comes out at the model's
rate with durations from its duration predictor, a speaker recording steers a YourTTS-style
model through its speaker encoder, and the whole pipeline renders a video from it.
"""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.errors import InputError
from pipeline.types import Speech

from conftest import EXAMPLES

RATE_HZ = 16000
HOP = 256            # samples per model frame: the decoder upsamples 8 x 8 x 4
SE_DIMS = 16         # d-vector size of the tiny speaker encoder
needs_coqui = pytest.mark.skipif(importlib.util.find_spec("TTS") is None,
                                 reason="the coqui extra is not installed (make coqui)")


def _vits_config(**model_args):
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig

    args = VitsArgs(
        hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_layers_text_encoder=1,
        num_layers_posterior_encoder=1, num_layers_flow=1, out_channels=HOP // 2 + 1,
        resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_rates_decoder=[8, 8, 4], upsample_kernel_sizes_decoder=[16, 16, 8],
        upsample_initial_channel_decoder=32, use_sdp=False, init_discriminator=False, **model_args,
    )
    # Letters in, no phonemizer: nothing to download, no espeak needed.
    characters = CharactersConfig(
        characters_class="TTS.tts.models.vits.VitsCharacters", pad="<PAD>", eos="<EOS>", bos="<BOS>",
        blank="<BLNK>", characters="abcdefghijklmnopqrstuvwxyz", punctuations="!'(),-.:;? ", phonemes=None,
    )
    audio = BaseAudioConfig(sample_rate=RATE_HZ, fft_size=HOP, win_length=HOP, hop_length=HOP, num_mels=20)
    return VitsConfig(model_args=args, audio=audio, use_phonemes=False, text_cleaner="english_cleaners",
                      characters=characters)


def build_tiny_vits(folder: Path, speaker_encoder: bool = False, speakers: tuple[str, ...] = (),
                    languages: tuple[str, ...] = ()) -> Path:
    """config.json + model.pth of a ~0.26 M-parameter VITS with random weights (seed 0).

    With speaker_encoder, a YourTTS-style model: d-vectors from an LSTM speaker encoder
    (model_se.pth + config_se.json beside it), whose paths in config.json are, as in Coqui's
    released YourTTS, ones on the author's disk. With speakers and languages, a model with
    a learned embedding for each.
    """
    from pipeline.speech.coqui import _coqui

    _coqui()  # torchaudio without its CUDA extension, before Coqui's modules import it
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.encoder.configs.speaker_encoder_config import SpeakerEncoderConfig
    from TTS.encoder.utils.generic_utils import setup_encoder_model
    from TTS.tts.models.vits import Vits

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    extra = {}
    if speaker_encoder:
        se_audio = BaseAudioConfig(sample_rate=RATE_HZ, fft_size=512, win_length=400, hop_length=160,
                                   num_mels=20, preemphasis=0.0)
        se_config = SpeakerEncoderConfig(
            model_params={"model_name": "lstm", "input_dim": 20, "proj_dim": SE_DIMS, "lstm_dim": 16,
                          "num_lstm_layers": 1, "use_torch_spec": True},
            audio=se_audio, num_classes_in_batch=1, num_utter_per_class=1, num_loader_workers=0,
        )
        se_config.save_json(str(folder / "config_se.json"))
        torch.save({"model": setup_encoder_model(se_config).state_dict()}, folder / "model_se.pth")
        extra = {"use_d_vector_file": True, "d_vector_dim": SE_DIMS,
                 "speaker_encoder_model_path": str(folder / "model_se.pth"),
                 "speaker_encoder_config_path": str(folder / "config_se.json")}
    if speakers:
        extra.update(use_speaker_embedding=True, speaker_embedding_channels=8)
    if languages:
        extra.update(use_language_embedding=True, embedded_language_dim=4)
    config = _vits_config(**extra)
    config.speakers, config.languages = list(speakers), list(languages)
    model = Vits(config)
    if speaker_encoder:
        config.model_args.speaker_encoder_model_path = "/home/author/yourtts/model_se.pth"
        config.model_args.speaker_encoder_config_path = "/home/author/yourtts/config_se.json"
    config.save_json(str(folder / "config.json"))
    torch.save({"model": model.state_dict(), "config": config.to_dict()}, folder / "model.pth")
    return folder


def write_profile(path: Path, **settings) -> Path:
    settings = {"engine": "coqui", **settings}
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("coqui")
    return (build_tiny_vits(root / "tiny-vits"), build_tiny_vits(root / "tiny-yourtts", speaker_encoder=True),
            build_tiny_vits(root / "tiny-multi", speakers=("alice", "bob"), languages=("en", "fr")))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Two speakers: Piper joe, and the same samples played 25% slower (a deeper, slower voice)."""
    from pipeline.speech.voices import say

    root = tmp_path_factory.mktemp("speakers")
    joe = say("joe", "The quick brown fox jumps over the lazy dog. She sells sea shells by the shore.",
              root / "joe.wav")
    from pipeline.speech.audio import save_wav

    save_wav(Speech(joe.audio, int(joe.sample_rate_hz * 0.75)), root / "deep.wav")
    save_wav(Speech(joe.audio[:joe.sample_rate_hz], joe.sample_rate_hz), root / "short.wav")
    return root / "joe.wav", root / "deep.wav", root / "short.wav"


def speak(profile: Path, *sentences: str) -> Speech:
    from pipeline.speech.synth import synthesize
    from pipeline.speech.voices import load_voice
    from pipeline.text import prepare_script

    return synthesize(prepare_script(" ".join(sentences)), load_voice(str(profile)))


@needs_coqui
def test_a_coqui_folder_speaks_at_its_rate_reproducibly_with_no_phone_timing(models, tmp_path):
    from pipeline.speech.loudness import TARGET_LUFS, TRUE_PEAK_CEILING_DBTP, loudness_lufs, true_peak_dbtp

    vits = models[0]
    profile = write_profile(tmp_path / "tiny.yaml", model=str(vits))
    speech = speak(profile, "Hello there. This is a tiny test.")
    assert speech.sample_rate_hz == RATE_HZ
    assert speech.phones is None and speech.words is None  # timing.align finds them in the audio
    assert speech.text == "Hello there. This is a tiny test."
    # Every token (letters, blanks between them) lasts at least one model frame.
    tokens = 2 * len("hello there.") + 1 + 2 * len("this is a tiny test.") + 1
    assert tokens * HOP / RATE_HZ < speech.duration_s < 60.0
    # Brought to the streaming level like Piper speech (noise-like audio is peak-limited a little short).
    assert loudness_lufs(speech.audio, RATE_HZ) == pytest.approx(TARGET_LUFS, abs=2.5)
    assert true_peak_dbtp(speech.audio) <= TRUE_PEAK_CEILING_DBTP + 0.1
    assert np.array_equal(speak(profile, "Hello there. This is a tiny test.").audio, speech.audio)


@needs_coqui
def test_length_scale_and_pauses_reach_the_audio(models, tmp_path):
    from pipeline.speech.coqui import EDGE_SILENCE_S

    vits = models[0]
    text = "Slow and steady wins the race."
    normal = speak(write_profile(tmp_path / "a.yaml", model=str(vits)), text)
    slow = speak(write_profile(tmp_path / "b.yaml", model=str(vits), length_scale=2.0), text)
    # Each letter lasts a whole number of frames (at least one), so twice as slow is not quite 2x.
    spoken_s = [s.duration_s - 2 * EDGE_SILENCE_S for s in (normal, slow)]
    assert 1.3 < spoken_s[1] / spoken_s[0] < 2.2
    paused = speak(write_profile(tmp_path / "c.yaml", model=str(vits)), "One. [pause 1s] Two.")
    silent = np.flatnonzero(np.diff(np.concatenate([[0], (paused.audio == 0).astype(int), [0]])))
    longest_s = np.max(silent[1::2] - silent[0::2]) / RATE_HZ  # random weights are never exactly 0
    assert longest_s == pytest.approx(1.0, abs=0.01)


@needs_coqui
def test_a_speaker_recording_steers_a_yourtts_style_model(models, recordings, tmp_path):
    yourtts = models[1]
    joe, deep, short = recordings
    text = "Cloned from a recording. The voice is derived once and reused."
    as_joe = speak(write_profile(tmp_path / "joe.yaml", model=str(yourtts), speaker_wav=str(joe)), text)
    as_deep = speak(write_profile(tmp_path / "deep.yaml", model=str(yourtts), speaker_wav=str(deep)), text)
    again = speak(write_profile(tmp_path / "joe2.yaml", model=str(yourtts), speaker_wav=str(joe)), text)
    assert np.array_equal(as_joe.audio, again.audio)
    n = min(len(as_joe.audio), len(as_deep.audio))
    assert len(as_joe.audio) != len(as_deep.audio) or not np.allclose(as_joe.audio[:n], as_deep.audio[:n])
    with pytest.raises(InputError, match="at least 2 s"):
        speak(write_profile(tmp_path / "short.yaml", model=str(yourtts), speaker_wav=str(short)), text)
    with pytest.raises(InputError, match="speaker_wav"):
        speak(write_profile(tmp_path / "none.yaml", model=str(yourtts)), text)


@needs_coqui
def test_a_multi_speaker_multilingual_model_takes_its_speaker_and_language(models, tmp_path):
    multi = models[2]
    text = "Two speakers."
    alice = speak(write_profile(tmp_path / "a.yaml", model=str(multi), speaker="alice", language="en"), text)
    bob = speak(write_profile(tmp_path / "b.yaml", model=str(multi), speaker="bob", language="en"), text)
    n = min(len(alice.audio), len(bob.audio))
    assert len(alice.audio) != len(bob.audio) or not np.allclose(alice.audio[:n], bob.audio[:n])
    for settings, message in [({"language": "en"}, "set `speaker:` to one of alice, bob"),
                              ({"speaker": "carol", "language": "en"}, "speaker 'carol' is not in the model"),
                              ({"speaker": "bob"}, "set `language:` to one of en, fr")]:
        with pytest.raises(InputError, match=re.escape(message)):
            speak(write_profile(tmp_path / "bad.yaml", model=str(multi), **settings), text)


@needs_coqui
def test_the_voice_of_a_recording_is_derived_once_and_reused(models, recordings, tmp_path):
    from pipeline.speech import coqui

    model = coqui.load_model(models[1])
    joe = recordings[0]
    fresh = coqui.speak(model, "Same voice.", speaker_wav=joe)
    first = coqui.speak(model, "Same voice.", speaker_wav=joe, voice_dir=tmp_path)
    assert (tmp_path / f"{coqui.REFERENCE_VOICE}.pth").is_file()
    cached = coqui.speak(model, "Same voice.", speaker_wav=joe.with_name("missing.wav"), voice_dir=tmp_path)
    assert np.array_equal(fresh, first) and np.array_equal(first, cached)
    assert not (models[1] / "voices").exists()  # nothing written into the model folder


@needs_coqui
def test_torchaudio_works_without_its_cuda_extension(recordings):
    from pipeline.speech.coqui import _coqui

    _coqui()
    import torch
    import torchaudio

    wav, rate_hz = torchaudio.load(str(recordings[0]))  # what XTTS reads speaker recordings with
    assert wav.shape[0] == 1 and rate_hz == 22050 and wav.shape[1] > 3 * rate_hz
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=rate_hz, n_mels=20)(wav)
    assert mel.shape[1] == 20 and torch.isfinite(mel).all()


@needs_coqui
def test_bad_profiles_and_folders_say_what_to_fix(models, recordings, tmp_path):
    from pipeline.speech.voices import load_voice

    vits = models[0]
    cases = [
        (write_profile(tmp_path / "gone.yaml", model=str(tmp_path / "nowhere")), "does not exist"),
        (write_profile(tmp_path / "clone.yaml", model=str(vits), speaker_wav=str(recordings[0])),
         "cannot clone"),
        (write_profile(tmp_path / "who.yaml", model=str(vits), speaker="alice"), "single speaker"),
    ]
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.json").write_bytes((vits / "config.json").read_bytes())
    cases.append((write_profile(tmp_path / "half.yaml", model="half"), "lacks model.pth"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model": "no_such_model"}')
    (broken / "model.pth").write_bytes(b"not a checkpoint")
    cases.append((write_profile(tmp_path / "broken.yaml", model="broken"), "not a Coqui TTS config"))
    garbled = tmp_path / "garbled"
    garbled.mkdir()
    (garbled / "config.json").write_bytes((vits / "config.json").read_bytes())
    (garbled / "model.pth").write_bytes((vits / "model.pth").read_bytes()[:5000])  # a cut-off download
    cases.append((write_profile(tmp_path / "garbled.yaml", model="garbled"), "cannot be loaded"))
    for profile, message in cases:
        with pytest.raises(InputError, match=message):
            load_voice(str(profile))


def test_a_missing_coqui_extra_says_how_to_install_it(tmp_path, monkeypatch):
    from pipeline.speech.coqui import _coqui, load_model

    for name in ["TTS", "TTS.config", "TTS.tts.models"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing them now raises ImportError
    _coqui.cache_clear()
    load_model.cache_clear()
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.pth").write_bytes(b"")
    try:
        with pytest.raises(InputError, match=r"make coqui"):
            load_model(tmp_path)
    finally:
        _coqui.cache_clear()


@needs_coqui
@pytest.mark.slow
def test_a_coqui_voice_renders_a_video(models, tmp_path):
    from pipeline import RenderConfig, render
    from pipeline.config import VideoConfig
    from pipeline.timebase import frame_count
    from pipeline.video.probe import probe, read_audio

    vits = models[0]
    profile = write_profile(tmp_path / "tiny.yaml", model=str(vits))
    script = "Hello there. This is a tiny test."
    result = render(EXAMPLES / "selfie.png", tmp_path / "tiny.mp4", script=script,
                    config=RenderConfig(voice=str(profile), quiet=True,
                                        video=VideoConfig(crf=26, preset="ultrafast")))
    speech = speak(profile, script)  # the same audio: Coqui's noise is seeded
    info = probe(result.video_path)
    assert (info.video_codec, info.width, info.height, info.audio_codec) == ("h264", 1080, 1920, "aac")
    assert result.n_frames == frame_count(speech.duration_s, 30.0)
    assert info.video_duration_s == pytest.approx(result.n_frames / 30.0, abs=1 / 30 + 1e-3)
    assert abs(info.video_duration_s - info.audio_duration_s) <= 1 / 30 + 1e-3
    assert read_audio(result.video_path)[0].size > 0
    # Captions are the script's words, timed on the audio (Coqui reports no timing of its own).
    assert [w.text for w in result.timing.words] == ["Hello", "there.", "This", "is", "a", "tiny", "test."]
    assert all(0.0 <= w.start_s <= w.end_s <= result.duration_s + 1e-6 for w in result.timing.words)
    srt = result.video_path.with_suffix(".srt").read_text()
    assert "Hello" in srt and "test" in srt
