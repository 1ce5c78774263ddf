"""Word error rate of Whisper's transcript of a rendered video against its script.

    python benchmarks/transcript_wer.py examples/founder_update.txt out/demo.mp4

Both sides go through our own text normalizer, so "4,200" heard as digits and "four
thousand two hundred" in the script count as the same words. Prints the number; asserts nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.text import normalize, prepare_script, words_of  # noqa: E402
from pipeline.timing.wer import word_error_rate  # noqa: E402
from pipeline.timing.whisper import load_model  # noqa: E402
from pipeline.video.probe import read_audio  # noqa: E402


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower().replace("-", " "))


def main() -> None:
    script, video = sys.argv[1], sys.argv[2]
    ref = tokens(" ".join(" ".join(words_of(s)) for s in prepare_script(Path(script).read_text())))
    segments, _ = load_model().transcribe(read_audio(video, 16000), language="en", beam_size=5)
    hyp = tokens(normalize(" ".join(s.text for s in segments)))
    print(f"script words: {len(ref)}  WER: {word_error_rate(ref, hyp):.3f}")
    print(f"heard: {' '.join(hyp)}")


if __name__ == "__main__":
    main()
