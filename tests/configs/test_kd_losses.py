"""Each distillation config's loss dict at one batch equals a hand
computation from the student's and the teacher's own outputs.

The models are the configs' own, shrunk by depth/width overrides (WRN-10-2
teacher, WRN-10-1 student), with a teacher checkpoint whose BN statistics
are random and a teacher with dropout, so a teacher left in train mode (BN
or dropout) gives other features. A wrong
weight, temperature or CE weight, a term computed twice or a skipped
connector changes a number here.
"""
import copy
import functools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS
from scipy.stats import norm

import razor_wrn  # noqa: F401
from razor_wrn.models.losses.crd_loss import crd_loss, exp_scores

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SMALL = {
    'model.architecture.backbone.depth': 10,
    'model.architecture.backbone.widen_factor': 1,
    'model.teacher.backbone.depth': 10,
    'model.teacher.backbone.widen_factor': 2,
    # Dropout that only an eval-mode teacher skips.
    'model.teacher.backbone.droprate': 0.3,
}


def _features(classifier, images):
    """Raw stage outputs, pre-ReLU BN outputs and logits, by hand."""
    backbone = classifier.backbone
    x = backbone.conv1(images)
    raw = []
    for layer in (backbone.layer1, backbone.layer2, backbone.layer3):
        x = layer(x)
        raw.append(x)
    pre_relu = [backbone.layer2[0].bn1(raw[0]), backbone.layer3[0].bn1(raw[1]),
                backbone.bn1(raw[2])]
    logits = classifier.head.fc(F.relu(pre_relu[2]).mean(dim=(2, 3)))
    return dict(raw=raw, pre_relu=pre_relu, logits=logits)


def _kl(p_teacher, log_p_student):
    """KL(teacher || student) summed over classes, averaged over the batch.
    """
    return (torch.special.xlogy(p_teacher, p_teacher)
            - p_teacher * log_p_student).sum(1).mean()


def _hinton(s, t, labels, connectors, before):
    T = 4.0
    kd = _kl(F.softmax(t['logits'] / T, 1),
             F.log_softmax(s['logits'] / T, 1)) * T**2
    return dict(loss_student=0.1 * F.cross_entropy(s['logits'], labels),
                loss_kd=0.9 * kd)


def _conv_bn(connector, x):
    """A 1x1 conv + BN connector's output in training mode, by hand from
    its weights (BN normalises by the batch's biased variance)."""
    conv, bn = connector.conv_module.conv, connector.conv_module.bn
    y = F.conv2d(x, conv.weight, conv.bias)
    mean = y.mean((0, 2, 3), keepdim=True)
    var = y.var((0, 2, 3), unbiased=False, keepdim=True)
    return ((y - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1)
            + bn.bias.view(1, -1, 1, 1))


def _fitnets(s, t, labels, connectors, before, relu=False):
    # MMRazor's connector: conv + BN; RepDistiller's and mdistiller's
    # ConvReg (CIFAR-100): conv + BN + ReLU.
    hint = _conv_bn(connectors['hint'], s['raw'][1])
    if relu:
        hint = hint.clamp(min=0)
    return dict(loss_student=F.cross_entropy(s['logits'], labels),
                loss_hint=100.0 * ((hint - t['raw'][1])**2).mean())


def _attention(feature):
    return F.normalize(feature.pow(2).mean(1).flatten(1), dim=1)


def _at(s, t, labels, connectors, before):
    losses = dict(loss_student=F.cross_entropy(s['logits'], labels))
    for stage in range(3):
        diff = _attention(s['raw'][stage]) - _attention(t['raw'][stage])
        losses[f'loss_at_layer{stage + 1}'] = 1000.0 * diff.pow(2).mean()
    return losses


