#!/usr/bin/env bash
# One prepared GPU check (run on a lent device machine, after
# prepare_device_run.sh here, carrying ".device"): installs the carried
# wheels, writes the real CIFAR-10 images, then runs the benchmark with the
# standard and the device-resident pipeline, vanilla and KD, fp32 and
# bf16 + channels-last, and optionally trains the device config for
# TRAIN_SECONDS. Figures go to stdout and to $OUT.
set -euo pipefail
OUT=${OUT:-/tmp/razor_wrn_device}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps .device/wheels/*.whl
python3 -m pip install -q --no-deps --no-build-isolation -e .
python3 .device/tools/cifar10_from_jpeg.py data/cifar10 > /dev/null
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"

bench() {  # NAME CONFIG [benchmark options]
    local name=$1 config=$2
    shift 2
    python3 tools/analysis_tools/benchmark.py "$config" --device cuda \
        --data real --data-root data/cifar10 --batch-size 128 \
        --iters "${ITERS:-100}" --warmup 20 --repeats 3 "$@" \
        2> "$OUT/$name.err" | tee "$OUT/$name.txt" | tail -9
}
WORKERS='train_dataloader.num_workers=8 val_dataloader.num_workers=8'
bench vanilla configs/vanilla/wrn16-w2_b128x1_cifar10.py --device-loader \
    --cudnn-benchmark --cfg-options $WORKERS
bench vanilla_bf16_cl configs/vanilla/wrn16-w2_b128x1_cifar10.py \
    --device-loader --cudnn-benchmark --amp bf16 --channels-last \
    --cfg-options $WORKERS
bench kd configs/kd/wrn40-2_to_wrn16-2.py --device-loader --cudnn-benchmark \
    --cfg-options $WORKERS

if [ "${TRAIN_SECONDS:-0}" -gt 0 ]; then
    # The 200-epoch recipe with the device pipeline; stopped after
    # TRAIN_SECONDS, the log then gives the time per epoch and top-1 so far.
    timeout "$TRAIN_SECONDS" python3 tools/train.py \
        configs/vanilla/wrn16-w2_b128x1_cifar10_device.py \
        --work-dir /tmp/razor_wrn_train --cfg-options \
        train_dataloader.data_root=data/cifar10 \
        val_dataloader.data_root=data/cifar10 \
        test_dataloader.data_root=data/cifar10 \
        default_hooks.checkpoint.max_keep_ckpts=1 > "$OUT/train.out" 2>&1 \
        || echo "training stopped (exit $?)"
    grep -E 'Epoch\(val\) \[[0-9]+\]\[[0-9]+/' "$OUT/train.out" | tail -3
fi
