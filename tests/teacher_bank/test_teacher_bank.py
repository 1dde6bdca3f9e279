"""Teacher-output bank: the builder's entries are the online teacher's
logits for every view; a KD run fed by the bank follows the online run; fill
mode stores exactly what it computes; every mismatch is refused with one
error naming it."""
import argparse
import importlib.util
import json
from pathlib import Path
from typing import Callable, List, Tuple

import numpy as np
import pytest
import torch
from mmcv.transforms import RandomFlip
from mmengine.registry import DATASETS, MODELS, init_default_scope
from mmengine.runner import Runner
from mmpretrain.datasets.transforms import PackInputs, RandomCrop

from razor_wrn.cli import load_config, run_cli
from razor_wrn.checkpoint import file_sha256
from razor_wrn.config_options import ConfigOptionAction
from razor_wrn.teacher_bank import (TeacherBank, TeacherBankError,
                                    TeacherBankFile)

REPO = Path(__file__).resolve().parents[2]
KD = 'configs/kd/wrn40-2_to_wrn16-2.py'
# WRN-10-1 student and teacher, and crops padded by 1 (not 4): 18 views of
# each of the 10 images, 180 teacher forwards per bank.
PADDING = 1
TINY = [f'train_dataloader.dataset.pipeline.0.padding={PADDING}',
        'model.architecture.backbone.depth=10',
        'model.architecture.backbone.widen_factor=1',
        'model.teacher.backbone.depth=10',
        'model.teacher.backbone.widen_factor=1']
VIEWS = [(oy, ox, flip) for oy in range(2 * PADDING + 1)
         for ox in range(2 * PADDING + 1)
         for flip in (False, True)]


def mmpretrain_views(img: np.ndarray, offset: Tuple[int, int],
                     flip: bool) -> torch.Tensor:
    """mmpretrain's pipeline with its draws forced; the packed CHW input."""
    crop = RandomCrop(crop_size=32, padding=PADDING)
    crop.rand_crop_params = lambda _: (*offset, 32, 32)
    mirror = RandomFlip(prob=0.5, direction='horizontal')
    mirror._choose_direction = lambda: 'horizontal' if flip else None
    return PackInputs()(mirror(crop(dict(img=img.copy()))))['inputs']


