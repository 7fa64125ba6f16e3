#!/usr/bin/env bash
# Train both production models with one recipe and budget, resuming where a run stopped.
# Usage: training/train_all.sh [cpu|gpu] [DATA_DIR] [RUNS_DIR]
# BUDGET_MINUTES (default 175 for cpu, 120 for gpu) bounds the wall time of both together: Attention U-Net gets 30%
# and U-Net++ 70%, the ratio of their training-step times, so both finish the same epochs where the budget allows
# and each schedule is fitted to its share where it does not (a slower CPU). Run it in the background:
#   nohup training/train_all.sh cpu > runs/train_all.log 2>&1 &
# and run the same command again to resume after an interruption (each run restarts from its checkpoint).
set -euo pipefail
preset=${1:-cpu}
data=${2:-../shared/data/lgg-flair}
runs=${3:-runs/$preset}
py=${PYTHON:-.venv/bin/python}
if [[ $preset == gpu ]]; then budget=${BUDGET_MINUTES:-120}; else budget=${BUDGET_MINUTES:-175}; fi
mkdir -p "$runs"
train() {
  local model=$1 share=$2
  "$py" -m training.train --model "$model" --preset "$preset" --data "$data" --out "$runs/$model" \
    --split training/splits/lgg-flair.json --no-progress \
    --dataset-name "LGG Segmentation Dataset (TCGA-LGG FLAIR, Buda et al. 2019)" \
    --max-minutes "$(awk -v b="$budget" -v s="$share" 'BEGIN { printf "%.1f", b * s }')"
}
# One after the other, each with the whole machine: the training times in the report then compare.
train attention_unet 0.30 2>&1 | tee -a "$runs/attention_unet.log"
train unetpp 0.70 2>&1 | tee -a "$runs/unetpp.log"
