#!/usr/bin/env bash
# Train both production models with one recipe and budget, resuming where a run stopped.
# Usage: training/train_all.sh [cpu|gpu] [DATA_DIR] [RUNS_DIR]
# BUDGET_MINUTES (default 175 for cpu, 120 for gpu) bounds the wall time of everything together: Attention U-Net
# gets 30% and U-Net++ 70%, the ratio of their training-step times, so both finish the same epochs where the budget
# allows and each schedule is fitted to its share where it does not (a slower CPU).
# The cpu preset trains in three stages, each starting from the last one's weights:
#   1. native-resolution 128 px patches (RUNS_DIR/<model>);
#   2. whole 256 x 256 slices (RUNS_DIR-finetuned/<model>), which gives the networks the whole slice's context
#      and removed most false-positive lesions on the validation patients;
#   3. whole slices with one neighbouring slice on each side as input channels (2.5D, RUNS_DIR-context/<model>);
#      the 2D weights start it computing exactly what they did (training/warm_start.py).
# FINETUNE_SHARE and CONTEXT_SHARE (default 0.25 each for cpu, 0 for gpu, which already trains on whole slices)
# are the second and third stages' shares of the budget; a share of 0 skips its stage.
# Run it in the background:
#   nohup training/train_all.sh cpu > runs/train_all.log 2>&1 &
# and run the same command again to resume after an interruption (each run restarts from its checkpoint).
# The artifacts to publish are in the last stage's folder (training.publish --runs RUNS_DIR-context for cpu).
set -euo pipefail
preset=${1:-cpu}
data=${2:-../shared/data/lgg-flair}
runs=${3:-runs/$preset}
py=${PYTHON:-.venv/bin/python}
if [[ $preset == gpu ]]; then
  budget=${BUDGET_MINUTES:-120} finetune=${FINETUNE_SHARE:-0} context=${CONTEXT_SHARE:-0}
else
  budget=${BUDGET_MINUTES:-175} finetune=${FINETUNE_SHARE:-0.25} context=${CONTEXT_SHARE:-0.25}
fi
positive() { awk -v f="$1" 'BEGIN { exit !(f > 0) }'; }
minutes() { awk -v b="$budget" -v f="$1" -v s="$2" 'BEGIN { printf "%.1f", b * f * s }'; }
train() {
  local model=$1 out=$2 budget_minutes=$3
  shift 3
  "$py" -m training.train --model "$model" --preset "$preset" --data "$data" --out "$out" \
    --split training/splits/lgg-flair.json --no-progress \
    --dataset-name "LGG Segmentation Dataset (TCGA-LGG FLAIR, Buda et al. 2019)" \
    --max-minutes "$budget_minutes" "$@" 2>&1 | tee -a "$out.log"
}
# Whole slices at a fifth of the peak learning rate, a shorter weight average and fewer lesion-centred slices (a
# third instead of half), so that lesion-free slices teach the network what not to mark.
slices=(--patch-size 0 --batch-size 8 --lr 0.0005 --epochs 10 --samples-per-epoch 1600
  --set warmup_epochs=0.2 --set lesion_fraction=0.33 --set ema_decay=0.998 --set val_every=1)
# Each stage: its folder, its share of the budget and its arguments. Only the last stage that runs is calibrated:
# an earlier stage's post-processing would never be used, and calibration costs minutes per model outside the
# budget.
stage_dirs=("$runs") stage_shares=("$(awk -v f="$finetune" -v c="$context" 'BEGIN { print 1 - f - c }')")
stage_args=("")
if positive "$finetune"; then
  stage_dirs+=("$runs-finetuned") stage_shares+=("$finetune") stage_args+=("${slices[*]}")
fi
if positive "$context"; then
  stage_dirs+=("$runs-context") stage_shares+=("$context") stage_args+=("${slices[*]} --set context_slices=1")
fi
last=$((${#stage_dirs[@]} - 1))
for i in "${!stage_dirs[@]}"; do
  mkdir -p "${stage_dirs[$i]}"
  # One model after the other, each with the whole machine: the training times in the report then compare.
  for entry in attention_unet:0.30 unetpp:0.70; do
    model=${entry%%:*} share=${entry##*:}
    read -r -a extra <<< "${stage_args[$i]}"
    if ((i > 0)); then extra+=(--init-from "${stage_dirs[$((i - 1))]}/$model"); fi
    if ((i < last)); then extra+=(--no-calibrate); fi
    train "$model" "${stage_dirs[$i]}/$model" "$(minutes "${stage_shares[$i]}" "$share")" "${extra[@]}"
  done
done
