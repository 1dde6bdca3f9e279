"""The package's modules import each other without a cycle, and the errors
module is its ground floor.

Every import statement counts, also those inside functions: a deferred
import hides a cycle from Python at import time, not from a reader. So does
the package a module lives in: importing ``razor_wrn.engine.distributed``
first runs ``razor_wrn/engine/__init__.py``, which imports the hooks. Only
``razor_wrn/__init__.py``, which imports every subpackage to fill the
registries, is left out as a target.
"""
import ast
from pathlib import Path
from typing import Dict, List, Optional, Set

PACKAGE = Path(__file__).resolve().parents[1] / 'razor_wrn'


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _resolve(name: str, modules: Set[str]) -> Optional[str]:
    """The most specific module of the package that ``name`` names."""
    while name and name not in modules:
        name = name.rpartition('.')[0]
    return name or None


def _with_packages(target: str, importer: str) -> Set[str]:
    """``target`` and the packages Python runs to import it, but for the
    top package and those the importer is already inside."""
    parts = target.split('.')
    packages = {'.'.join(parts[:i]) for i in range(2, len(parts))}
    inside = {importer.rsplit('.', i)[0]
              for i in range(1, importer.count('.') + 1)} | {importer}
    return {target} | (packages - inside)


def import_graph() -> Dict[str, Set[str]]:
    """{module: the package's modules it imports}, read from the source."""
    files = {_module_name(p): p for p in PACKAGE.rglob('*.py')}
    graph = {}
    for name, path in files.items():
        package = name if path.name == '__init__.py' else \
            name.rpartition('.')[0]
        targets = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    anchor = package.split('.')
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = '.'.join(anchor + ([base] if base else []))
                # `from pkg import sub` imports the module pkg.sub.
                targets += [f'{base}.{alias.name}' for alias in node.names]
        resolved = {_resolve(t, set(files)) for t in targets} - {None}
        graph[name] = set().union(*(_with_packages(t, name)
                                    for t in resolved)) - {name}
    return graph


def find_cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]``."""
    state: Dict[str, int] = {}  # 1: on the current path, 2: done
    path: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    # The graph sees the package's own edges (checked on two known ones).
    assert 'razor_wrn.config_options' in graph['razor_wrn.cli']
    assert 'razor_wrn.checkpoint' in graph['razor_wrn.engine.hooks.'
                                           'atomic_checkpoint_hook']
    assert 'razor_wrn.engine' in graph['razor_wrn.cli']  # its package
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == [
        'a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) == []


def test_errors_module_is_the_ground_floor():
    assert import_graph()['razor_wrn.errors'] == set()
