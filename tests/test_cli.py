"""The command-line layer: config loading, user errors as one ``ERROR:``
line with exit code 1, and how ``tools/train.py`` applies its flags."""
import importlib
import importlib.util
import os
import os.path as osp
import runpy
import sys
import time
from pathlib import Path

import pytest
import torch

import razor_wrn  # noqa: F401  (compat shim, registries)
from razor_wrn import cli

# The real wait (conftest makes the suite's clock jump instead).
REAL_WAIT = cli.wait_for_the_next_second
from razor_wrn.apis import train as train_api
from razor_wrn.checkpoint import CheckpointError
from razor_wrn.cli import UserError, load_config, run_cli, writable_dir
from razor_wrn.datasets import CIFARDataError

REPO = Path(__file__).resolve().parents[1]
CONFIG = str(REPO / 'configs' / 'vanilla' / 'wrn16-w2_b128x1_cifar10.py')


@pytest.fixture(scope='module')
def train_tool():
    """``tools/train.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        'razor_wrn_tools_train', REPO / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def restore_local_rank(monkeypatch):
    # parse_args sets LOCAL_RANK in os.environ; undo it after each test.
    monkeypatch.delenv('LOCAL_RANK', raising=False)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------ load_config
def test_load_config_reads_the_config_and_merges_options():
    cfg = load_config(CONFIG, {'train_cfg.max_epochs': 2})

    assert cfg.model.backbone.depth == 16
    assert cfg.model.backbone.widen_factor == 2
    assert cfg.model.head.num_classes == 10
    assert cfg.train_cfg.max_epochs == 2
    assert cfg.train_cfg.val_interval == 1  # untouched siblings stay
    assert load_config(CONFIG).train_cfg.max_epochs == 200


def test_a_top_level_data_root_reaches_every_loader():
    cfg = load_config(CONFIG, {'data_root': 'my data/c10'})
    assert [cfg[f'{split}_dataloader'].dataset.data_root
            for split in ('train', 'val', 'test')] == ['my data/c10'] * 3
    # A device config's loaders take it as their own data_root.
    device = str(REPO / 'configs' / 'kd' / 'wrn40-2_to_wrn16-2_device.py')
    cfg = load_config(device, {'data_root': '/d',
                               'val_dataloader.data_root': '/v'})
    assert [cfg[f'{split}_dataloader'].data_root
            for split in ('train', 'val', 'test')] == ['/d', '/v', '/d']
    assert load_config(CONFIG).train_dataloader.dataset.data_root == \
        'data/cifar10'


def test_load_config_missing_file():
    with pytest.raises(UserError) as error:
        load_config('configs/nope.py')
    assert str(error.value) == "Config file not found: 'configs/nope.py'."


def test_load_config_without_model(tmp_path):
    path = write(tmp_path / 'no_model.py', 'train_cfg = dict(max_epochs=1)\n')
    with pytest.raises(UserError) as error:
        load_config(path)
    assert str(error.value) == f'Config {path!r} defines no `model`.'


def test_load_config_that_fails_to_evaluate(tmp_path):
    path = write(tmp_path / 'broken.py', 'model = dict(type=undefined)\n')
    with pytest.raises(UserError) as error:
        load_config(path)
    assert str(error.value) == (
        f"Could not read config {path!r}: NameError: name 'undefined' is "
        'not defined')
    assert isinstance(error.value.__cause__, NameError)


def test_load_config_with_missing_base(tmp_path):
    path = write(tmp_path / 'child.py',
                 "_base_ = ['./missing_base.py']\nmodel = dict()\n")
    with pytest.raises(UserError) as error:
        load_config(path)
    assert str(error.value).startswith(
        f'Could not read config {path!r}: FileNotFoundError: ')
    assert str(error.value).endswith(
        f"No such file or directory: '{tmp_path}/./missing_base.py'")


def test_load_config_syntax_error_is_a_user_error(tmp_path, capsys):
    path = write(tmp_path / 'syntax.py', 'model = dict(\n')

    with pytest.raises(UserError, match='Syntax error in config'):
        load_config(path)
    with pytest.raises(SystemExit) as exit_info:
        run_cli(lambda argv: load_config(path))
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err.startswith('ERROR: ')
    assert captured.err.count('\n') == 1


def test_syntax_error_names_the_config_file(tmp_path, capsys):
    path = write(tmp_path / 'syntax.py', 'model = dict(\n')

    with pytest.raises(SystemExit):
        run_cli(lambda argv: load_config(path))
    err = capsys.readouterr().err
    assert path in err
    assert 'line 1' in err


# ---------------------------------------------------------------- run_cli
def test_run_cli_passes_argv_and_returns_on_success(capsys):
    seen = []
    assert run_cli(seen.append, ['a.py', '--amp']) is None
    assert seen == [['a.py', '--amp']]
    assert capsys.readouterr().err == ''


@pytest.mark.parametrize('error', [
    UserError('Config file not found: x.py.'),
    CheckpointError('Checkpoint file not found: x.pth.'),
    CIFARDataError('data_batch_1 is missing.'),
    FloatingPointError('Non-finite loss at epoch 1.'),
    FileNotFoundError('data_root does not exist.'),
    SyntaxError('There are syntax errors in config file x.py.'),
],
                         ids=lambda error: type(error).__name__)
def test_run_cli_reports_user_errors_in_one_line(error, capsys, monkeypatch):
    monkeypatch.delenv('RAZOR_WRN_DEBUG', raising=False)

    def main(argv):
        raise error

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, [])
    assert exit_info.value.code == 1
    assert capsys.readouterr() == ('', f'ERROR: {error}\n')


def test_run_cli_names_the_error_type_when_the_message_is_empty(capsys):

    def main(argv):
        raise UserError()

    with pytest.raises(SystemExit):
        run_cli(main, [])
    assert capsys.readouterr().err == 'ERROR: UserError\n'


@pytest.mark.parametrize('tool, api, advice', [
    ('train.py', 'razor_wrn.apis.train',
     'The checkpoints already saved are kept (each is written whole or not '
     'at all); run the same command with --resume to continue from the '
     'newest.'),
    ('reproduce.py', 'razor_wrn.apis.reproduce',
     'Finished rows are kept; run the same command again to train only '
     'what is unfinished (an interrupted row resumes from its newest '
     'checkpoint).'),
])
def test_ctrl_c_ends_a_tool_in_one_line_with_what_to_do(
        tool, api, advice, capsys, monkeypatch):
    """Ctrl-C used to print a traceback of 31-81 lines ending in
    KeyboardInterrupt."""
    monkeypatch.delenv('RAZOR_WRN_DEBUG', raising=False)

    def interrupted(argv):
        raise KeyboardInterrupt

    # The script imports main from its API module when it runs.
    monkeypatch.setattr(importlib.import_module(api), 'main', interrupted)
    monkeypatch.setattr(sys, 'argv', [tool])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(Path(__file__).parents[1] / 'tools' / tool),
                       run_name='__main__')
    assert exit_info.value.code == 130
    assert capsys.readouterr() == (
        '', f'ERROR: Interrupted (Ctrl-C). {advice}\n')


def test_run_cli_lets_other_errors_propagate(capsys):
    bug = ValueError('a bug, not a user error')

    def main(argv):
        raise bug

    with pytest.raises(ValueError) as error:
        run_cli(main, [])
    assert error.value is bug
    assert capsys.readouterr().err == ''


def test_run_cli_prints_the_traceback_in_debug_mode(capsys, monkeypatch):
    monkeypatch.setenv('RAZOR_WRN_DEBUG', '1')

    def failing_main(argv):
        raise UserError('bad flag')

    with pytest.raises(SystemExit):
        run_cli(failing_main, [])
    err = capsys.readouterr().err
    assert err.startswith('Traceback (most recent call last):\n')
    assert 'in failing_main' in err
    assert err.endswith('UserError: bad flag\nERROR: bad flag\n')


# ------------------------------------------------- tools/train.py flags
def merged(train_tool, *flags):
    args = train_tool.parse_args([CONFIG, *flags])
    return train_tool.merge_args(
        load_config(args.config, args.cfg_options), args)


def test_train_defaults(train_tool):
    cfg = merged(train_tool)

    assert cfg.work_dir == osp.join('work_dirs', 'wrn16-w2_b128x1_cifar10')
    assert cfg.launcher == 'none'
    assert cfg.resume is False
    assert cfg.load_from is None
    assert 'type' not in cfg.optim_wrapper  # mmengine's OptimWrapper
    assert cfg.auto_scale_lr == dict(base_batch_size=128)
    assert cfg.val_cfg == dict(type='TensorValLoop')
    assert cfg.val_dataloader.batch_size == 128
    assert cfg.val_evaluator.type == 'Accuracy'


def test_train_work_dir(train_tool, tmp_path):
    assert merged(train_tool, '--work-dir',
                  str(tmp_path)).work_dir == str(tmp_path)
    # A work_dir set in the config (or --cfg-options) is kept.
    assert merged(train_tool, '--cfg-options',
                  'work_dir=runs/a').work_dir == 'runs/a'


def save_run_state(path: Path, epoch: int) -> None:
    torch.save({'meta': {'epoch': epoch}, 'state_dict': {}}, path)


def test_train_resume_without_value_resumes_the_latest(train_tool, tmp_path):
    save_run_state(tmp_path / 'epoch_1.pth', 1)
    save_run_state(tmp_path / 'epoch_2.pth', 2)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    cfg = merged(train_tool, '--work-dir', str(tmp_path), '--cfg-options',
                 'load_from=teacher.pth', '--resume')

    assert cfg.resume is True
    # The pointer decides, not the file names or their ages.
    assert cfg.load_from == str(tmp_path / 'epoch_1.pth')


def test_train_resume_without_value_in_an_empty_work_dir(train_tool,
                                                         tmp_path):
    with pytest.raises(CheckpointError) as error:
        merged(train_tool, '--work-dir', str(tmp_path / 'new'), '--resume')
    assert str(error.value) == (
        f"--resume: nothing to resume in {str(tmp_path / 'new')!r} (no "
        'checkpoint there). Train without --resume, pass --work-dir of the '
        'run to resume, or --resume CKPT.')


def test_train_resume_from_a_file(train_tool, tmp_path):
    checkpoint = tmp_path / 'epoch_3.pth'
    save_run_state(checkpoint, 3)
    cfg = merged(train_tool, '--resume', str(checkpoint))

    assert cfg.resume is True
    assert cfg.load_from == str(checkpoint)


def test_train_resume_from_a_url_is_not_checked_locally(train_tool):
    url = 'https://example.com/epoch_3.pth'
    cfg = merged(train_tool, '--resume', url)

    assert cfg.resume is True
    assert cfg.load_from == url


def test_train_resume_from_a_missing_file(train_tool, tmp_path):
    missing = str(tmp_path / 'epoch_9.pth')
    with pytest.raises(UserError) as error:
        merged(train_tool, '--resume', missing)
    assert str(error.value) == (
        f'--resume checkpoint not found: {missing!r}. Pass an existing '
        'checkpoint, or --resume without a value to resume from the latest '
        'checkpoint in the work dir.')


def test_train_amp_on_a_gpu(train_tool, monkeypatch):
    monkeypatch.setattr(train_api, 'get_device', lambda: 'cuda')
    cfg = merged(train_tool, '--amp')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.optim_wrapper.optimizer.lr == 0.1

    cfg = merged(train_tool, '--amp', '--cfg-options',
                 '+optim_wrapper.loss_scale=512')
    assert cfg.optim_wrapper.loss_scale == 512


def test_train_amp_on_a_cpu_is_bf16_autocast(train_tool, monkeypatch):
    monkeypatch.setattr(train_api, 'get_device', lambda: 'cpu')
    cfg = merged(train_tool, '--amp')
    assert cfg.optim_wrapper.type == 'BF16AutocastOptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper


def test_train_no_validate_clears_every_val_part(train_tool):
    cfg = merged(train_tool, '--no-validate')

    assert cfg.val_cfg is None
    assert cfg.val_dataloader is None
    assert cfg.val_evaluator is None
    assert cfg.test_dataloader.batch_size == 128  # test parts stay


def test_train_auto_scale_lr(train_tool):
    cfg = merged(train_tool, '--auto-scale-lr')
    assert cfg.auto_scale_lr == dict(base_batch_size=128, enable=True)


def test_train_launcher_and_local_rank(train_tool):
    cfg = merged(train_tool, '--launcher', 'pytorch', '--local-rank', '3')
    assert cfg.launcher == 'pytorch'
    assert os.environ['LOCAL_RANK'] == '3'


@pytest.mark.parametrize('argv, expected', [
    (['configs/nope.py'], "ERROR: Config file not found: 'configs/nope.py'."),
    ([CONFIG, '--resume', 'missing.pth'],
     "ERROR: --resume checkpoint not found: 'missing.pth'."),
],
                         ids=['missing-config', 'missing-resume'])
def test_train_main_reports_user_errors_before_building_a_runner(
        train_tool, argv, expected, capsys, monkeypatch):
    monkeypatch.setattr(
        train_api, 'build_runner',
        lambda cfg: pytest.fail('built a runner for a bad command line'))

    with pytest.raises(SystemExit) as exit_info:
        run_cli(train_tool.main, argv)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(expected)
    assert err.count('\n') == 1
    assert 'Traceback' not in err


def test_train_main_builds_and_trains_the_merged_config(
        train_tool, monkeypatch, tmp_path):
    trained = []

    class FakeRunner:

        def __init__(self, cfg):
            self.cfg = cfg

        def train(self):
            trained.append(self.cfg)

    monkeypatch.setattr(train_api, 'build_runner', FakeRunner)
    run_cli(train_tool.main, [CONFIG, '--work-dir', str(tmp_path), '--amp'])

    assert len(trained) == 1
    assert trained[0].work_dir == str(tmp_path)
    assert trained[0].optim_wrapper.type in ('AmpOptimWrapper',
                                             'BF16AutocastOptimWrapper')


def test_train_auto_scale_lr_without_a_base_batch_size(train_tool,
                                                       tmp_path):
    path = write(tmp_path / 'no_base.py',
                 f'_base_ = [{CONFIG!r}]\nauto_scale_lr = None\n')
    with pytest.raises(UserError) as error:
        merged(train_tool, '--auto-scale-lr', '--cfg-options',
               'auto_scale_lr=None')
    assert str(error.value) == (
        "--auto-scale-lr needs the batch size the config's lr is meant for: "
        'add auto_scale_lr = dict(base_batch_size=N) to the config, or pass '
        '--cfg-options auto_scale_lr.base_batch_size=N.')
    # The fix it names works on a config without auto_scale_lr.
    args = train_tool.parse_args([path, '--auto-scale-lr', '--cfg-options',
                                  'auto_scale_lr.base_batch_size=64'])
    cfg = train_tool.merge_args(load_config(path, args.cfg_options), args)
    assert cfg.auto_scale_lr == dict(base_batch_size=64, enable=True)


# ---------------------------------------------------- --cfg-options checks
KD_CONFIG = str(REPO / 'configs' / 'kd' / 'wrn40-2_to_wrn16-2.py')


def options(*argv):
    """--cfg-options as tools/train.py parses them."""
    parser = __import__('argparse').ArgumentParser()
    cli.add_run_arguments(parser, 'x=1')
    return parser.parse_args(['--cfg-options', *argv]).cfg_options


@pytest.mark.parametrize('key, closest', [
    ('randomnes.seed', 'randomness.seed'),
    ('train_cfg.max_epoch', 'train_cfg.max_epochs'),
    ('train_dataloader.dataset.data_rot',
     'train_dataloader.dataset.data_root'),
    ('optim_wrapper.optimizer.learning_rate', 'optim_wrapper.optimizer.lr'),
    # Not an argument of WideResNet, nor of CheckpointHook (which takes
    # **kwargs and would pass it to the first save).
    ('model.backbone.widen_factr', 'model.backbone.widen_factor'),
    ('default_hooks.checkpoint.sav_last',
     'default_hooks.checkpoint.save_last'),
])
def test_unknown_option_key_names_the_closest_key(key, closest):
    with pytest.raises(UserError) as error:
        load_config(CONFIG, options(f'{key}=0'))
    assert str(error.value) == (
        f"--cfg-options {key!r}: the config has no such key (did you mean "
        f"{closest!r}?). To add a new key, write it as +{key}=VALUE.")


def test_option_keys_that_exist_runner_arguments_and_new_keys_merge(
        tmp_path):
    path = write(tmp_path / 'listed.py',
                 f"_base_ = [{CONFIG!r}]\n"
                 "param_scheduler = [dict(type='MultiStepLR', "
                 "milestones=[100, 150])]\n")
    cfg = load_config(path, options(
        'train_dataloader.dataset.data_root=my data/cifar',
        'param_scheduler.0.milestones=[1,2]', 'randomness.seed=None',
        'work_dir=runs/a', '+optim_wrapper.clip_grad.max_norm=5',
        'model.backbone.widen_factor=1', 'load_from=x.pth'))

    assert cfg.train_dataloader.dataset.data_root == 'my data/cifar'
    assert cfg.param_scheduler[0].milestones == [1, 2]
    assert cfg.randomness.seed is None
    assert cfg.work_dir == 'runs/a'
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=5)
    assert cfg.model.backbone.widen_factor == 1
    assert cfg.load_from == 'x.pth'
    # Arguments of the registered class a type=... dict builds.
    cfg = load_config(path, options('default_hooks.checkpoint.save_last=False',
                                    'optim_wrapper.optimizer.nesterov=True'))
    assert cfg.default_hooks.checkpoint.save_last is False
    assert cfg.optim_wrapper.optimizer.nesterov is True
    # A class outside the registries takes anything unlike its keys.
    device = str(REPO / 'configs/vanilla/wrn16-w2_b128x1_cifar10_device.py')
    assert load_config(device, options(
        'train_dataloader.device=cpu')).train_dataloader.device == 'cpu'
    with pytest.raises(UserError,
                       match="did you mean 'train_dataloader.split'"):
        load_config(device, options('train_dataloader.splt=test'))
    with pytest.raises(UserError, match="'param_scheduler.1.milestones'"):
        load_config(path, options('param_scheduler.1.milestones=[1]'))


def test_option_value_of_the_wrong_kind():
    with pytest.raises(UserError) as error:
        load_config(CONFIG, options('train_cfg.max_epochs=abc'))
    assert str(error.value) == (
        "--cfg-options train_cfg.max_epochs='abc': the config holds a number "
        'there (200), not a string.')


def test_option_value_with_a_comma_must_be_quoted():
    with pytest.raises(UserError) as error:
        load_config(CONFIG, options('train_dataloader.dataset.data_root=a,b'))
    assert str(error.value).endswith(
        'A value with a comma is read as a list: quote it, e.g. '
        'train_dataloader.dataset.data_root="a,b".')
    cfg = load_config(CONFIG, options(
        'train_dataloader.dataset.data_root="runs/a,b c"',
        'model.head.topk=1,5'))
    assert cfg.train_dataloader.dataset.data_root == 'runs/a,b c'
    assert cfg.model.head.topk == [1, 5]


def test_option_without_a_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        options('train_cfg.max_epochs')
    assert exit_info.value.code == 2
    assert "--cfg-options 'train_cfg.max_epochs': write KEY=VALUE" in (
        capsys.readouterr().err)


def test_disabling_a_project_default_hook_removes_it():
    cfg = load_config(KD_CONFIG, options('default_hooks.teacher_eval=None',
                                         'default_hooks.checkpoint=None'))
    assert 'teacher_eval' not in cfg.default_hooks
    # mmengine's own default hooks are disabled by None itself.
    assert cfg.default_hooks.checkpoint is None


@pytest.mark.parametrize('workers, persistent', [(0, False), (2, True)])
def test_persistent_workers_follow_num_workers(workers, persistent):
    cfg = load_config(CONFIG, options(
        f'train_dataloader.num_workers={workers}'))
    assert cfg.train_dataloader.persistent_workers is persistent
    assert cfg.val_dataloader.persistent_workers is True


def test_a_named_training_loop_drops_the_schedules_by_epoch():
    # The base schedule's dict(by_epoch=True, ...) gets a type: mmengine
    # would refuse both, the loop's class takes no by_epoch.
    cfg = load_config(CONFIG, options(
        '+train_cfg.type=CapturedEpochBasedTrainLoop',
        'train_cfg.max_epochs=3'))
    assert cfg.train_cfg == dict(type='CapturedEpochBasedTrainLoop',
                                 max_epochs=3, val_interval=1)
    with pytest.raises(UserError, match='train_cfg names the loop '
                       'IterBasedTrainLoop but sets by_epoch=True'):
        load_config(CONFIG, options('+train_cfg.type=IterBasedTrainLoop'))


def test_writable_dir(tmp_path):
    assert writable_dir(str(tmp_path / 'a b,c'), '--work-dir') == str(
        tmp_path / 'a b,c')
    assert (tmp_path / 'a b,c').is_dir()
    (tmp_path / 'file').write_text('')
    with pytest.raises(UserError) as error:
        writable_dir(str(tmp_path / 'file' / 'run'), '--work-dir')
    assert str(error.value) == (
        f"--work-dir {str(tmp_path / 'file' / 'run')!r} cannot be created "
        '(Not a directory): pass a folder you can write to.')
    with pytest.raises(UserError) as error:
        writable_dir(str(tmp_path / 'file'), '--out folder')
    assert str(error.value) == (
        f"--out folder {str(tmp_path / 'file')!r} is a file, not a folder: "
        'pass a folder you can write to.')


def test_runners_built_back_to_back_keep_their_own_logs(tmp_path,
                                                        monkeypatch):
    """mmengine names a run's logger after the config and the second it
    started, its log folder after that second, and reuses an instance of
    that name: two runs of one config started within a second would share
    the first run's logger and its log file."""
    # A clock that stands still unless slept on.
    clock = [1_700_000_000.25]
    monkeypatch.setattr(time, 'time', lambda: clock[0])
    def sleep(seconds: float) -> None:
        clock[0] += seconds

    monkeypatch.setattr(time, 'sleep', sleep)
    monkeypatch.setattr(cli, 'wait_for_the_next_second', REAL_WAIT)
    cfg = load_config(CONFIG, {'model.backbone.depth': 10,
                               'model.backbone.widen_factor': 1})
    runners = []
    # Two work dirs in one second, then the first again.
    for name in ('a', 'b', 'a'):
        cfg.work_dir = str(tmp_path / name)
        runners.append(cli.build_runner(cfg.copy()))
    first, second, third = runners
    assert first.timestamp == second.timestamp != third.timestamp
    assert first.log_dir != third.log_dir
    assert len({id(r.logger) for r in runners}) == 3
    second.logger.info('only in the second log')
    for runner, lines in ((first, 0), (second, 1), (third, 0)):
        log, = Path(runner.log_dir).glob('*.log')
        assert log.read_text().count('only in the second log') == lines


def test_a_log_folder_of_this_second_from_another_process_is_not_reused(
        tmp_path, monkeypatch):
    """A resumed job (``tools/reproduce.py`` runs each in its own process)
    started within the second its interrupted run started would log into
    that run's folder: the process remembers nothing of it, the disk
    does."""
    clock = [1_700_000_000.25]
    monkeypatch.setattr(time, 'time', lambda: clock[0])
    monkeypatch.setattr(time, 'sleep',
                        lambda seconds: clock.__setitem__(0, clock[0] +
                                                          seconds))
    monkeypatch.setattr(cli, 'wait_for_the_next_second', REAL_WAIT)
    cfg = load_config(CONFIG, {'model.backbone.depth': 10,
                               'model.backbone.widen_factor': 1})
    cfg.work_dir = str(tmp_path / 'job')
    second = time.strftime('%Y%m%d_%H%M%S', time.localtime(clock[0]))
    (tmp_path / 'job' / second).mkdir(parents=True)
    runner = cli.build_runner(cfg)
    assert runner.timestamp != second
    assert Path(runner.log_dir).name == runner.timestamp
    assert not any((tmp_path / 'job' / second).iterdir())
