# One entry point for setting up, running, testing and benchmarking BrainMets.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup lock run run-gateway run-results-api run-worker test lint format bench bench-services bench-load bench-memory train \
	evaluate clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# After changing the dependencies in pyproject.toml: resolve them afresh and pin what was installed.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Exact versions that CI and the images install (as pip constraints). Regenerate with: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements.lock
	rm -rf .lock-venv

# The whole system in one process (SQLite, ./var/objects, in-process queue) on http://127.0.0.1:8000.
run: setup
	$(PY) -m services.embedded

# One service per process, on Postgres, RabbitMQ and MinIO named by DATABASE_URL, AMQP_URL and S3_*.
MODEL ?= unetpp
run-gateway: setup
	$(PY) -m services.gateway

run-results-api: setup
	$(PY) -m services.results_api

run-worker: setup
	MODEL_NAME=$(MODEL) $(PY) -m services.worker

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: setup
	$(PY) -m training.benchmark

# The services' figures (README "Services benchmark"): tools under tests/benchmarks, never in an image.
N ?= 20
bench-services: setup
	$(PY) -m tests.benchmarks.pipeline --n $(N)

bench-load: setup
	$(PY) -m tests.benchmarks.load

bench-memory: setup
	$(PY) -m tests.benchmarks.memory --n $(N)

# Train one model (README "Training"): make train MODEL=attention_unet DATA=/path/to/lgg-flair OUT=runs/mine
# The artifact lands in OUT; a worker finds it with ARTIFACTS_DIR set to OUT or a folder above it.
DATA      ?= ../shared/data/lgg-flair
PRESET    ?= cpu
SPLIT     ?= training/splits/lgg-flair.json
OUT       ?= runs/$(PRESET)/$(MODEL)
train: setup
	$(PY) -m training.train --model $(MODEL) --data $(DATA) --out $(OUT) --preset $(PRESET) --split $(SPLIT)

# Evaluate every artifact under WEIGHTS on the split's SUBSET patients (README "Evaluation"); the report goes to
# REPORT_DIR.
WEIGHTS    ?= training/artifacts
SUBSET     ?= test
REPORT_DIR ?= training/reports
evaluate: setup
	$(PY) -m training.evaluate --data $(DATA) --out $(REPORT_DIR) --weights-dir $(WEIGHTS) --split $(SPLIT) \
		--subset $(SUBSET)

clean:
	rm -rf $(VENV) .pytest_cache
