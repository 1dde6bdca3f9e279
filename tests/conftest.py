"""Shared pytest fixtures: tiny CIFAR-10 / CIFAR-100 in the official format.

``tiny_cifar10`` is the ``data_root`` of a 80 + 40 image CIFAR-10 (a dir that
contains ``cifar-10-batches-py``), for dataset, Runner and tool tests::

    dataset = dict(type='LenientCIFAR10', data_root=tiny_cifar10,
                   download=False, ...)

``tiny_cifar100`` is the same for a 200 + 100 image CIFAR-100
(``cifar-100-python``, ``LenientCIFAR100``). Their md5 sums differ from the
official files, so loading them emits a ``CIFARChecksumWarning``.
``make_tiny_cifar10(...)`` / ``make_tiny_cifar100(...)`` write other sizes,
or images whose class is learnable (``signal=True``: each class has its own
mean colour, so a small CNN separates them in a few steps despite crop/flip);
all are written by ``razor_wrn.datasets.synthetic_cifar``.

``tools`` gives tools/train.py, tools/test.py and the KD converter as modules
(tests call their ``main(argv)``); ``data_options`` points a config's loaders
at tiny data.
"""
import copy
import gc
import importlib.util
import io
import os
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Callable, Dict, Optional, Tuple

import pytest


def _tiny_cifar_factory(tmp_path_factory: pytest.TempPathFactory,
                        num_classes: int, default_train: int,
                        default_test: int) -> Callable[..., str]:
    """``(per_class_train=default_train, per_class_test=default_test,
    signal=False, seed=0) -> data_root`` writing each distinct request once
    per session."""
    written: Dict[Tuple[int, int, bool, int], str] = {}

    def make(per_class_train: int = default_train,
             per_class_test: int = default_test,
             signal: bool = False,
             seed: int = 0) -> str:
        key = (per_class_train, per_class_test, signal, seed)
        if key not in written:
            data_root = tmp_path_factory.mktemp(f'cifar{num_classes}')
            from razor_wrn.datasets.synthetic_cifar import \
                write_synthetic_cifar
            write_synthetic_cifar(str(data_root), num_classes, *key)
            written[key] = str(data_root)
        return written[key]

    return make