def _dkd(s, t, labels, connectors, before, beta=8.0):
    T, alpha = 4.0, 1.0
    gt = F.one_hot(labels, s['logits'].shape[1]).float()
    p_s, p_t = F.softmax(s['logits'] / T, 1), F.softmax(t['logits'] / T, 1)
    binary_s = torch.stack([(p_s * gt).sum(1), (p_s * (1 - gt)).sum(1)], 1)
    binary_t = torch.stack([(p_t * gt).sum(1), (p_t * (1 - gt)).sum(1)], 1)
    tckd = _kl(binary_t, binary_s.log()) * T**2
    nckd = _kl(F.softmax(t['logits'] / T - 1000 * gt, 1),
               F.log_softmax(s['logits'] / T - 1000 * gt, 1)) * T**2
    return dict(loss_student=F.cross_entropy(s['logits'], labels),
                loss_dkd=alpha * tckd + beta * nckd)


def _ofd_margin(bn):
    """Heo et al.'s margin: E[x | x < 0] of the BN's output distribution."""
    std, mean = bn.weight.abs(), bn.bias
    cdf = torch.tensor(norm.cdf((-mean / std).numpy()), dtype=torch.float32)
    expected = (-std * torch.exp(-(mean / std)**2 / 2) / math.sqrt(2 * math.pi)
                / cdf + mean)
    return torch.where(cdf > 0.001, expected, -3 * std).view(1, -1, 1, 1)


def _ofd(s, t, labels, connectors, before):
    teacher = before.teacher
    bns = (teacher.backbone.layer2[0].bn1, teacher.backbone.layer3[0].bn1,
           teacher.backbone.bn1)
    losses = dict(loss_student=F.cross_entropy(s['logits'], labels))
    for stage, weight in enumerate((0.25, 0.5, 1.0)):
        s_f = connectors[f'bn{stage + 1}_student'](s['pre_relu'][stage])
        t_f = torch.max(t['pre_relu'][stage], _ofd_margin(bns[stage]))
        keep = (s_f > t_f) | (t_f > 0)
        losses[f'loss_ofd_bn{stage + 1}'] = weight * (
            (s_f - t_f).pow(2) * keep).sum() / len(labels) / 1000.0
    return losses


def _pearson(a, b, dim):
    a = a - a.mean(dim, keepdim=True)
    b = b - b.mean(dim, keepdim=True)
    return (a * b).sum(dim) / (a.norm(dim=dim) * b.norm(dim=dim) + 1e-8)


def _dist(s, t, labels, connectors, before):
    T, beta, gamma = 4.0, 2.0, 2.0
    p_s, p_t = F.softmax(s['logits'] / T, 1), F.softmax(t['logits'] / T, 1)
    inter = 1 - _pearson(p_s, p_t, 1).mean()  # per image, over classes
    intra = 1 - _pearson(p_s, p_t, 0).mean()  # per class, over images
    return dict(loss_student=F.cross_entropy(s['logits'], labels),
                loss_dist=T**2 * (beta * inter + gamma * intra))


# CRD's bank rows in this test: images 0-3 are the batch (classes 3, 7, 0,
# 3); every class has two rows, so each anchor has exactly six rows of
# other classes, and with K = 6 RepDistiller's 'exact' draw (other classes,
# without replacement) takes all six: the loss, a sum over negatives, is
# then known whatever their order. Uniform draws from all eight rows
# would include the anchor's own class or repeat a row.
CRD_BANK_LABELS = torch.tensor([3, 7, 0, 3, 7, 0, 5, 5])
CRD_SMALL = {'model.distiller.distill_losses.loss_crd.num_samples': 8,
             'model.distiller.distill_losses.loss_crd.num_negatives': 6}


