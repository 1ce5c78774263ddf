# Two commands matter: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
COQUI_STAMP := $(VENV)/.coqui-installed

export HF_HUB_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: setup coqui browser demo test bench lint clean

setup: $(STAMP)

# Re-install only when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Coqui TTS voices (voices/*.yaml with engine: coqui): torch's CPU wheel and coqui-tts.
coqui: $(COQUI_STAMP)
$(COQUI_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,coqui]'
	touch $(COQUI_STAMP)

# Debian's chromium for the studio's browser test (Playwright drives it; it downloads no browser).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: setup
	@mkdir -p out
	$(VENV)/bin/avatar render examples/founder_update.txt --photo examples/selfie.png --out out/demo.mp4

test: setup coqui browser
	$(PY) -m pytest -q -ra

bench: setup
	$(PY) benchmarks/bench_speed.py
	@test -f out/demo.mp4 && $(PY) benchmarks/transcript_wer.py examples/founder_update.txt out/demo.mp4 || echo 'run make demo first for the transcript WER'

lint: setup
	$(VENV)/bin/ruff check pipeline tests benchmarks

clean:
	rm -rf out .pytest_cache .ruff_cache

.PHONY: train-mouth eval-lipsync bench-photoreal

# Rebuilds checkpoints/mouth_net.onnx from seed 0 (corpus + training, < 60 min on 2 cores).
train-mouth: setup
	$(PY) -m pip install --quiet -e '.[train]'
	$(PY) -m training.train_mouth --seed 0

# Photoreal-motion measures (identity, background, blinks) over the eval portraits, with
# contact sheets in out/photoreal/ (about 25 minutes on 2 cores).
bench-photoreal: setup
	$(PY) benchmarks/bench_photoreal.py

# Lip-sync measurements for checkpoints/MODEL_CARD.md (real data from ../shared/eval when present).
eval-lipsync: setup
	$(PY) benchmarks/eval_lipsync.py
