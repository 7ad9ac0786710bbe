#!/usr/bin/env bash
# Regenerate docs/figures/ from a trained run and a random trunk (issue 7's comparison).
# Usage: bash docs/make_figures.sh RUN_DIR [DATA_ROOT]
set -euo pipefail
run=${1:?usage: make_figures.sh RUN_DIR [DATA_ROOT]}
data=${2:-../shared/data}
out=$(dirname "$0")/figures
mkdir -p "$out"
python - "$out" <<'PY'
import sys
from PIL import Image
from skimage import data
Image.fromarray(data.chelsea()).save(f"{sys.argv[1]}/content_chelsea.png")
Image.fromarray(data.coffee()).save(f"{sys.argv[1]}/style_coffee.png")
PY
for trunk in "$run" random; do
  name=$([ "$trunk" = random ] && echo random || echo trained)
  monossl viz filters "$trunk" --arch cifar --out "$out/filters_$name.png"
  monossl viz actmax "$trunk" --arch cifar --layer conv2 --units 0,1,2,3 --size 128 --out "$out/actmax_conv2_$name.png"
  monossl viz retrieval "$trunk" --arch cifar --dataset cifar10 --data-root "$data" --layer conv2 --units 0,1,2,3 \
    --out "$out/retrieval_conv2_$name.png"
done
monossl style "$out/content_chelsea.png" "$out/style_coffee.png" --features "$run" --compare random --size 256 \
  --out "$out/style_trained_vs_random.png"
