"""What every script in tools/ keeps to: it is a command line around the
package, so it neither imports nor loads another script of tools/ (what
one tool runs of another lives in ``razor_wrn``), the package loads no
file of tools/ either (its processes import what they run by name), and
a script's --cfg-options
keep spaces and take a quoted value whole, as ``ConfigOptionAction``
parses them (mmengine's DictAction drops the one and splits the other).
build_teacher_bank.py and benchmark.py have this test in their own files.
"""
import ast
from pathlib import Path
from typing import List, Optional

import pytest

from conftest import REPO, load_tool
from razor_wrn.cli import UserError
from razor_wrn.reproduce.row import options_dict

TOOLS = REPO / 'tools'
VANILLA = 'configs/vanilla/wrn16-w2_b128x1_cifar10.py'
# What a script could load another file with: importlib, runpy, exec.
LOADERS = frozenset({
    'spec_from_file_location', 'SourceFileLoader', 'load_source',
    'import_module', '__import__', 'run_path', 'run_module', 'exec',
    'load_script'})
PACKAGE = REPO / 'razor_wrn'
# Of those, the ones that import a module by its name: the package may
# call them (razor_wrn.script_jobs does), but not on a name in tools/.
NAME_LOADERS = frozenset({'import_module', '__import__', 'run_module'})
FILE_LOADERS = LOADERS - NAME_LOADERS | {'exec_module'}
OPTIONS = ['work_dir=runs/a b', "visualizer.name='x, y'",
           'train_cfg.max_epochs=3']
PARSED = {'work_dir': 'runs/a b', 'visualizer.name': 'x, y',
          'train_cfg.max_epochs': 3}


def _scripts() -> List[Path]:
    return sorted(TOOLS.rglob('*.py'))


def _script_names() -> set:
    """Every name an import of a tools/ file could start with."""
    names = {'tools'}
    for path in _scripts():
        parts = path.relative_to(TOOLS).with_suffix('').parts
        names.add(parts[0])
        names.add(parts[-1])
    return names


def _script_paths(script: Path) -> set:
    """The other scripts' paths as a script could write them: from the
    repository, from tools/ and from its own folder."""
    paths = set()
    for path in _scripts():
        if path != script:
            paths |= {str(path.relative_to(REPO)),
                      str(path.relative_to(TOOLS))}
            if path.parent == script.parent:
                paths.add(path.name)
    return paths


def _called_name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ''


def cross_loads(script: Path, source: Optional[str] = None) -> List[str]:
    """Where ``script`` (its file, or ``source`` as if it were that file)
    imports another tools/ file, calls a file or module loader, or names
    another script's path as an argument."""
    names, paths = _script_names(), _script_paths(script)
    source = script.read_text() if source is None else source
    found = []
    for node in ast.walk(ast.parse(source, str(script))):
        where = f'{script.relative_to(REPO)}:{getattr(node, "lineno", 0)}'
        if isinstance(node, ast.Import):
            found += [f'{where}: imports {alias.name}' for alias in node.names
                      if alias.name.split('.')[0] in names]
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or '').split('.')[0] in names:
                found.append(f'{where}: imports from '
                             f'{"." * node.level}{node.module or ""}')
        elif isinstance(node, ast.Call):
            if _called_name(node) in LOADERS:
                found.append(f'{where}: calls {_called_name(node)}')
            arguments = [*node.args, *(k.value for k in node.keywords)]
            found += [f'{where}: names {arg.value!r}' for arg in arguments
                      if isinstance(arg, ast.Constant) and arg.value in paths]
    return found


def _tools_paths() -> set:
    """Every script's path as code could write it: from the repository,
    from tools/ and its bare name; and the folder itself."""
    return {'tools'} | {text for path in _scripts() for text in (
        str(path.relative_to(REPO)), str(path.relative_to(TOOLS)),
        path.name)}


def package_loads(module: Path, source: Optional[str] = None) -> List[str]:
    """Where a module of the package (its file, or ``source`` as if it
    were that file) imports a tools/ file, calls a loader of files, passes
    a tools/ name to a by-name loader, or names a tools/ path as an
    argument."""
    names, paths = _script_names(), _tools_paths()
    source = module.read_text() if source is None else source
    found = []
    for node in ast.walk(ast.parse(source, str(module))):
        where = f'{module.relative_to(REPO)}:{getattr(node, "lineno", 0)}'
        if isinstance(node, ast.Import):
            found += [f'{where}: imports {alias.name}' for alias in node.names
                      if alias.name.split('.')[0] in names]
        elif isinstance(node, ast.ImportFrom):
            if not node.level and (node.module or '').split('.')[0] in names:
                found.append(f'{where}: imports from {node.module}')
        elif isinstance(node, ast.Call):
            called = _called_name(node)
            arguments = [*node.args, *(k.value for k in node.keywords)]
            texts = [arg.value for arg in arguments if isinstance(
                arg, ast.Constant) and isinstance(arg.value, str)]
            if called in FILE_LOADERS:
                found.append(f'{where}: calls {called}')
            elif called in NAME_LOADERS:
                found += [f'{where}: {called} {text!r}' for text in texts
                          if text.split('.')[0] in names]
            found += [f'{where}: names {text!r}' for text in texts
                      if text in paths]
    return found


