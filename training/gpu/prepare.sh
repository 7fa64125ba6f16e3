#!/usr/bin/env bash
# Here, before a GPU run (README, "A run on a lent GPU"): the wheels the GPU machine lacks, and the dataset in
# four parts, each small enough to travel beside the repository and the wheels (64 MiB a call). Both land in
# ignored folders.
# Usage: training/gpu/prepare.sh [DATA_DIR]
set -euo pipefail
data=${1:-../shared/data/lgg-flair}
grep -qx '/.whl/' .git/info/exclude || echo '/.whl/' >> .git/info/exclude
# The GPU image has torch, numpy, scipy, pillow, tifffile, matplotlib, safetensors and tqdm; these it lacks (Python
# 3.12 there). The versions are the lock's.
wheels=(pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 nibabel==5.3.2
  pydicom==3.0.1 pyjpegls==1.5.1)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d .whl "${wheels[@]}"
rm -rf runs/gpu-data && mkdir -p runs/gpu-data/part{1,2,3,4}
# Patients dealt round-robin by size, so the four parts weigh about the same (about 26 MB each).
i=0
while read -r _ folder; do
  cp -r "$folder" "runs/gpu-data/part$((i % 4 + 1))/"
  i=$((i + 1))
done < <(du -s "$data"/*/ | sort -rn)
du -sh .whl runs/gpu-data/part*
