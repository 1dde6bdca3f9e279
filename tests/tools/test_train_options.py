"""tools/train.py options that used to end in a raw traceback: --amp on a
CPU, documented --cfg-options, and user errors stopped before a run starts."""
import json
import math

import pytest
import torch
from torch import nn

from conftest import run_tool
from razor_wrn.apis import train as train_api
from razor_wrn.engine.optim_wrappers import BF16AutocastOptimWrapper

VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
KD = 'configs/kd/wrn40-2_to_wrn16-2.py'
TINY_WRN = ['model.backbone.depth=10', 'model.backbone.widen_factor=1']



def test_bf16_autocast_optim_wrapper_casts_the_forward_only():
    model = nn.Linear(4, 2)
    wrapper = BF16AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.ones(3, 4))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())
    assert model.weight.dtype == torch.float32
    assert model(torch.ones(1, 4)).dtype == torch.float32


def test_amp_on_a_cpu_trains_with_a_finite_loss(
        tools, tmp_path, make_tiny_cifar10, data_options, capsys,
        monkeypatch):
    monkeypatch.setattr(train_api, 'get_device', lambda: 'cpu')
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    code, out = run_tool(tools['train'], [
        VANILLA, '--amp', '--no-validate', '--work-dir', str(tmp_path),
        '--cfg-options', 'train_cfg.max_epochs=1', *data_options(data, 20),
        *TINY_WRN], capsys)
    assert code == 0, out.err
    scalars = next(tmp_path.glob('*/vis_data/scalars.json'))
    losses = [json.loads(line)['loss']
              for line in scalars.read_text().splitlines()]
    assert len(losses) == 1 and math.isfinite(losses[0])
    weights = torch.load(tmp_path / 'epoch_1.pth',
                         weights_only=True)['state_dict']
    assert weights['backbone.conv1.weight'].dtype == torch.float32


def test_kd_without_the_teacher_check_and_without_workers(
        tools, tmp_path, make_tiny_cifar10, capsys):
    """README: `default_hooks.teacher_eval=None` disables the teacher check,
    `train_dataloader.num_workers=0` suits small machines. The config's
    loaders keep persistent_workers=True."""
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    tiny = []
    for net in ('architecture', 'teacher'):
        tiny += [f'model.{net}.backbone.depth=10',
                 f'model.{net}.backbone.widen_factor=1']
    loaders = []
    for loader in ('train', 'val', 'test'):
        loaders += [f'{loader}_dataloader.dataset.data_root={data}',
                    f'{loader}_dataloader.batch_size=10',
                    f'{loader}_dataloader.num_workers=0']
    code, out = run_tool(tools['train'], [
        KD, '--work-dir', str(tmp_path), '--cfg-options',
        'train_cfg.max_epochs=1', 'model.teacher_ckpt=None',
        'default_hooks.teacher_eval=None', *tiny, *loaders], capsys)
    assert code == 0, out.err
    assert (tmp_path / 'epoch_1.pth').is_file()
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'TeacherEvalHook' not in log
    assert 'Teacher on the validation' not in log


@pytest.mark.parametrize('argv, message', [
    (['--cfg-options', 'randomnes.seed=0'],
     "ERROR: --cfg-options 'randomnes.seed': the config has no such key (did "
     "you mean 'randomness.seed'?). To add a new key, write it as "
     '+randomnes.seed=VALUE.\n'),
    (['--cfg-options', 'train_cfg.max_epochs=abc'],
     "ERROR: --cfg-options train_cfg.max_epochs='abc': the config holds a "
     'number there (200), not a string.\n'),
    (['--cfg-options', 'model.backbone.type=NoSuchNet'],
     'ERROR: The config cannot be built: KeyError: NoSuchNet is not in the '
     'mmpretrain::model registry. Please check whether the value of '
     '`NoSuchNet` is correct or it was registered as expected. More details '
     'can be found at https://mmengine.readthedocs.io/en/latest/'
     'advanced_tutorials/config.html#import-the-custom-module. Check the '
     'config and --cfg-options (RAZOR_WRN_DEBUG=1 shows where it failed).\n'),
], ids=['typo', 'value-kind', 'unknown-type'])
def test_config_mistakes_stop_before_anything_is_written(
        tools, tmp_path, argv, message, capsys):
    work_dir = tmp_path / 'run'
    code, out = run_tool(tools['train'], [VANILLA, '--work-dir', str(work_dir),
                                      *argv], capsys)
    assert (code, out.err) == (1, message)
    assert not list(work_dir.glob('**/*.pth'))


