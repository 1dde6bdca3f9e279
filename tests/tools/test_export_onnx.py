"""export_onnx.py: the ONNX graph (preprocessing folded in, dynamic batch)
gives PyTorch's logits; a distillation checkpoint gives its student."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

from conftest import load_tool

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
KD = 'configs/kd/wrn40-2_to_wrn16-2.py'
TINY = ['backbone.depth=10', 'backbone.widen_factor=1']


@pytest.fixture(scope='module')
def export_onnx():
    """The tool as a module, loaded by the tests that use it: it imports
    onnxruntime, and onnx is imported in the test (together 0.7 s of every
    test process's collection otherwise)."""
    return load_tool('deployment/export_onnx.py')


@pytest.fixture(scope='module')
def student(tmp_path_factory, export_onnx):
    """A randomly initialised WRN-10-1 classifier, saved as a plain and as a
    distillation checkpoint (teacher weights beside ``architecture.*``)."""
    cfg = export_onnx.load_config(VANILLA, {
        f'model.{o.split("=")[0]}': int(o.split('=')[1]) for o in TINY})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.init_weights()
    folder = tmp_path_factory.mktemp('onnx')
    weights = model.state_dict()
    torch.save({'state_dict': weights}, folder / 'plain.pth')
    torch.save({'state_dict': {
        **{f'architecture.{k}': v for k, v in weights.items()},
        'teacher.head.fc.bias': torch.zeros(10)}}, folder / 'kd.pth')
    return model, folder


def test_onnx_logits_equal_pytorch_on_test_images(student, tiny_cifar10,
                                                  capsys, export_onnx):
    import onnx
    import onnxruntime
    model, folder = student
    out = folder / 'plain.onnx'
    result = export_onnx.main([
        VANILLA, str(folder / 'plain.pth'), '--out', str(out),
        '--data-root', tiny_cifar10, '--cfg-options',
        *[f'model.{o}' for o in TINY]])
    assert result['max_abs_diff'] < 1e-4 and result['top1_agreement'] == 1
    assert 'On 40 test images' in capsys.readouterr().out
    assert [p.name for p in folder.glob('plain.onnx*')] == ['plain.onnx']
    graph = onnx.load(out).graph
    assert [d.dim_param != '' for d in
            graph.input[0].type.tensor_type.shape.dim] == [
                True, False, False, False]
    # Raw 0-255 pixels in, the PyTorch model's own normalisation folded in.
    images = np.random.default_rng(1).integers(0, 256, (3, 3, 32, 32))
    session = onnxruntime.InferenceSession(str(out))
    logits = session.run(None, {'images': images.astype(np.float32)})[0]
    with torch.no_grad():
        expected = model(model.data_preprocessor(
            dict(inputs=torch.from_numpy(images).byte()))['inputs'],
            mode='tensor')
    np.testing.assert_allclose(logits, expected.numpy(), atol=1e-4)


def test_distillation_checkpoint_exports_its_student(student, export_onnx):
    """What is exported from a distillation checkpoint is its student alone
    (the export itself is the one tested above)."""
    model, folder = student
    cfg = export_onnx.load_config(KD, {
        f'model.architecture.{o.split("=")[0]}': int(o.split('=')[1])
        for o in TINY})
    classifier = export_onnx.build_classifier(cfg, str(folder / 'kd.pth'))
    assert not classifier.training
    exported, expected = classifier.state_dict(), model.state_dict()
    assert exported.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(exported[key], value), key
