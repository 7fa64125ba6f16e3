#!/usr/bin/env bash
# Train both production models with one recipe and budget, resuming where a run stopped.
# Usage: training/train_all.sh [cpu|gpu] [DATA_DIR] [RUNS_DIR]
# BUDGET_MINUTES (default 175 for cpu, 120 for gpu) bounds the wall time of everything together: Attention U-Net
# gets 30% and U-Net++ 70%, the ratio of their training-step times, so both finish the same epochs where the budget
# allows and each schedule is fitted to its share where it does not (a slower CPU).
# The cpu preset trains in two stages: native-resolution 128 px patches (RUNS_DIR/<model>), then a fine-tune on whole
# 256 x 256 slices from those weights (RUNS_DIR-finetuned/<model>), which gives the networks the whole slice's context
# and removed most false-positive lesions on the validation patients. FINETUNE_SHARE (default 0.33 for cpu, 0 for
# gpu, which already trains on whole slices) is the second stage's share of the budget.
# Run it in the background:
#   nohup training/train_all.sh cpu > runs/train_all.log 2>&1 &
# and run the same command again to resume after an interruption (each run restarts from its checkpoint).
# The artifacts to publish are in the last stage's folder (training.publish --runs RUNS_DIR-finetuned for cpu).
set -euo pipefail
preset=${1:-cpu}
data=${2:-../shared/data/lgg-flair}
runs=${3:-runs/$preset}
py=${PYTHON:-.venv/bin/python}
if [[ $preset == gpu ]]; then
  budget=${BUDGET_MINUTES:-120} finetune=${FINETUNE_SHARE:-0}
else
  budget=${BUDGET_MINUTES:-175} finetune=${FINETUNE_SHARE:-0.33}
fi
minutes() { awk -v b="$budget" -v f="$1" -v s="$2" 'BEGIN { printf "%.1f", b * f * s }'; }
train() {
  local model=$1 out=$2 budget_minutes=$3
  shift 3
  "$py" -m training.train --model "$model" --preset "$preset" --data "$data" --out "$out" \
    --split training/splits/lgg-flair.json --no-progress \
    --dataset-name "LGG Segmentation Dataset (TCGA-LGG FLAIR, Buda et al. 2019)" \
    --max-minutes "$budget_minutes" "$@" 2>&1 | tee -a "$out.log"
}
mkdir -p "$runs"
first=$(awk -v f="$finetune" 'BEGIN { print 1 - f }')
# A first stage that a fine-tune follows is not calibrated: its post-processing would never be used, and
# calibration costs minutes per model outside the budget.
first_stage_args=()
if awk -v f="$finetune" 'BEGIN { exit !(f > 0) }'; then first_stage_args=(--no-calibrate); fi
# One after the other, each with the whole machine: the training times in the report then compare.
for entry in attention_unet:0.30 unetpp:0.70; do
  model=${entry%%:*} share=${entry##*:}
  train "$model" "$runs/$model" "$(minutes "$first" "$share")" "${first_stage_args[@]}"
done
if awk -v f="$finetune" 'BEGIN { exit !(f > 0) }'; then
  mkdir -p "$runs-finetuned"
  for entry in attention_unet:0.30 unetpp:0.70; do
    model=${entry%%:*} share=${entry##*:}
    # Whole slices at a fifth of the peak learning rate, a shorter weight average and fewer lesion-centred
    # slices (a third instead of half), so that lesion-free slices teach the network what not to mark.
    train "$model" "$runs-finetuned/$model" "$(minutes "$finetune" "$share")" --init-from "$runs/$model" \
      --patch-size 0 --batch-size 8 --lr 0.0005 --epochs 10 --samples-per-epoch 1600 \
      --set warmup_epochs=0.2 --set lesion_fraction=0.33 --set ema_decay=0.998 --set val_every=1
  done
fi
