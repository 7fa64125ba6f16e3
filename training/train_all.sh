#!/usr/bin/env bash
# Train both production models with one recipe and budget, one after the other, resuming where a run stopped.
# Usage: training/train_all.sh [cpu|gpu] [DATA_DIR] [RUNS_DIR]
set -euo pipefail
preset=${1:-cpu}
data=${2:-../shared/data/lgg-flair}
runs=${3:-runs/$preset}
py=${PYTHON:-.venv/bin/python}
for model in attention_unet unetpp; do
  "$py" -m training.train --model "$model" --preset "$preset" --data "$data" --out "$runs/$model" \
    --split training/splits/lgg-flair.json --no-progress
done