def test_unwritable_work_dir(tools, tmp_path, capsys):
    (tmp_path / 'file').write_text('')
    work_dir = tmp_path / 'file' / 'run'
    code, out = run_tool(tools['train'], [VANILLA, '--work-dir', str(work_dir)],
                     capsys)
    assert (code, out.err) == (
        1, f'ERROR: --work-dir {str(work_dir)!r} cannot be created (Not a '
        'directory): pass a folder you can write to.\n')


def _one_error(code, out) -> str:
    """The single ERROR line of a run stopped by a user error."""
    assert code == 1, out
    lines = out.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('ERROR: '), out.err
    return lines[0]


def test_switching_the_optimizer_type_names_the_inherited_argument(
        tools, tmp_path, capsys):
    # A user config over the reference recipe, without _delete_=True:
    # mmengine keeps SGD's momentum for Adam (a raw TypeError at build).
    config = tmp_path / 'adam.py'
    config.write_text(
        f"_base_ = ['{(tools['train'].__file__).rsplit('/tools/', 1)[0]}/"
        f"{VANILLA}']\n"
        "optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))\n")
    work_dir = tmp_path / 'run'
    error = _one_error(*run_tool(tools['train'], [
        str(config), '--work-dir', str(work_dir)], capsys))
    assert error.startswith(
        "ERROR: optim_wrapper.optimizer: Adam takes no argument 'momentum'.")
    assert 'write _delete_=True in that dict' in error
    assert not work_dir.exists()

    # The same on the command line, for a scheduler; the command it
    # suggests works.
    error = _one_error(*run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir), '--cfg-options',
        'param_scheduler.type=CosineAnnealingLR', '+param_scheduler.T_max=5'],
        capsys))
    assert error.startswith(
        "ERROR: param_scheduler: CosineAnnealingLR takes no argument "
        "'milestones'.")
    assert error.endswith(
        'pass --cfg-options param_scheduler._delete_=True '
        'param_scheduler.type=CosineAnnealingLR and each of its arguments.')
    from razor_wrn.cli import load_config
    options = tools['train'].parse_args([
        VANILLA, '--cfg-options', 'param_scheduler._delete_=True',
        'param_scheduler.type=CosineAnnealingLR', 'param_scheduler.T_max=5',
        'optim_wrapper.optimizer._delete_=True',
        'optim_wrapper.optimizer.type=Adam', 'optim_wrapper.optimizer.lr=0.01',
        'optim_wrapper.optimizer.betas=0.8,0.9']).cfg_options
    cfg = load_config(VANILLA, options)
    assert cfg.param_scheduler == dict(type='CosineAnnealingLR', T_max=5)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=0.01,
                                               betas=[0.8, 0.9])


def test_a_device_loader_refuses_a_dataloaders_worker_options(
        tools, tmp_path, capsys):
    # Device loaders live in a registry of their own, which the check of
    # type=... dicts used to miss: num_workers reached the constructor as a
    # raw TypeError.
    work_dir = tmp_path / 'run'
    error = _one_error(*run_tool(tools['train'], [
        'configs/vanilla/wrn16-w2_b128x1_cifar10_device.py', '--work-dir',
        str(work_dir), '--cfg-options', '+train_dataloader.num_workers=0'],
        capsys))
    assert error == (
        "ERROR: train_dataloader: DeviceCIFAR10Loader takes no argument "
        "'num_workers': a device-resident loader holds the split on the "
        "device and has no dataset, sampler or worker processes. Remove "
        "'num_workers', or use the standard config (the same name without "
        "_device) for a DataLoader.")
    # Any other key of a device loader is checked like any type=... dict.
    error = _one_error(*run_tool(tools['train'], [
        'configs/vanilla/wrn16-w2_b128x1_cifar10_device.py', '--work-dir',
        str(work_dir), '--cfg-options', '+train_dataloader.shufle=True'],
        capsys))
    assert error.startswith(
        "ERROR: train_dataloader: DeviceCIFAR10Loader takes no argument "
        "'shufle' (did you mean 'shuffle'?).")
    assert not work_dir.exists()