def _crd(s, t, labels, connectors, before):
    crd = before.distiller.distill_losses['loss_crd']  # banks before the step
    embed_s = connectors['embed_s'](F.relu(s['pre_relu'][2]).mean((2, 3)))
    embed_t = connectors['embed_t'](F.relu(t['pre_relu'][2]).mean((2, 3)))
    # Positive: the image's own row (its sample_idx); then the other
    # classes' rows.
    contrast = torch.tensor([
        [i] + [j for j, c in enumerate(CRD_BANK_LABELS.tolist()) if c != y]
        for i, y in enumerate(labels.tolist())])
    # Z: the first training batch's estimate, M times the mean score.
    normalizers = crd.num_samples * torch.stack([
        exp_scores(embed_s, crd.memory_teacher, contrast, 0.07).mean(),
        exp_scores(embed_t, crd.memory_student, contrast, 0.07).mean()])
    return dict(
        loss_student=F.cross_entropy(s['logits'], labels),
        loss_crd=0.8 * crd_loss(embed_s, embed_t, crd.memory_student,
                                crd.memory_teacher, contrast, normalizers,
                                temperature=0.07))


def _hcl(fs, ft):
    """ReviewKD's hierarchical context loss of one pair, by hand."""
    terms, weights, weight = [F.mse_loss(fs, ft)], [1.0], 1.0
    for level in (4, 2, 1):
        if level < fs.shape[2]:
            weight /= 2
            terms.append(weight * F.mse_loss(F.adaptive_avg_pool2d(fs, level),
                                             F.adaptive_avg_pool2d(ft, level)))
            weights.append(weight)
    return sum(terms) / sum(weights)


def _reviewkd(s, t, labels, connectors, before):
    # Student: raw stage outputs and the pooled feature, fused by the ABF
    # chain (tested by hand in tests/models/connectors); teacher: pre-ReLU
    # stage outputs and the pooled feature.
    pooled = [F.relu(f['pre_relu'][2]).mean((2, 3))[:, :, None, None]
              for f in (s, t)]
    fused = connectors['abf']([*s['raw'], pooled[0]])
    loss = sum(_hcl(fs, ft) for fs, ft in zip(fused,
                                               [*t['pre_relu'], pooled[1]]))
    return dict(loss_student=F.cross_entropy(s['logits'], labels),
                loss_reviewkd=5.0 * loss)


HAND = {
    'wrn40-2_to_wrn16-2.py': _hinton,
    'wrn40-2_to_wrn16-2_device.py': _hinton,
    'wrn40-2_to_wrn16-2_b16x8_device.py': _hinton,
    'fitnets_wrn40-2_to_wrn16-2.py': _fitnets,
    'at_wrn40-2_to_wrn16-2.py': _at,
    'dkd_wrn40-2_to_wrn16-2.py': _dkd,
    'ofd_wrn28-4_to_wrn16-2.py': _ofd,
    'ofd_wrn28-4_to_wrn16-2_b16x8_device.py': _ofd,
    'dist_wrn40-2_to_wrn16-2.py': _dist,
    'crd_wrn40-2_to_wrn16-2.py': _crd,
    'reviewkd_wrn40-2_to_wrn16-2.py': _reviewkd,
}
# The CIFAR-100 twins (100 classes) of every method, for both students.
HAND.update({
    name.replace('wrn28-4', 'wrn40-2').replace('wrn16-2', student)
    .replace('.py', '_cifar100.py'): hand
    for name, hand in list(HAND.items()) if not name.endswith('_device.py')
    for student in ('wrn16-2', 'wrn40-1')})
# The CPU-sized pair (CIFAR-10 only).
HAND.update({'wrn16-2_to_wrn10-1.py': _hinton,
             'wrn16-2_to_wrn10-1_device.py': _hinton})
# mdistiller's CIFAR-100 setting of both WRN pairs; RepDistiller's and
# mdistiller's FitNets regressor (ConvReg: conv + BN + ReLU).
for _student in ('wrn16-2', 'wrn40-1'):
    HAND[f'dkd_wrn40-2_to_{_student}_cifar100.py'] = functools.partial(
        _dkd, beta=6.0)
    HAND[f'fitnets_wrn40-2_to_{_student}_cifar100.py'] = functools.partial(
        _fitnets, relu=True)
