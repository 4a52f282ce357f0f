"""`make mutate` is configured with modules and tests that exist (issue 14): a renamed module or test file would
otherwise make the mutation run measure nothing, or fail after minutes. The run itself is not part of `make test`."""
from __future__ import annotations

import ast
import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
CONFIG = PYPROJECT["tool"]["mutmut"]


def mutate_script():
    spec = importlib.util.spec_from_file_location("mutate_script", ROOT / "scripts" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def selection() -> tuple[list[str], list[str]]:
    """The test files and the deselected test ids of the configuration."""
    files, deselected, args = [], [], iter(CONFIG["pytest_add_cli_args_test_selection"])
    for arg in args:
        if arg == "--deselect":
            deselected.append(next(args))
        else:
            assert not arg.startswith("-"), f"unexpected option {arg!r} among the mutation tests"
            files.append(arg)
    return files, deselected


def functions_of(path: Path) -> set[str]:
    """Every function of a module in mutmut's naming: x_name, or xǁClassǁname for a method."""
    names = set()
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            names.add(f"x_{node.name}")
        elif isinstance(node, ast.ClassDef):
            names |= {f"xǁ{node.name}ǁ{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)}
    return names


def test_the_mutated_modules_exist_in_the_package():
    assert CONFIG["source_paths"] == ["donoharm"]
    modules = CONFIG["only_mutate"]
    assert modules and len(set(modules)) == len(modules)
    for module in modules:
        assert module.startswith("donoharm/") and (ROOT / module).is_file(), module
    for name in CONFIG["also_copy"]:
        assert (ROOT / name).exists(), name


def test_the_tests_and_deselected_tests_exist():
    files, deselected = selection()
    assert files
    for name in files:
        assert (ROOT / name).is_file(), name
    for node in deselected:
        path, test = node.split("::")
        assert path in files, node
        assert re.search(rf"^def {re.escape(test)}\(", (ROOT / path).read_text("utf-8"), re.M), node


def test_every_mutant_killing_test_file_is_run_by_the_mutation_run():
    files, _ = selection()
    written = sorted(f"tests/{path.name}" for path in (ROOT / "tests").glob("test_mutants_*.py"))
    assert written and set(written) <= set(files)


def test_the_report_names_functions_and_mutants_of_the_mutated_modules():
    script = mutate_script()
    for module, functions in script.COUNTED_FUNCTIONS.items():
        assert module in CONFIG["only_mutate"]
        assert set(functions) <= functions_of(ROOT / module), module
    dotted = {module.removesuffix(".py").replace("/", "."): module for module in CONFIG["only_mutate"]}
    for mutant, why in script.EQUIVALENT.items():
        module, name = mutant.rsplit(".", 1)
        assert module in dotted and why, mutant
        assert name.rsplit("__mutmut_", 1)[0] in functions_of(ROOT / dotted[module]), mutant


def test_make_mutate_runs_the_script_and_its_output_is_not_committed():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(r"^## .+\nmutate: .*\n\t\$\(PY\) scripts/mutate\.py$", makefile, re.M)
    assert "/mutants/" in (ROOT / ".gitignore").read_text("utf-8").split()
    assert any(dependency.startswith("mutmut") for dependency in PYPROJECT["project"]["optional-dependencies"]["test"])
