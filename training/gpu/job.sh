#!/usr/bin/env bash
# On the lent GPU machine (the `device` tool's run), from the repository root, after training/gpu/prepare.sh here
# and the four data parts carried (README, "A run on a lent GPU"): trains both models with the gpu preset in
# BUDGET_MINUTES (default 7), judges each against the published one on the validation patients
# (training.select_version), runs the workers' prediction path on CUDA, and leaves under $OUT the report and the
# artifacts worth bringing back, in chunks under the 16 MiB a file may have.
set -euo pipefail
out=${OUT:-runs/gpu-out/returned}
mkdir -p "$out" runs/gpu-out
py=${PYTHON:-python3}
if compgen -G ".whl/*.whl" > /dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD/shared:$PWD${PYTHONPATH:+:$PYTHONPATH}
data=runs/gpu-data/all
# One folder of patients, hard links to the parts' files (the loader does not follow symbolic links).
rm -rf "$data" && mkdir -p "$data" && cp -rl runs/gpu-data/part*/* "$data"/
echo "patients: $(find "$data"/ -mindepth 1 -maxdepth 1 | wc -l)" | tee "$out/summary.txt"
"$py" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")' \
  | tee -a "$out/summary.txt"
# TRAIN=0 skips to the judging and packing (a second call on the warm machine, after training finished).
if [[ ${TRAIN:-1} != 0 ]]; then
  PYTHON=$py BUDGET_MINUTES=${BUDGET_MINUTES:-7} training/train_all.sh gpu "$data" runs/gpu > runs/gpu-out/train_all.log 2>&1
fi
split=${SPLIT:-training/splits/lgg-flair.json}
keep=()
for model in attention_unet unetpp; do
  "$py" -m training.select_version --candidate "runs/gpu/$model" --incumbent "training/artifacts/$model" \
    --data "$data" --split "$split" --out "runs/gpu-out/select-$model.json" 2>> runs/gpu-out/select.log | tee -a "$out/summary.txt"
  if grep -q '"replace": true' "runs/gpu-out/select-$model.json"; then keep+=("$model"); fi
done
"$py" -m training.gpu.cuda_path --data "$data" --split "$split" --out runs/gpu-out/cuda_path.json | tee -a "$out/summary.txt"
# Logs and verdicts for every model; weights only for those that replace the published ones (the rest would not
# be published, and every file back counts).
files=(runs/gpu-out/*.log runs/gpu-out/*.json runs/gpu/*.log)
for model in "${keep[@]}"; do files+=("runs/gpu/$model"); done
tar czf runs/gpu-out/gpu-run.tgz --exclude='checkpoint.pt' "${files[@]}"
split -b 15m -d runs/gpu-out/gpu-run.tgz runs/gpu-out/gpu-run.tgz.part-
echo "replace: ${keep[*]:-none}; chunks: $(ls runs/gpu-out/gpu-run.tgz.part-* | wc -l)" | tee -a "$out/summary.txt"
# At most 8 files and 64 MiB come back a call: the first four chunks now, any others with a later call
# (cp runs/gpu-out/gpu-run.tgz.part-0[4-7] "$OUT"/).
ls runs/gpu-out/gpu-run.tgz.part-* | head -4 | xargs -I{} cp {} "$out"/