# overhaul-distillation's and mdistiller's OFD run the teacher in training
# mode: its BN normalises the batch by the batch's own statistics.
BATCH_STATS_TEACHER = {f'ofd_wrn40-2_to_{s}_cifar100.py'
                       for s in ('wrn16-2', 'wrn40-1')}


def _bn_from_batch(classifier):
    """A copy of ``classifier`` whose BNs (only) are in training mode."""
    classifier = copy.deepcopy(classifier)
    for module in classifier.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.train()
    return classifier


def test_every_kd_config_has_a_hand_computation():
    assert sorted(HAND) == sorted(p.name for p in CONFIGS.glob('kd/*.py'))


@pytest.fixture(scope='module')
def teacher_ckpts(tmp_path_factory):
    """``{'': path, '_cifar100': path}``: WRN-10-2 classifiers with random
    weights and BN statistics for CIFAR-10 and CIFAR-100."""
    return {suffix: _random_teacher(
        tmp_path_factory, f'kd/wrn40-2_to_wrn16-2{suffix}.py')
        for suffix in ('', '_cifar100')}


def _random_teacher(tmp_path_factory, config: str) -> str:
    cfg = Config.fromfile(CONFIGS / config)
    teacher = CLS_MODELS.build(
        dict(cfg.model.teacher, backbone=dict(
            type='WideResNet', depth=10, widen_factor=2)))
    generator = torch.Generator().manual_seed(1)
    state = {}
    for key, value in teacher.state_dict().items():
        if value.is_floating_point():
            value = torch.rand(value.shape, generator=generator) + 0.5 \
                if key.endswith(('running_var', 'bn1.weight', 'bn2.weight')) \
                else torch.randn(value.shape, generator=generator) * 0.3
        state[key] = value
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save({'state_dict': state}, path)
    return str(path)


@pytest.mark.parametrize('name', sorted(HAND))
def test_losses_equal_the_hand_computation(name, teacher_ckpts):
    ckpt = teacher_ckpts['_cifar100' if name.endswith('_cifar100.py') else '']
    cfg = Config.fromfile(CONFIGS / 'kd' / name)
    cfg.merge_from_dict(dict(SMALL, **{'model.teacher_ckpt': ckpt}))
    if name.startswith('crd_'):
        cfg.merge_from_dict(CRD_SMALL)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    if name.startswith('crd_'):
        model.distiller.distill_losses['loss_crd'].bind_training_set(
            CRD_BANK_LABELS)
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(4, 3, 32, 32, generator=generator)
    labels = torch.tensor([3, 7, 0, 3])
    samples = [DataSample(metainfo=dict(sample_idx=i)).set_gt_label(int(y))
               for i, y in enumerate(labels)]
    # The teacher's reference features come from an untouched eval copy.
    before = copy.deepcopy(model)
    before.teacher.eval()
    teacher_state = copy.deepcopy(model.teacher.state_dict())
    reference_teacher = _bn_from_batch(before.teacher) \
        if name in BATCH_STATS_TEACHER else before.teacher

    model.train()
    losses = model.loss(images, samples)
    with torch.no_grad():
        expected = HAND[name](_features(model.student, images),
                              _features(reference_teacher, images), labels,
                              model.distiller.connectors, before)
    # The teacher's weights and BN buffers (running statistics and batch
    # count) are as loaded, whichever statistics it normalised with.
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_state[key]), key

    # One forward of each network fed the recorders (a repeated pass would
    # leave two records and a wasted step).
    for recorders in (model.distiller.student_recorders,
                      model.distiller.teacher_recorders):
        assert all(len(r.data_buffer) == 1
                   for r in recorders.recorders.values())
    assert sorted(losses) == sorted(expected)
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(
            value.item(), rel=1e-5, abs=1e-7), key
        assert value.item() > 1e-4, key  # every term is exercised
