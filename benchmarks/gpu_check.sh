#!/usr/bin/env bash
# GPU check for a person with one NVIDIA GPU: the mixed_float16 / XLA / loss-scale table and a
# 200-step sample.flags run, in about 10 minutes.
#
#   python3 -m venv .venv && . .venv/bin/activate && pip install -e . "tensorflow[and-cuda]>=2.21,<2.22"
#   bash benchmarks/gpu_check.sh [workdir]        # default workdir: runs/gpu_check (replaced)
#
# Prints: the GPU TensorFlow sees; benchmarks/train_step.py at 256x256 for float32 and
# mixed_float16, XLA off and on, batch 1, 4 and 16 (images/s and GFLOP/s per cell); then
# `train.py --flagfile=sample.flags --train_steps=200` with precision auto (mixed_float16 on a
# GPU, so the dynamic loss scale is exercised), its wall time, the final loss scales from
# TensorBoard and the last validation line. Nothing here runs on a CPU-only machine: it stops
# with one line when no GPU is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
workdir="${1:-runs/gpu_check}"

# TensorFlow's start-up lines go to stderr, hidden here; the answer is on stdout.
python - 2>/dev/null <<'PY'
import sys
import tensorflow as tf
gpus = tf.config.list_physical_devices('GPU')
if not gpus:
    print('gpu_check.sh: error: TensorFlow sees no GPU (install tensorflow[and-cuda] and check '
          'nvidia-smi).')
    sys.exit(1)
for gpu in gpus:
    print('GPU:', tf.config.experimental.get_device_details(gpu).get('device_name', gpu.name))
PY

python benchmarks/train_step.py --precisions=float32,mixed_float16 --jit=off,on \
    --batch_sizes=1,4,16 --seconds=10

rm -rf "$workdir"
started=$(date +%s)
python train.py --flagfile=sample.flags --train_steps=200 --eval_every=100 \
    --workdir="$workdir" | tail -n 3
echo "sample.flags, 200 steps: $(( $(date +%s) - started )) s wall time, workdir $workdir"

python - "$workdir" <<'PY'
import glob, os, sys
import tensorflow as tf
values = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], 'train', 'events.out.tfevents.*'))):
    for record in tf.data.TFRecordDataset(path):
        event = tf.compat.v1.Event.FromString(record.numpy())
        for value in event.summary.value:
            if 'loss_scale' in value.tag:
                values[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
for tag, (step, value) in sorted(values.items()):
    print(f'{tag} at step {step}: {value:g}')
if not values:
    print('no loss-scale summaries: precision was not mixed_float16')
PY