@pytest.fixture(scope='session')
def make_tiny_cifar10(
        tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Factory ``(per_class_train=8, per_class_test=4, signal=False, seed=0)
    -> data_root`` of a CIFAR-10 folder, each distinct request written once
    per session.

    Treat the returned folders as read-only: other tests share them. Copy one
    (``shutil.copytree``) before changing files in it.
    """
    return _tiny_cifar_factory(tmp_path_factory, 10, 8, 4)


@pytest.fixture(scope='session')
def tiny_cifar10(make_tiny_cifar10: Callable[..., str]) -> str:
    """``data_root`` (str) of a tiny CIFAR-10: 8 train / 4 test per class.

    80 training images (16 per ``data_batch_k``) and 40 test images, uniform
    random pixels from seed 0, labels ``i % 10`` for image ``i``. Read-only.
    """
    return make_tiny_cifar10()


@pytest.fixture(scope='session')
def make_tiny_cifar100(
        tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Factory ``(per_class_train=2, per_class_test=1, signal=False, seed=0)
    -> data_root`` of a CIFAR-100 folder, as ``make_tiny_cifar10``.
    Read-only."""
    return _tiny_cifar_factory(tmp_path_factory, 100, 2, 1)


@pytest.fixture(scope='session')
def tiny_cifar100(make_tiny_cifar100: Callable[..., str]) -> str:
    """``data_root`` (str) of a tiny CIFAR-100: 2 train / 1 test per class.

    200 training images (one ``train`` file) and 100 test images, uniform
    random pixels from seed 0, fine labels ``i % 100`` for image ``i``.
    Read-only.
    """
    return make_tiny_cifar100()


REPO = Path(__file__).resolve().parents[1]

# One intra-op thread per process: the xdist workers already use every
# core, and results of a run must not depend on the thread count (a forked
# run, see ``Forked``, is compared bit for bit with one in this process).
# torch reads it when first imported; nothing is imported here, so xdist's
# controlling process stays light.
os.environ['OMP_NUM_THREADS'] = '1'


def load_tool(relative_path: str) -> ModuleType:
    """Import a script from tools/ as a module, so tests call its main()."""
    path = REPO / 'tools' / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(tool: ModuleType, argv: list, capsys: pytest.CaptureFixture
             ) -> Tuple[int, Tuple[str, str]]:
    """Run a tool's ``main`` as its command line does (``run_cli``: user
    errors become one line and exit code 1); return (exit code, the
    captured ``(out, err)``)."""
    from razor_wrn.cli import run_cli
    try:
        run_cli(tool.main, argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr()


class Forked:
    """``function(*args)`` run in a child process forked from this one.

    A real process (it can be killed, it owns its memory and file handles)
    without the seconds an interpreter needs to import torch, mmengine,
    mmpretrain and mmrazor. ``env`` is added to the child's environment.
    The child runs torch on one thread and leads its own process group, so
    :meth:`wait` also ends what it forked (e.g. DataLoader workers orphaned
    by a SIGKILL).
    """

    def __init__(self, function: Callable, *args,
                 env: Optional[Dict[str, str]] = None) -> None:
        self._output = tempfile.TemporaryFile()
        self.pid = os.fork()
        if self.pid == 0:
            self._child(function, args, env or {})
        try:
            os.setpgid(self.pid, self.pid)
        except (PermissionError, ProcessLookupError):
            pass  # the child set it already, or has exited

    def _child(self, function: Callable, args: tuple, env: dict) -> None:
        code = 1
        try:
            os.setpgid(0, 0)
            # GNU OpenMP's thread pool does not survive a fork (the child
            # hangs in its first parallel region); DataLoader workers do the
            # same.
            import torch
            torch.set_num_threads(1)
            for fd in (1, 2):
                os.dup2(self._output.fileno(), fd)
            # pytest's capture replaced the Python-level streams.
            sys.stdout = sys.stderr = io.TextIOWrapper(
                os.fdopen(1, 'wb', buffering=0, closefd=False),
                write_through=True)
            os.environ.update(env)
            function(*args)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: B902  (reported, then the exit code)
            traceback.print_exc()
        finally:
            os._exit(code)

    def wait(self, timeout: int = 300) -> Tuple[int, str]:
        """Return ``(exit code, or -N if killed by signal N, output)``; a
        child still running after ``timeout`` seconds is killed."""
        previous = signal.signal(signal.SIGALRM, lambda *_: os.killpg(
            self.pid, signal.SIGKILL))
        signal.alarm(timeout)
        try:
            _, status = os.waitpid(self.pid, 0)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._output.seek(0)
        output = self._output.read().decode(errors='replace')
        self._output.close()
        return os.waitstatus_to_exitcode(status), output


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def forked_ranks(main: Callable, argv: list, world_size: int = 2) -> None:
    """``main(argv)`` in ``world_size`` forked processes with the variables
    torchrun sets for each rank (a gloo group on the CPU); asserts that
    every rank exits 0."""
    port = str(free_port())
    ranks = [Forked(main, [*argv, '--launcher', 'pytorch'], env=dict(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
        MASTER_ADDR='127.0.0.1', MASTER_PORT=port, CUDA_VISIBLE_DEVICES=''))
        for rank in range(world_size)]
    for rank in ranks:
        code, output = rank.wait()
        assert code == 0, output[-4000:]


@pytest.fixture(scope='session')
def tools():
    """The train/test/convert tools as modules."""
    return {
        'train': load_tool('train.py'),
        'test': load_tool('test.py'),
        'convert': load_tool(
            'model_converters/convert_kd_ckpt_to_student.py'),
    }


def _data_options(data_root: str, batch_size: int) -> list:
    """--cfg-options pointing every loader at tiny data, in-process."""
    options = []
    for loader in ('train', 'val', 'test'):
        options += [
            f'{loader}_dataloader.dataset.data_root={data_root}',
            f'{loader}_dataloader.batch_size={batch_size}',
            f'{loader}_dataloader.num_workers=0',
            f'{loader}_dataloader.persistent_workers=False',
        ]
    # The tests choose each process's batch themselves; the b16x8 recipe on
    # fewer processes (razor_wrn/engine/train_recipe.py) has its own tests.
    return options + ['default_hooks.logger.interval=1',
                      'recipe_world_size=None']


@pytest.fixture(scope='session')
def data_options() -> Callable[[str, int], list]:
    """``(data_root, batch_size) -> list`` of --cfg-options for tiny data."""
    return _data_options


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from the repository root, wherever pytest was started,
    so the configs' relative paths (and their ``_base_`` files) resolve."""
    monkeypatch.chdir(REPO)


def _manager_classes(cls: type) -> list:
    return [cls] + [c for sub in cls.__subclasses__()
                    for c in _manager_classes(sub)]


@pytest.fixture(autouse=True)
def _forget_finished_runs():
    """Drop the loggers, visualizers and message hubs a test's runs left.

    mmengine keeps every instance it hands out by name for the life of the
    process, and with them everything their Runner held; the garbage
    collection mmengine runs for each data set it builds would walk all of
    them, slower with every test.
    """
    yield
    from mmengine.registry import DefaultScope
    from mmengine.utils import ManagerMixin
    for cls in _manager_classes(ManagerMixin):
        if cls is not DefaultScope:  # see _fresh_default_scope
            cls._instance_dict.clear()


@pytest.fixture(autouse=True)
def _fresh_default_scope():
    """Give every test an empty mmengine default scope.

    Each Runner leaves its ``default_scope`` (mmpretrain for vanilla configs,
    mmrazor for KD configs) as the process-wide current scope, and registry
    builds then search that package's registry first. Without this, a test
    would pass or fail depending on which tests ran before it.
    """
    from mmengine.registry import DefaultScope
    saved = dict(DefaultScope._instance_dict)
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(saved)


@pytest.fixture(autouse=True)
def _checksum_warnings_not_yet_shown():
    """Let every test see the CIFAR md5 warning as a fresh process would.

    ``razor_wrn.datasets.cifar`` shows it once per folder and process, and
    the tiny data sets are shared by the whole session: without this, a
    test expecting the warning would pass or fail depending on which tests
    loaded the same folder before it.
    """
    from razor_wrn.datasets import cifar
    cifar._WARNED_FOLDERS.clear()


@pytest.fixture(autouse=True, scope='session')
def _unformatted_config_text():
    """Skip yapf when mmengine prints or dumps a config.

    A Runner formats its config five times (log, dump, visualizer), about
    2 s of CPU per in-process run here, a third of the suite's time. The
    text stays valid Python, only not pretty-printed; no test reads its
    layout.
    """
    import mmengine.config.config as mmengine_config
    saved = mmengine_config.FormatCode
    mmengine_config.FormatCode = lambda text, **kwargs: (text, False)
    yield
    mmengine_config.FormatCode = saved


@pytest.fixture(autouse=True, scope='session')
def _repository_configs_parsed_once():
    """Parse each of the repository's config files once per process.

    ``Config.fromfile`` parses a config and each of its bases (about seven
    files) on every call: 429 loads, a sixth of the suite's CPU time. The
    files under ``configs/`` do not change while the suite runs; every call
    still gets its own deep copy of the parsed dict. Files elsewhere (the
    tests' own configs in temporary folders) are parsed every time.
    """
    from mmengine.config import Config
    parse = Config.__dict__['_file2dict'].__func__
    configs = str(REPO / 'configs') + os.sep
    parsed: dict = {}

    def parse_once(filename: str, *args, **kwargs) -> tuple:
        if not os.path.realpath(filename).startswith(configs):
            return parse(filename, *args, **kwargs)
        key = (filename, os.getcwd(), args, tuple(sorted(kwargs.items())))
        if key not in parsed:
            parsed[key] = parse(filename, *args, **kwargs)
        return copy.deepcopy(parsed[key])

    Config._file2dict = staticmethod(parse_once)
    yield
    Config._file2dict = staticmethod(parse)


@pytest.fixture(autouse=True, scope='session')
def _environment_read_once():
    """Read the environment report and the git hash once per process.

    A Runner logs ``collect_env()`` (it runs ``gcc --version``) when it is
    built and records the git hash (``git rev-parse HEAD``) when it starts
    and in every checkpoint: about 500 forks of the test process per
    suite. Neither changes while the suite runs.
    """
    import mmengine.hooks.runtime_info_hook as runtime_info_hook
    import mmengine.runner.runner as runner
    saved = (runner.collect_env, runner.get_git_hash,
             runtime_info_hook.get_git_hash)
    env, git_hash = runner.collect_env(), runner.get_git_hash()
    runner.collect_env = lambda: copy.deepcopy(env)
    runner.get_git_hash = runtime_info_hook.get_git_hash = \
        lambda *args, **kwargs: git_hash
    yield
    (runner.collect_env, runner.get_git_hash,
     runtime_info_hook.get_git_hash) = saved


@pytest.fixture(autouse=True, scope='session')
def _next_second_without_waiting():
    """A run started in the same second and work dir as an earlier run of
    the process waits for the next second (``razor_wrn.cli``: mmengine
    names the log folder by the second); the suite's resumes did so 15
    times, 8.5 s. Here the clock jumps to the next second instead: every
    ``time.time()`` after the jump is later by the time not slept."""
    from razor_wrn import cli
    real_time, saved_wait = time.time, cli.wait_for_the_next_second
    skipped = [0.0]

    def jump() -> None:
        skipped[0] += 1 - time.time() % 1

    time.time = lambda: real_time() + skipped[0]
    cli.wait_for_the_next_second = jump
    yield
    time.time, cli.wait_for_the_next_second = real_time, saved_wait


def pytest_collection_finish(session: pytest.Session) -> None:
    """Exempt what collection imported (torch, mmengine, every test module)
    from garbage collection: mmengine calls ``gc.collect()`` for each data
    set it builds, and a full pass over this process took ~0.3 s a call,
    half of a two-iteration training."""
    if 'torch' in sys.modules:  # in case it came before OMP_NUM_THREADS
        sys.modules['torch'].set_num_threads(1)
    gc.freeze()
