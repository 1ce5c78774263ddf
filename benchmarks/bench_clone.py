"""How much a cloned voice sounds like its speaker, and whether it stays intelligible.

    python benchmarks/bench_clone.py [--out benchmarks/clone_results.json] [--wav-dir /tmp/clone_bench]

For each speaker in ../shared/eval/speech: clone joe from some recordings, read a few fixed
sentences with joe and with the clone, and compare each reading with a held-out recording of the
speaker (one that was not in the clone sample) by resemblyzer's speaker-embedding cosine
similarity. Whisper's transcript of the cloned reading gives its word error rate.

resemblyzer is the judge only: the cloning algorithm never uses it. It needs the bench extra
(torch==2.13.0, resemblyzer). The speechbrain recordings are ~3 s long, far below the 10 s the
`avatar voices clone` command asks for, so the sample checks are skipped here. Two reference
points per speaker: the clone sample itself against the test recording ("real"), and the sample
copied through WORLD analysis and synthesis unchanged ("world"): what any WORLD-based clone loses
to the vocoder alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.speech.audio import load_audio, save_wav  # noqa: E402
from pipeline.speech.clone import _world, learn_conversion  # noqa: E402
from pipeline.speech.synth import synthesize  # noqa: E402
from pipeline.speech.voices import load_voice  # noqa: E402
from pipeline.text import normalize, prepare_script  # noqa: E402
from pipeline.timing.audio import to_16k  # noqa: E402
from pipeline.timing.wer import word_error_rate  # noqa: E402
from pipeline.timing.whisper import load_model  # noqa: E402

EVAL_SPEECH = Path(__file__).resolve().parents[2] / "shared" / "eval" / "speech"
OUT_JSON = Path(__file__).resolve().parent / "clone_results.json"
BASE_VOICE = "joe"
# (name, clone sample files, held-out test file)
SPEAKERS = [
    ("ljspeech", ["ljspeech_LJ001-0001.wav", "ljspeech_LJ001-0005.wav"], "ljspeech_LJ001-0007.wav"),
    ("speechbrain_spk1", ["speechbrain_spk1_snt1.wav"], "speechbrain_spk1_snt5.wav"),
    ("speechbrain_spk2", ["speechbrain_spk2_snt2.wav"], "speechbrain_spk2_snt4.wav"),
]
# Read by both voices; none is the text of a test recording.
SENTENCES = [
    "We will meet at the library on Monday morning, and bring your notes.",
    "The weather changed quickly, so the children ran back inside the house.",
    "Please send me the report before lunch, and call me if anything is missing.",
    # Piper samples its noise afresh every reading, so one sentence moves the score by +-0.04:
    # six steady the mean.
    "My brother bought a new bicycle last summer, but he rarely rides it to work.",
    "After the storm, the old bridge was closed for repairs until the end of April.",
    "Could you tell me how to find the train station from here?",
]
TARGETS = {"ljspeech_min_similarity": 0.75, "min_gain_over_default": 0.20, "max_wer": 0.10}


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z']+", normalize(text).lower().replace("-", " "))


def heard(audio: np.ndarray, rate: int) -> str:
    segments, _ = load_model().transcribe(to_16k(audio, rate), language="en", beam_size=5,
                                          condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments)


def world_copy(audio: np.ndarray, rate: int) -> np.ndarray:
    """The recording analysed and resynthesized by WORLD unchanged: the most a WORLD clone can keep."""
    pw = _world()
    x = np.asarray(audio, dtype=np.float64)
    f0, times = pw.dio(x, rate, frame_period=5.0)
    f0 = pw.stonemask(x, f0, times, rate)
    return pw.synthesize(f0, pw.cheaptrick(x, f0, times, rate), pw.d4c(x, f0, times, rate), rate, 5.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_JSON)
    parser.add_argument("--wav-dir", type=Path, default=None, help="keep every reading as a WAV here")
    parser.add_argument("--speakers", nargs="*", default=None, help="only these speakers")
    args = parser.parse_args()
    if not EVAL_SPEECH.is_dir():
        print(f"evaluation data not present: {EVAL_SPEECH}; nothing to measure")
        return
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)

    def embed(audio: np.ndarray, rate: int) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(np.asarray(audio, dtype=np.float32), source_sr=rate))

    if args.wav_dir:
        args.wav_dir.mkdir(parents=True, exist_ok=True)
    base = load_voice(BASE_VOICE)
    default_readings = [synthesize(prepare_script(s), base) for s in SENTENCES]
    rows = []
    for name, sample_files, test_file in SPEAKERS:
        if args.speakers and name not in args.speakers:
            continue
        samples = [load_audio(EVAL_SPEECH / f) for f in sample_files]
        test = load_audio(EVAL_SPEECH / test_file)
        rate = samples[0].sample_rate_hz
        sample_audio = np.concatenate([s.audio for s in samples])
        started = time.perf_counter()
        conversion = learn_conversion(sample_audio, rate, base)
        learn_s = time.perf_counter() - started
        clone = dataclasses.replace(base, conversion=conversion)
        test_embedding = embed(test.audio, test.sample_rate_hz)
        default_sims, clone_sims, wers, heard_texts, clone_audio = [], [], [], [], []
        for k, (sentence, default) in enumerate(zip(SENTENCES, default_readings, strict=True)):
            cloned = synthesize(prepare_script(sentence), clone)
            clone_audio.append(cloned.audio)
            default_sims.append(float(embed(default.audio, rate) @ test_embedding))
            clone_sims.append(float(embed(cloned.audio, rate) @ test_embedding))
            text = heard(cloned.audio, rate)
            heard_texts.append(text)
            wers.append(word_error_rate(tokens(sentence), tokens(text)))
            if args.wav_dir:
                save_wav(cloned, args.wav_dir / f"{name}_clone_{k}.wav")
                save_wav(default, args.wav_dir / f"default_{k}.wav")
        # All readings as one utterance (about 25 s): a steadier embedding than one sentence.
        joined = [float(embed(np.concatenate(a), rate) @ test_embedding)
                  for a in ([d.audio for d in default_readings], clone_audio)]
        ceiling = float(embed(sample_audio, rate) @ test_embedding)
        world_ceiling = float(embed(world_copy(sample_audio, rate), rate) @ test_embedding)
        all_words = sum(len(tokens(s)) for s in SENTENCES)
        wer = sum(w * len(tokens(s)) for w, s in zip(wers, SENTENCES, strict=True)) / all_words
        rows.append({
            "speaker": name, "clone_from": sample_files, "test": test_file,
            "sample_s": round(sample_audio.size / rate, 2),
            "default_similarity": round(float(np.mean(default_sims)), 4),
            "clone_similarity": round(float(np.mean(clone_sims)), 4),
            "gain": round(float(np.mean(clone_sims) - np.mean(default_sims)), 4),
            "clone_similarity_per_sentence": [round(s, 4) for s in clone_sims],
            "default_similarity_joined": round(joined[0], 4), "clone_similarity_joined": round(joined[1], 4),
            "sample_vs_test_similarity": round(ceiling, 4),
            "sample_world_copy_vs_test_similarity": round(world_ceiling, 4),
            "clone_wer": round(wer, 4), "heard": heard_texts, "learn_s": round(learn_s, 1),
        })
        print(f"{name}: default {np.mean(default_sims):.3f}  clone {np.mean(clone_sims):.3f}  "
              f"WER {wer:.3f}  ({learn_s:.1f} s to learn)", flush=True)
    print(f"\n{'speaker':18} {'sample s':>8} {'default':>8} {'clone':>8} {'gain':>7} {'joined d/c':>12} "
          f"{'real':>6} {'world':>6} {'WER':>6}")
    for r in rows:
        print(f"{r['speaker']:18} {r['sample_s']:8.1f} {r['default_similarity']:8.3f} "
              f"{r['clone_similarity']:8.3f} {r['gain']:7.3f} "
              f"{r['default_similarity_joined']:6.3f}/{r['clone_similarity_joined']:.3f} "
              f"{r['sample_vs_test_similarity']:6.3f} {r['sample_world_copy_vs_test_similarity']:6.3f} "
              f"{r['clone_wer']:6.3f}")
    meets = all(r["clone_wer"] <= TARGETS["max_wer"] and r["gain"] >= TARGETS["min_gain_over_default"]
                for r in rows if r["speaker"] != "ljspeech") and all(
        r["clone_similarity"] >= TARGETS["ljspeech_min_similarity"] and r["clone_wer"] <= TARGETS["max_wer"]
        for r in rows if r["speaker"] == "ljspeech")
    print(f"targets met: {meets}  ({TARGETS})")
    result = {"base_voice": BASE_VOICE, "sentences": SENTENCES, "targets": TARGETS, "targets_met": meets,
              "judge": "resemblyzer VoiceEncoder cosine, whole utterances; WER: faster-whisper tiny.en",
              "speakers": rows}
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
