"""ReviewKD's attention-based fusion against a hand computation of the
authors' ABF chain (dvlab-research/ReviewKD, mdistiller) from the
connector's own weights."""
import math

import pytest
import torch
import torch.nn.functional as F

import razor_wrn  # noqa: F401  (compat shim before mmrazor)
from mmrazor.registry import MODELS


def _bn(x, bn):
    """BatchNorm in training mode: the batch's mean and biased variance."""
    mean = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    return ((x - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1)
            + bn.bias.view(1, -1, 1, 1))


def _abf(abf, x, residual):
    """One ABF by hand: 1x1 conv + BN; with a residual, nearest upsampling
    and the two sigmoid attention maps; 3x3 conv + BN."""
    x = _bn(F.conv2d(x, abf.conv1[0].weight), abf.conv1[1])
    if residual is not None:
        h, w = x.shape[2:]
        rows = torch.arange(h) * residual.shape[2] // h
        cols = torch.arange(w) * residual.shape[3] // w
        residual = residual[:, :, rows][:, :, :, cols]
        conv = abf.att_conv[0]
        att = torch.sigmoid(F.conv2d(torch.cat([x, residual], 1),
                                     conv.weight, conv.bias))
        x = x * att[:, 0:1] + residual * att[:, 1:2]
    out = _bn(F.conv2d(x, abf.conv2[0].weight, padding=1), abf.conv2[1])
    return out, x


def test_review_path_matches_the_hand_computation():
    torch.manual_seed(0)
    connector = MODELS.build(dict(type='ABFConnector', in_channels=[3, 4, 6],
                                  out_channels=[5, 7, 8]))
    # Random BN affines, so a swapped or skipped BN changes the numbers.
    for module in connector.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_()
    feats = [torch.randn(4, 3, 8, 8), torch.randn(4, 4, 4, 4),
             torch.randn(4, 6)]  # shallow to deep; the last one pooled
    outs = connector(feats)

    abfs = connector.abfs
    assert [a.att_conv is None for a in abfs] == [False, False, True]
    assert abfs[0].conv1[0].out_channels == 6  # min(512, deepest: 6)
    with torch.no_grad():
        out2, r2 = _abf(abfs[2], feats[2][:, :, None, None], None)
        out1, r1 = _abf(abfs[1], feats[1], r2)
        out0, _ = _abf(abfs[0], feats[0], r1)
    assert [tuple(o.shape) for o in outs] == [(4, 5, 8, 8), (4, 7, 4, 4),
                                              (4, 8, 1, 1)]
    for ours, hand in zip(outs, (out0, out1, out2)):
        torch.testing.assert_close(ours, hand, rtol=1e-5, atol=1e-5)


def test_reference_init_and_channel_checks():
    torch.manual_seed(0)
    connector = MODELS.build(dict(type='ABFConnector', in_channels=[16, 32],
                                  out_channels=[32, 64], mid_channels=8))
    for abf in connector.abfs:
        for conv in (abf.conv1[0], abf.conv2[0]):
            # kaiming_uniform_(a=1): U(+-sqrt(3 / fan_in)).
            fan_in = conv.weight[0].numel()
            assert conv.weight.abs().max() <= math.sqrt(3 / fan_in)
            assert conv.weight.std().item() == pytest.approx(
                1 / math.sqrt(fan_in), rel=0.2)
            assert conv.bias is None
    assert connector.abfs[1].conv1[0].out_channels == 8
    with pytest.raises(ValueError, match='2 student and 1 teacher'):
        MODELS.build(dict(type='ABFConnector', in_channels=[16, 32],
                          out_channels=[32]))
