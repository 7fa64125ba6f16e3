#!/usr/bin/env bash
# Train both production models with one recipe and budget, resuming where a run stopped.
# Usage: training/train_all.sh [cpu|gpu] [DATA_DIR] [RUNS_DIR]
# BUDGET_MINUTES (default 180 for cpu, 120 for gpu) bounds the wall time of the whole command: training, the
# validations and the calibration that ends it. Attention U-Net's runs get 30% of each stage and U-Net++'s 70%,
# the ratio of their training-step times, so both finish the same epochs where the budget allows and each
# schedule is fitted to its share where it does not (a slower CPU).
# The cpu preset trains in stages, each starting from the last one's weights:
#   1. native-resolution 128 px patches (RUNS_DIR/<model>);
#   2. whole 256 x 256 slices (RUNS_DIR-finetuned/<model>), which gives the networks the whole slice's context
#      and removed most false-positive lesions on the validation patients;
#   3. optional: whole slices with CONTEXT_SLICES (default 1) neighbouring slices on each side as input channels
#      (2.5D, RUNS_DIR-context/<model>); the 2D weights start it computing exactly what they did
#      (training/warm_start.py).
# FINETUNE_SHARE and CONTEXT_SHARE are the second and third stages' shares of the training time; a share of 0
# skips its stage. For cpu they default to 0.5 and 0: on the command's minutes, giving the 2.5D stage's share to
# the 2D whole slices scored higher calibrated validation Dice for both networks on every CPU where both were run
# (report, ablation); with the lesion-wide peak in the search, each published 2.5D stage tied held out with the
# same steps of 2D whole slices from the same weights. CONTEXT_SHARE=0.25 FINETUNE_SHARE=0.25 runs all three
# stages. gpu has 0 and 0: it already trains on whole slices.
# CALIBRATION_SHARE (default 0.06) of the budget is kept for the last stage's calibrations, which run after
# training and outside each run's --max-minutes.
# Each run is given its share of the time actually left, not of the budget: what a run overspends (loading the
# data, the last validation) comes out of the runs after it, and what it leaves unused goes to them.
# Run it in the background:
#   nohup training/train_all.sh cpu > runs/train_all.log 2>&1 &
# and run the same command again to resume after an interruption (each run restarts from its checkpoint; the
# budget counts from the new start).
# The artifacts to publish are in the last stage's folder (training.publish --runs RUNS_DIR-finetuned for cpu, or
# RUNS_DIR-context with a 2.5D stage).
set -euo pipefail
preset=${1:-cpu}
data=${2:-../shared/data/lgg-flair}
runs=${3:-runs/$preset}
py=${PYTHON:-.venv/bin/python}
split=${SPLIT:-training/splits/lgg-flair.json}  # the committed split; another only for tests and other data
if [[ $preset == gpu ]]; then
  budget=${BUDGET_MINUTES:-120} finetune=${FINETUNE_SHARE:-0} context=${CONTEXT_SHARE:-0}
else
  budget=${BUDGET_MINUTES:-180} finetune=${FINETUNE_SHARE:-0.5} context=${CONTEXT_SHARE:-0}
fi
calibration=${CALIBRATION_SHARE:-0.06}
deadline=$(($(date +%s) + $(awk -v b="$budget" 'BEGIN { printf "%d", b * 60 }')))
positive() { awk -v f="$1" 'BEGIN { exit !(f > 0) }'; }
# A run's minutes: its share of the time left, against the shares of every run still to come (its own included)
# and the calibrations' reserve; at least 0.1, so that a run started late still validates and saves its weights.
minutes() {
  awk -v left="$(($deadline - $(date +%s)))" -v own="$1" -v rest="$2" \
    'BEGIN { m = left / 60 * own / rest; printf "%.1f", (m > 0.1 ? m : 0.1) }'
}
train() {
  local model=$1 out=$2 budget_minutes=$3
  shift 3
  # Both networks deeply supervised (U-Net++ is by default; Attention U-Net's is off by default, as its published
  # model was trained): on a 2-core AVX2 CPU this command's minutes gave Attention U-Net 0.683 calibrated
  # validation Dice with it against 0.613 without; on a Zen 4 CPU with native bf16, where the same minutes fit four
  # times the steps, 0.768 against 0.778, within the noise of 14 validation patients (report, ablation).
  "$py" -m training.train --model "$model" --preset "$preset" --data "$data" --out "$out" \
    --split "$split" --no-progress --set deep_supervision=true \
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
  stage_dirs+=("$runs-context") stage_shares+=("$context")
  stage_args+=("${slices[*]} --set context_slices=${CONTEXT_SLICES:-1}")
fi
last=$((${#stage_dirs[@]} - 1))
models=(attention_unet unetpp) model_shares=(0.30 0.70)
# Every run's share of the whole budget, in the order they run, with the calibrations' reserve after the last.
run_shares=()
for i in "${!stage_dirs[@]}"; do
  for share in "${model_shares[@]}"; do
    run_shares+=("$(awk -v c="$calibration" -v f="${stage_shares[$i]}" -v s="$share" 'BEGIN { print (1 - c) * f * s }')")
  done
done
run=0
for i in "${!stage_dirs[@]}"; do
  mkdir -p "${stage_dirs[$i]}"
  # One model after the other, each with the whole machine: the training times in the report then compare.
  for model in "${models[@]}"; do
    read -r -a extra <<< "${stage_args[$i]}"
    if ((i > 0)); then extra+=(--init-from "${stage_dirs[$((i - 1))]}/$model"); fi
    if ((i < last)); then extra+=(--no-calibrate); fi
    rest=$(printf '%s\n' "${run_shares[@]:$run}" "$calibration" | awk '{ s += $1 } END { print s }')
    train "$model" "${stage_dirs[$i]}/$model" "$(minutes "${run_shares[$run]}" "$rest")" "${extra[@]}"
    run=$((run + 1))
  done
done
# Publishing is a separate, deliberate step: a new version replaces the published one only when it is better on
# the validation patients beyond their noise (training.select_version, README "Training").
echo "trained: ${stage_dirs[$last]}; publish a model only where this says REPLACE:"
for model in "${models[@]}"; do
  echo "  $py -m training.select_version --candidate ${stage_dirs[$last]}/$model --incumbent training/artifacts/$model" \
    "--data $data --split $split"
done
