#!/usr/bin/env bash
# Gather, into .device/ (git-ignored), what a lent GPU machine lacks for
# device_check.sh: it has python3, torch, numpy, Pillow and OpenCV but no
# OpenMMLab packages, no internet and no ../shared. Then, with the device
# tool: run `bash tools/analysis_tools/device_check.sh` carrying ".device".
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-../shared}
rm -rf .device
mkdir -p .device/wheels .device/data .device/tools
# --no-deps: the machine's own torch/numpy/opencv must stay; these are the
# OpenMMLab packages and the pure-Python requirements it does not have.
python -m pip download -q --no-cache-dir --no-deps --only-binary=:all: \
    --python-version 3.12 --platform any --dest .device/wheels \
    mmengine==0.10.7 mmcv-lite==2.1.0 mmpretrain==1.2.0 mmrazor==1.0.0 \
    addict termcolor yapf platformdirs tomli mat4py modelindex \
    ordered-set markdown model-index "importlib-metadata<9" zipp "setuptools<81"
cp "$SHARED/data/cifar10-jpeg.npz" .device/data/
cp "$SHARED/tools/cifar10_from_jpeg.py" .device/tools/
du -sh .device