def test_a_loss_option_is_checked_before_the_run(tools, tmp_path, capsys):
    # HintonKDLoss takes (temperature, loss_weight); nn.Module's **kwargs
    # used to let any name through to the model build.
    work_dir = tmp_path / 'run'
    error = _one_error(*run_tool(tools['train'], [
        KD, '--work-dir', str(work_dir), '--cfg-options',
        'model.distiller.distill_losses.loss_kd.tau=2'], capsys))
    assert error.startswith(
        "ERROR: --cfg-options 'model.distiller.distill_losses.loss_kd.tau': "
        "the config has no such key (did you mean 'model.distiller."
        "distill_losses.loss_kd.temperature'?)")
    # Written as a new key, it is still no argument of the loss.
    error = _one_error(*run_tool(tools['train'], [
        KD, '--work-dir', str(work_dir), '--cfg-options',
        '+model.distiller.distill_losses.loss_kd.tempreature=2'], capsys))
    assert error.startswith(
        'ERROR: model.distiller.distill_losses.loss_kd: HintonKDLoss takes '
        "no argument 'tempreature' (did you mean 'temperature'?).")
    assert not work_dir.exists()


NO_BATCHES = (
    'ERROR: The training data gives no batches: train_dataloader has {} '
    'images, batch_size {}, drop_last=True (per process). Lower '
    'train_dataloader.batch_size, set train_dataloader.drop_last=False, or '
    'check the data set (data_root, indices).')


@pytest.mark.parametrize('option, error', [
    ('train_dataloader.dataset.indices=[]', NO_BATCHES.format(0, 10)),
    ('train_dataloader.batch_size=64', NO_BATCHES.format(20, 64)),
    ('val_dataloader.dataset.indices=[]',
     'ERROR: The data of val_dataloader gives no batches (0 images): check '
     'val_dataloader.dataset (data_root, indices) or pass --no-validate.'),
], ids=['empty-subset', 'drop-last', 'empty-val'])
def test_a_loader_without_batches_stops_before_the_first_epoch(
        tools, tmp_path, make_tiny_cifar10, data_options, capsys, option,
        error):
    # 20 training images; mmengine used to train zero iterations and save
    # the initial weights as the best (or divide by zero in its sampler).
    data = make_tiny_cifar10(per_class_train=2, per_class_test=1)
    work_dir = tmp_path / 'run'
    assert _one_error(*run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir), '--cfg-options',
        *data_options(data, 10), *TINY_WRN, '+train_dataloader.drop_last=True',
        option], capsys)) == error
    assert not list(work_dir.glob('*.pth'))
    assert not (work_dir / 'last_checkpoint').exists()


def test_a_full_disk_when_the_run_starts(tools, tmp_path, capsys,
                                         monkeypatch):
    # The Runner dumps the config into the work dir: a raw OSError before.
    from mmengine.config import Config

    def full_disk(self, path):
        raise OSError(28, 'No space left on device', path)

    monkeypatch.setattr(Config, 'dump', full_disk)
    work_dir = tmp_path / 'run'
    error = _one_error(*run_tool(tools['train'], [
        VANILLA, '--work-dir', str(work_dir)], capsys))
    # The first dump is the visualizer's copy in the log folder.
    assert error.startswith(
        f"ERROR: Could not write the run's files in {work_dir} ({work_dir}/")
    assert error.endswith(
        'config.py): No space left on device. Free space, or pass --work-dir '
        'on a disk you can write to.')