def kd_cfg(options: List[str], config: str = KD):
    """The config with ``--cfg-options`` parsed as the tools parse them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=ConfigOptionAction)
    init_default_scope('mmrazor')
    return load_config(config, parser.parse_args(['--o', *options]).o)


def scalars(work_dir: Path) -> List[dict]:
    path = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    return [row for row in map(json.loads, path.read_text().splitlines())
            if 'loss' in row]


@pytest.fixture(scope='module')
def setup(tmp_path_factory, make_tiny_cifar10, data_options):
    """10 training images, a saved WRN-10-1 teacher and its fp32 bank."""
    root = tmp_path_factory.mktemp('bank')
    data = make_tiny_cifar10(per_class_train=1, per_class_test=1)
    options = data_options(data, 2) + TINY
    # One teacher every time: how far float rounding carries the bank run
    # from the online one over five epochs depends on the teacher.
    torch.manual_seed(0)
    teacher = MODELS.build(
        kd_cfg(options + ['model.teacher_ckpt=None']).model).teacher
    with torch.no_grad():  # confident logits, so KD terms are not ~0
        teacher.head.fc.weight.mul_(20)
    ckpt = root / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    options.append(f'model.teacher_ckpt={ckpt}')
    spec = importlib.util.spec_from_file_location(
        'build_teacher_bank', REPO / 'tools' / 'build_teacher_bank.py')
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    bank = root / 'bank'
    build.main([KD, '--out', str(bank), '--batch-size', '90',
                '--cfg-options', *options])
    return dict(root=root, options=options, ckpt=ckpt, build=build,
                bank=str(bank))


def test_bank_holds_the_online_teacher_logits_for_every_view(setup):
    bank = TeacherBankFile(setup['bank'])
    header = bank.header
    assert bank.logits.shape == (10, 18, 10) and bank.filled.all()
    assert (header['crop_size'], header['padding'], header['dtype'],
            header['num_classes'], header['split']) == (
                32, PADDING, 'float32', 10, 'train')
    assert header['teacher_ckpt_sha256'] == file_sha256(setup['ckpt'])
    assert header['mean'] == pytest.approx([125.307, 122.961, 113.8575])
    cfg = kd_cfg(setup['options'])
    algorithm = MODELS.build(cfg.model).eval()
    img = DATASETS.build(cfg.train_dataloader.dataset).get_data_info(3)['img']
    inputs = torch.stack([mmpretrain_views(img, v[:2], v[2]) for v in VIEWS])
    with torch.no_grad():
        online = algorithm.teacher(algorithm.data_preprocessor(
            dict(inputs=inputs), False)['inputs'], mode='tensor')
    stored = bank.logits[3, [bank.view_index(*v) for v in VIEWS]]
    torch.testing.assert_close(torch.from_numpy(stored), online, atol=1e-5,
                               rtol=0)


def test_fp16_bank_and_an_interrupted_build_resumes(setup, capsys):
    out = setup['root'] / 'bank16'
    argv = [KD, '--out', str(out), '--dtype', 'float16', '--batch-size',
            '90', '--cfg-options', *setup['options']]
    setup['build'].main(argv)
    fp32 = TeacherBankFile(setup['bank']).logits
    bank = TeacherBankFile(str(out), writable=True)
    built = np.array(bank.logits)
    assert built.dtype == np.float16
    np.testing.assert_allclose(built.astype(np.float32), fp32,
                               rtol=2.0**-11, atol=2.0**-24)
    # As if killed after 4 images: the rest is recomputed, nothing else.
    bank.filled[4:] = False
    bank.logits[4:] = 0
    bank.logits[:4] = 7  # kept: proves done images are not recomputed
    bank.flush()
    del bank
    capsys.readouterr()
    setup['build'].main(argv)
    assert '4 of 10 images done, 6 to go' in capsys.readouterr().out
    resumed = TeacherBankFile(str(out)).logits
    assert (resumed[:4] == 7).all()
    np.testing.assert_array_equal(resumed[4:], built[4:])
    with pytest.raises(SystemExit):  # same folder, other dtype
        run_cli(setup['build'].main, [a if a != 'float16' else 'float32'
                                      for a in argv])
    assert 'holds a bank of another run' in capsys.readouterr().err


def test_kd_from_the_bank_follows_the_online_run(setup, tools, tmp_path):
    # At lr 0.1, steps on batches of 2 carry float rounding (the bank's
    # logits come from batches of another size) to 1e-3 in a weight
    # within ten steps for some teachers; at 0.01 both runs stay within
    # 3e-7 of each other, so the comparison can be tight.
    common = ['--no-validate', '--cfg-options', *setup['options'],
              'train_cfg.max_epochs=2', 'optim_wrapper.optimizer.lr=0.01',
              'randomness.seed=0', 'randomness.deterministic=True']
    runs = {}
    for name, extra in (('online', []), ('bank', [
            f'model.teacher_bank.path={setup["bank"]}',
            'model.teacher_bank.mode=read'])):
        tools['train'].main([KD, '--work-dir', str(tmp_path / name),
                             *common, *extra])
        runs[name] = (scalars(tmp_path / name), torch.load(
            tmp_path / name / 'epoch_2.pth',
            weights_only=True)['state_dict'])
    (online, online_weights), (banked, bank_weights) = runs.values()
    assert len(online) == len(banked) == 10
    # Terms well above the 1e-5 tolerance of the comparison below.
    assert min(row['loss_kd'] for row in online) > 1e-3
    for ours, theirs in zip(banked, online):
        assert ours['step'] == theirs['step']
        for key in ('loss', 'loss_kd', 'loss_student'):
            assert abs(ours[key] - theirs[key]) <= 1e-5, (ours, theirs)
    for key, value in online_weights.items():
        torch.testing.assert_close(bank_weights[key], value, atol=1e-5,
                                   rtol=0)


def test_fill_mode_stores_what_it_computes_and_resumes(setup, tools,
                                                       tmp_path):
    opts = ['--no-validate', '--cfg-options', *setup['options'],
            f'model.teacher_bank.path={tmp_path / "empty"}',
            'model.teacher_bank.mode=fill', 'randomness.seed=0']
    tools['train'].main([KD, '--work-dir', str(tmp_path), *opts,
                         'train_cfg.max_epochs=2'])
    own = TeacherBankFile(str(tmp_path / 'teacher_bank'))
    first = int(own.filled.sum())
    assert 10 < first <= 20  # 20 views seen, most of them distinct
    full = TeacherBankFile(setup['bank'])
    np.testing.assert_allclose(own.logits[own.filled], full.logits[own.filled],
                               atol=1e-5, rtol=0)
    assert (own.logits[~own.filled] == 0).all()
    log = sorted(tmp_path.glob('*/*.log'))[-1].read_text()
    assert f'teacher ran on {first} of 20 training views' in log
    tools['train'].main([KD, '--work-dir', str(tmp_path), '--resume', *opts,
                         'train_cfg.max_epochs=3'])
    added = int(TeacherBankFile(str(tmp_path / 'teacher_bank')).filled.sum())
    log = sorted(tmp_path.glob('*/*.log'))[-1].read_text()
    # The resumed run starts from the saved bank: it computes only new views.
    assert f'teacher ran on {added - first} of 10 training views' in log


def test_the_device_loader_reads_the_same_bank(setup, tmp_path):
    from razor_wrn.datasets.device_cifar import DeviceCIFAR10Loader
    cfg = kd_cfg(setup['options'])
    algorithm = MODELS.build(cfg.model).train()
    loader = DeviceCIFAR10Loader(cfg.train_dataloader.dataset.data_root,
                                 batch_size=4, device='cpu', seed=3,
                                 padding=PADDING)
    # Gathered from the memory-mapped file (the KD run above: from memory).
    bank = TeacherBank(path=setup['bank'], memmap=True)
    bank.attach(algorithm, loader, str(tmp_path))
    assert bank.logits is None
    data = algorithm.data_preprocessor(next(iter(loader)), True)
    bank.record(algorithm, data['inputs'], data['data_samples'])
    recorder = algorithm.distiller.teacher_recorders.get_recorder('logits')
    with torch.no_grad():
        online = algorithm.teacher(data['inputs'], mode='tensor')
    torch.testing.assert_close(recorder.data_buffer[0], online, atol=1e-5,
                               rtol=0)


def attach(setup, tmp_path, options=(), edit: Callable = lambda cfg: None,
           bank: str = None) -> str:
    cfg = kd_cfg(setup['options'] + list(options))
    edit(cfg)
    algorithm = MODELS.build(cfg.model)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return TeacherBank(path=bank or setup['bank']).attach(
        algorithm, loader, str(tmp_path))


def test_a_matching_run_attaches(setup, tmp_path):
    assert '180 of 180 views, float32' in attach(setup, tmp_path)


@pytest.fixture
def other_teacher(setup, tmp_path) -> str:
    state = torch.load(setup['ckpt'], weights_only=True)['state_dict']
    state['head.fc.bias'] = state['head.fc.bias'] + 1
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': state}, path)
    return f'model.teacher_ckpt={path}'


def test_a_bank_of_another_teacher_stops_the_train_tool(
        setup, tools, tmp_path, other_teacher, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(tools['train'].main, [
            KD, '--work-dir', str(tmp_path), '--no-validate',
            '--cfg-options', *setup['options'], other_teacher,
            f'model.teacher_bank.path={setup["bank"]}'])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'teacher_weights_sha256' in err[0], err


@pytest.mark.parametrize('change, named', [
    ('data', 'data_sha256'),
    ('train_dataloader.dataset.pipeline.0.padding=2', 'padding'),
    ('model.architecture.data_preprocessor.mean=[0,0,0]', 'mean'),
])
def test_a_bank_of_another_run_is_refused(setup, tmp_path, make_tiny_cifar10,
                                          change, named):
    if change == 'data':
        other = make_tiny_cifar10(per_class_train=1, per_class_test=1, seed=1)
        change = f'train_dataloader.dataset.data_root={other}'
    with pytest.raises(TeacherBankError, match=f'{named}: bank'):
        attach(setup, tmp_path, [change])


def test_other_random_transforms_are_refused(setup, tmp_path):
    def add_resized_crop(cfg):
        cfg.train_dataloader.dataset.pipeline.insert(
            1, dict(type='RandomResizedCrop', scale=32))
    with pytest.raises(TeacherBankError, match="'RandomResizedCrop'"):
        attach(setup, tmp_path, edit=add_resized_crop)


def test_a_partial_bank_is_refused_in_read_mode(setup, tmp_path):
    import shutil
    partial = tmp_path / 'partial'
    shutil.copytree(setup['bank'], partial)
    bank = TeacherBankFile(str(partial), writable=True)
    bank.filled[0, 0] = False
    bank.flush()
    with pytest.raises(TeacherBankError, match='holds 179 of 180 views'):
        attach(setup, tmp_path, bank=str(partial))


@pytest.mark.parametrize('config, recorder', [
    ('configs/kd/fitnets_wrn40-2_to_wrn16-2.py', "'hint'"),
    ('configs/kd/at_wrn40-2_to_wrn16-2.py', "'backbone.layer1'"),
    ('configs/kd/ofd_wrn28-4_to_wrn16-2.py', 'StageOutputsRecorder'),
    ('configs/kd/crd_wrn40-2_to_wrn16-2.py', "'neck.gap'"),
])
def test_distillers_of_teacher_features_are_refused(config, recorder):
    cfg = kd_cfg(['model.teacher_ckpt=None',
                  'model.teacher_bank.path=BANK'], config)
    with pytest.raises(TeacherBankError, match=recorder):
        MODELS.build(cfg.model)