def test_no_package_module_loads_a_file_of_tools():
    modules = sorted(PACKAGE.rglob('*.py'))
    assert len(modules) >= 50
    assert [line for module in modules
            for line in package_loads(module)] == []


def test_the_package_check_finds_each_way_of_loading_a_script():
    module = PACKAGE / 'script_jobs.py'
    sources = {
        # How the package once ran reproduce.py's rows in its processes.
        'spec = importlib.util.spec_from_file_location(name, path)':
            'calls spec_from_file_location',
        'spec.loader.exec_module(module)': 'calls exec_module',
        'getattr(load_script(script), function)(*args)': 'calls load_script',
        'import tools.reproduce': 'imports tools.reproduce',
        'from reproduce import run_row': 'imports from reproduce',
        "importlib.import_module('tools.reproduce')":
            "import_module 'tools.reproduce'",
        "runpy.run_module('reproduce')": "run_module 'reproduce'",
        "osp.join(REPO, 'tools', 'reproduce.py')": "names 'tools'",
        "_job('tools/reproduce.py')": "names 'tools/reproduce.py'",
    }
    for source, finding in sources.items():
        found = package_loads(module, source)
        assert [line.split(': ', 1)[1] for line in found][:1] == [finding], (
            source)
    # Importing the package's own modules by name is what jobs do.
    assert package_loads(module, (
        'importlib.import_module(module)\n'
        "importlib.import_module('razor_wrn.reproduce.row')\n"
        'from razor_wrn.apis import train\n'
        'from .reproduce import row\n'
        "print('python tools/reproduce.py TABLE')\n")) == []


def test_no_script_imports_or_loads_another_script():
    assert len(_scripts()) >= 10
    assert [line for script in _scripts()
            for line in cross_loads(script)] == []


def test_the_check_finds_each_way_of_loading_a_script():
    script = TOOLS / 'analysis_tools' / 'get_flops.py'
    sources = {
        'import train': 'imports train',
        'from analysis_tools import get_flops': 'imports from analysis_tools',
        'from . import benchmark': 'imports from .',
        "spec = importlib.util.spec_from_file_location('t', 'x.py')":
            'calls spec_from_file_location',
        "runpy.run_path(TOOLS + '/test.py')": 'calls run_path',
        "_tool('tools/train.py')": "names 'tools/train.py'",
        "_tool('deployment/export_onnx.py')":
            "names 'deployment/export_onnx.py'",
        "_tool('plot_curves.py')": "names 'plot_curves.py'",
        "_tool(path=osp.join(TOOLS, 'test.py'))": "names 'test.py'",
    }
    for source, finding in sources.items():
        found = cross_loads(script, source)
        assert [line.split(': ', 1)[1] for line in found] == [finding], source
    # The package's modules and a script's usage text are not scripts.
    assert cross_loads(script, (
        'from razor_wrn.apis import train\n'
        "print('python tools/train.py CONFIG')\n")) == []


@pytest.mark.parametrize('tool, argv', [
    ('train.py', [VANILLA]),
    ('test.py', [VANILLA, 'epoch_1.pth']),
    ('analysis_tools/get_flops.py', [VANILLA]),
    ('deployment/export_onnx.py', [VANILLA, 'epoch_1.pth', '--out', 'x.onnx']),
], ids=['train', 'test', 'get_flops', 'export_onnx'])
def test_cfg_options_keep_spaces_and_take_a_quoted_value_whole(
        tool, argv, monkeypatch):
    monkeypatch.setenv('LOCAL_RANK', '0')  # parse_args exports it
    args = load_tool(tool).parse_args([*argv, '--cfg-options', *OPTIONS])
    assert args.cfg_options == PARSED


def test_reproduce_parses_table_options_as_the_tools_do():
    assert options_dict(OPTIONS) == PARSED
    assert options_dict([]) == {}
    # A row's malformed option is that row's error, not the table's exit.
    with pytest.raises(UserError,
                       match="'train_cfg.max_epochs': write KEY=VALUE"):
        options_dict(['train_cfg.max_epochs'])
