"""Train the audio-to-mouth network and export it to ONNX (issue 3).

    python -m training.train_mouth [--utterances 1800] [--seed 0] [--steps 1000]

1. builds the corpus (training/corpus.py) into training/cache/, reused when present;
2. trains MouthNet (training/model.py) on random 5 s crops, with frequency masking;
3. exports checkpoints/mouth_net.onnx, checks onnxruntime against torch, and writes the
   held-out error per parameter to checkpoints/mouth_net_metrics.json.
Reproducible from the seed (texts, synthesis settings, augmentation, initialisation, batches),
Piper's noise included: its graph is seeded per block of utterances (training/corpus.py).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from pipeline.mouth import net
from pipeline.types import ARTICULATION
from training import corpus
from training.model import MouthNet

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "training" / "cache"
CROP_FRAMES = 400                       # 5 s at 80 Hz
# Opening and closure matter most to the eye: weigh them up.
LOSS_WEIGHTS = {"jaw_open": 2.0, "lip_open": 2.0, "lip_press": 4.0}
# Closures are rare (a few % of frames) and what viewers check first: their frames count extra,
# in proportion to the target (1 + w * target).
# At 3 (600 steps) the net shut the lips on only 60% of real p/b/m frames: weigh them up.
POSITIVE_WEIGHTS = {"lip_press": 8.0, "lower_lip_tuck": 2.0}
DELTA_LOSS = 1.0                        # first differences too: timing of edges, no jitter
FREQ_MASKS, FREQ_MASK_BANDS = 2, 10


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def batches(data: dict[str, np.ndarray], items: np.ndarray, batch: int, rng: np.random.Generator):
    """Endless random crops: (mel [B, 80, T], targets [B, 9, T], mask [B, T])."""
    offsets = data["offsets"]
    while True:
        chosen = rng.choice(items, size=batch)
        mel = np.zeros((batch, net.N_MELS, CROP_FRAMES), dtype=np.float32)
        tgt = np.zeros((batch, len(ARTICULATION), CROP_FRAMES), dtype=np.float32)
        mask = np.zeros((batch, CROP_FRAMES), dtype=np.float32)
        for b, item in enumerate(chosen):
            lo, hi = offsets[item], offsets[item + 1]
            start = lo + rng.integers(0, max(1, hi - lo - CROP_FRAMES + 1))
            end = min(hi, start + CROP_FRAMES)
            n = end - start
            mel[b, :, :n] = data["features"][start:end].T
            tgt[b, :, :n] = data["targets"][start:end].T
            mask[b, :n] = 1.0
            for _ in range(rng.integers(0, FREQ_MASKS + 1)):
                width = rng.integers(1, FREQ_MASK_BANDS + 1)
                f0 = rng.integers(0, net.N_MELS - width)
                mel[b, f0:f0 + width, :n] = 0.0
        yield torch.from_numpy(mel), torch.from_numpy(tgt), torch.from_numpy(mask)


def loss_fn(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against the soft targets (its gradient never vanishes, unlike L1 through a
    saturated sigmoid), plus L1 on the frame-to-frame differences."""
    weights = torch.tensor([LOSS_WEIGHTS.get(n, 1.0) for n in ARTICULATION])[None, :, None]
    m = mask[:, None, :]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    # minus the targets' own entropy, so a perfect prediction scores 0
    floor = torch.nn.functional.binary_cross_entropy(target, target, reduction="none")
    positive = torch.tensor([POSITIVE_WEIGHTS.get(n, 0.0) for n in ARTICULATION])[None, :, None]
    level = (weights * (1.0 + positive * target) * m * (bce - floor)).sum() / (m.sum() * weights.sum())
    pred = torch.sigmoid(logits)
    dm = m[..., 1:] * m[..., :-1]
    dp, dt = pred.diff(dim=-1), target.diff(dim=-1)
    delta = (weights * dm * (dp - dt).abs()).sum() / (dm.sum() * weights.sum())
    return level + DELTA_LOSS * delta


