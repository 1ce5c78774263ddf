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


def load_benchmark(name: str):
    """A module of benchmarks/ (not a package), for tests that measure the way it does."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def interrupt_render(args: list[str], sig: int) -> tuple[int, str]:
    """Run `avatar render ARGS`, send `sig` once frames are being rendered; (exit code, stderr)."""
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "render", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 300
    seen = ""
    while time.monotonic() < deadline and "frame" not in seen:
        char = proc.stderr.read(1)  # progress bars redraw with \r, not newlines
        if not char:
            break
        seen += char
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, seen + err
