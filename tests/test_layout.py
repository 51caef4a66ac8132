"""The architecture in the tree (DESIGN.md 3, issue 25): one folder per role, imports that run
one way, no import circle, no module over 300 lines, and tests that mirror the library.

Every import counts, including the ones inside functions (made late to keep start-up fast):
a late import still ties the two modules together.
"""

import ast
import pathlib

import pytest

from conftest import REPO

PACKAGE = REPO / 'pix2pix_tf'
# Imports run one way, from a higher rank to a lower one (or within one folder):
# commands / api -> serving -> training -> evaluation -> data, model -> config.
# Within the middle, an export reads training's checkpoints, and training's periodic validation
# uses evaluation's metrics; never the reverse.
RANKS = {'config': 0, 'data': 1, 'model': 1, 'evaluation': 2, 'training': 3, 'serving': 4,
         'api': 5, 'commands': 5}
TOP_LEVEL = {'__init__.py', 'config.py', 'api.py'}
MAX_LINES = 300


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(REPO).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob('*.py'))}


def imports_of(name: str) -> set[str]:
    """The pix2pix_tf modules `name` imports anywhere in its file (resolved to modules)."""
    path = MODULES[name]
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1]
                                + ([base] if base else []))
            targets = [f'{base}.{alias.name}' if f'{base}.{alias.name}' in MODULES else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `import pix2pix_tf.data.edges.x`...
                target = target.rpartition('.')[0]
            if target.startswith('pix2pix_tf') and target != name:
                found.add(target)
    return found


def role(name: str) -> str:
    """'config', 'data', ..., 'commands'; the package root counts as config (it only names the
    public API and imports it on first use)."""
    parts = name.split('.')
    return 'config' if len(parts) == 1 else parts[1]


def test_the_library_is_one_folder_per_role():
    top = {path.name for path in PACKAGE.iterdir()
           if path.suffix == '.py' or (path.is_dir() and (path / '__init__.py').exists())}
    assert top == TOP_LEVEL | {'commands', 'data', 'model', 'training', 'serving', 'evaluation'}
    for folder in ('data', 'model', 'training', 'serving', 'evaluation'):
        docstring = ast.get_docstring(ast.parse((PACKAGE / folder / '__init__.py').read_text()))
        assert docstring and 'May import:' in docstring, f'{folder}/__init__.py: May import?'
        for path in (PACKAGE / folder).glob('*.py'):  # Each module is named in the docstring.
            if path.name != '__init__.py':
                assert f'`{path.stem}`' in docstring, f'{folder}/__init__.py omits {path.stem}'


def test_imports_run_one_way():
    wrong = []
    for name in MODULES:
        for target in imports_of(name):
            same_folder = role(target) == role(name)
            if not same_folder and RANKS[role(target)] >= RANKS[role(name)]:
                wrong.append(f'{name} imports {target}')
    assert not wrong, 'imports against the direction: ' + '; '.join(sorted(wrong))


def test_no_import_circle():
    circles = import_circles({name: imports_of(name) for name in MODULES})
    assert not circles, 'import circles: ' + '; '.join(circles)


def import_circles(graph: dict[str, set[str]]) -> list[str]:
    state, circles = {}, []

    def visit(name, path):
        state[name] = 'open'
        for target in sorted(graph[name]):
            if state.get(target) == 'open':
                circles.append(' -> '.join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 'done'

    for name in graph:
        if name not in state:
            visit(name, [name])
    return circles


@pytest.mark.parametrize('name', sorted(MODULES))
def test_no_module_over_300_lines(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f'{MODULES[name]}: {lines} lines; split it by role'


def test_tests_mirror_the_library():
    tests = REPO / 'tests'
    missing = []
    for name, path in MODULES.items():
        relative = path.relative_to(PACKAGE)
        if path.name == '__init__.py' or len(relative.parts) == 1:
            continue
        if not (tests / relative.parent / f'test_{path.stem}.py').exists():
            missing.append(f'tests/{relative.parent}/test_{path.stem}.py')
    assert not missing, 'library modules without their test file: ' + ', '.join(missing)
    stray = [str(path.relative_to(REPO)) for path in tests.glob('*/test_*.py')
             if not (PACKAGE / path.parent.name / f'{path.stem[5:]}.py').exists()]
    assert not stray, 'test files that name no library module: ' + ', '.join(stray)
    for name in ('config', 'api'):
        assert (tests / f'test_{name}.py').exists()


def test_the_checks_see_a_wrong_import(tmp_path, monkeypatch):
    """The direction check itself: a data module that imported training would be caught."""
    fake = tmp_path / 'edges.py'
    fake.write_text('def f():\n    from pix2pix_tf.training import checkpoints\n')
    monkeypatch.setitem(MODULES, 'pix2pix_tf.data.edges', fake)
    assert imports_of('pix2pix_tf.data.edges') == {'pix2pix_tf.training.checkpoints'}
    with pytest.raises(AssertionError, match='pix2pix_tf.data.edges imports '
                                             'pix2pix_tf.training.checkpoints'):
        test_imports_run_one_way()


def test_the_circle_check_sees_a_circle():
    assert import_circles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == ['a -> b -> c -> a']
    assert import_circles({'a': {'b'}, 'b': set(), 'c': {'a', 'b'}}) == []