@torch.no_grad()
def evaluate(model: MouthNet, data: dict[str, np.ndarray], items: np.ndarray) -> dict:
    """Mean absolute error per parameter over whole held-out items; closure recall and
    precision (target press >= 0.99 vs predicted press above a threshold) per threshold."""
    model.eval()
    errors, press_pred, press_true = [], [], []
    offsets = data["offsets"]
    k_press = ARTICULATION.index("lip_press")
    for item in items:
        lo, hi = offsets[item], offsets[item + 1]
        mel = torch.from_numpy(data["features"][lo:hi].T.astype(np.float32))[None]
        pred = model(mel)[0].T.numpy()
        target = data["targets"][lo:hi].astype(np.float32)
        errors.append(np.abs(pred - target))
        press_pred.append(pred[:, k_press])
        press_true.append(target[:, k_press])
    model.train()
    err = np.concatenate(errors)
    pred, true = np.concatenate(press_pred), np.concatenate(press_true)
    closures = {}
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        claimed = pred > threshold
        closures[str(threshold)] = {
            "recall": float(np.mean(claimed[true >= 0.99])) if np.any(true >= 0.99) else None,
            "precision": float(np.mean(true[claimed] > 0.5)) if np.any(claimed) else None,
        }
    return {"mae": {n: float(err[:, k].mean()) for k, n in enumerate(ARTICULATION)},
            "mae_mean": float(err.mean()), "closures": closures, "frames": int(len(err))}


def export(model: MouthNet, path: Path) -> None:
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.rand(1, net.N_MELS, 240)
    torch.onnx.export(model, (dummy,), str(path), input_names=["mel"], output_names=["params"],
                      dynamic_axes={"mel": {2: "frames"}, "params": {2: "frames"}},
                      opset_version=17, dynamo=False)
    # onnxruntime must agree with torch (same numbers at run time as in evaluation)
    probe = np.random.default_rng(0).uniform(0, 4, (300, net.N_MELS)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(probe.T)[None])[0].T.numpy()
    net._session.cache_clear()
    got = net.predict(probe, path)
    assert np.abs(got - expected).max() < 1e-4, np.abs(got - expected).max()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=1800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=2, help="corpus processes")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, default=REPO / "checkpoints" / "mouth_net.onnx")
    args = parser.parse_args()

    started = time.time()
    cache = CACHE / f"corpus_u{args.utterances}_s{args.seed}_f{corpus.FORMAT}_{corpus.targets_digest()}.npz"
    if not cache.exists():
        corpus.build(args.utterances, args.seed, cache, workers=args.workers)
    corpus_s = time.time() - started
    data = load(cache)
    held = data["held_out"]
    train_items, test_items = np.flatnonzero(~held), np.flatnonzero(held)
    print(f"corpus: {len(data['features']) / net.MEL_FPS / 3600:.2f} h in {len(held)} items "
          f"({len(test_items)} held out), built/loaded in {corpus_s:.0f} s", flush=True)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    model = MouthNet()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}", flush=True)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    warmup = max(1, args.steps // 50)

    def lr_factor(step: int) -> float:  # linear warm-up, cosine decay
        progress = min(step, args.steps) / args.steps
        return min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * progress))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_factor)
    stream = batches(data, train_items, args.batch, rng)
    running = 0.0
    for step in range(1, args.steps + 1):
        mel, target, mask = next(stream)
        loss = loss_fn(model.logits(mel), target, mask)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}/{args.steps} loss {running:.4f} ({time.time() - started:.0f} s)", flush=True)

    augmented = data["augmented"]
    metrics = {
        "held_out_clean": evaluate(model, data, test_items[~augmented[test_items]]),
        "held_out_augmented": evaluate(model, data, test_items[augmented[test_items]]),
        "train_sample": evaluate(model, data, train_items[:: max(1, len(train_items) // 100)]),
        "corpus_hours": float(len(data["features"]) / net.MEL_FPS / 3600),
        "utterances": args.utterances, "seed": args.seed, "steps": args.steps, "batch": args.batch,
        "seconds": 0.0,
    }
    export(model, args.out)
    torch.save(model.state_dict(), CACHE / f"mouth_net_s{args.seed}.pt")  # for fine-tuning; not shipped
    metrics["seconds"] = round(time.time() - started, 1)
    (args.out.parent / "mouth_net_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
