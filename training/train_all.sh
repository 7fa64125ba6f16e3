#!/usr/bin/env bash
# Train both production models with one recipe and budget, resuming where a run stopped.
# Usage: training/train_all.sh [cpu|gpu] [DATA_DIR] [RUNS_DIR]
set -euo pipefail
preset=${1:-cpu}
data=${2:-../shared/data/lgg-flair}
runs=${3:-runs/$preset}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$runs"
train() {
  "$py" -m training.train --model "$1" --preset "$preset" --data "$data" --out "$runs/$1" \
    --split training/splits/lgg-flair.json --no-progress "${@:2}"
}
# One after the other, each with the whole machine: the training times in the report then compare.
for model in attention_unet unetpp; do train "$model" 2>&1 | tee "$runs/$model.log"; done
