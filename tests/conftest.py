import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
EXAMPLES = REPO / "examples"


def eval_dir(*parts: str) -> Path:
    """A path inside ../shared/eval, skipping the test when the evaluation data is absent."""
    path = EVAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"evaluation data not present: {path}")
    return path
