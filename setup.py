from setuptools import find_packages, setup

setup(
    name='razor_wrn',
    version='0.1.0',
    description='Knowledge distillation of Wide Residual Networks on '
    'mmengine, mmpretrain and mmrazor',
    packages=find_packages(include=['razor_wrn', 'razor_wrn.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine==0.10.7',
        # mmrazor 1.0.0 asserts mmcv <= 2.1.0; the lite build has a wheel.
        'mmcv-lite==2.1.0',
        'mmpretrain==1.2.0',
        'mmrazor==1.0.0',
        'numpy',
        # mmrazor imports joblib without declaring it.
        'joblib',
        # mmrazor imports pkg_resources, removed in setuptools 81.
        'setuptools<81',
        'scipy',  # mmrazor's OFD margins
        # tools/train.py --tensorboard (mmengine's TensorboardVisBackend).
        'tensorboard',
        # tools/deployment/export_onnx.py: torch.onnx's default (dynamo)
        # exporter needs onnxscript; onnxruntime runs the check.
        'onnx',
        'onnxscript',
        'onnxruntime',
        'pytest',
        # The test suite runs on every core (pytest.ini).
        'pytest-xdist',
    ],
)
