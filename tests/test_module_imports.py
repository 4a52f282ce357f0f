"""The house holds together: every module of the package imports on its own (an import cycle that only works in
one import order breaks a command or a worker that happens to import the other side first), and the README's map
of the code names only packages and modules that exist."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One interpreter; before each module every donoharm module is forgotten, so each is imported as if alone
# (third-party packages stay loaded: they cannot take part in our cycles).
PROBE = r"""
import importlib, json, pkgutil, sys
import donoharm
names = sorted(m.name for m in pkgutil.walk_packages(donoharm.__path__, "donoharm."))
failed = {}
for name in names:
    for loaded in [m for m in sys.modules if m == "donoharm" or m.startswith("donoharm.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = repr(error)
print(json.dumps({"count": len(names), "failed": failed}))
"""


def test_every_module_imports_on_its_own():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["count"] > 100
    assert result["failed"] == {}


def test_the_readmes_map_of_the_code_names_only_what_exists():
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## How the code is organised", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:donoharm|static|templates|tests|benchmarks|protocols|deploy)/[\w./-]*)`", section))
    assert len(named) > 20, "the section names the packages and modules"
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert missing == []


MAX_MODULE_LINES = 300


def test_no_module_is_longer_than_300_lines():
    """A module a newcomer can read in one sitting (issue 14): a longer one is split along its seams."""
    package = ROOT / "donoharm"
    too_long = sorted(f"{path.relative_to(ROOT)}: {count} lines"
                      for path in package.rglob("*.py") if "translations" not in path.relative_to(package).parts
                      for count in [len(path.read_text("utf-8").splitlines())] if count > MAX_MODULE_LINES)
    assert too_long == [], f"modules over {MAX_MODULE_LINES} lines: {too_long}"


# What every part of the app uses sits at the top of the package; everything else lives in the package its
# role names (services, accounts, web, pdf …), as the README's map says.
TOP_LEVEL_MODULES = {"__init__", "cli", "clock", "config", "config_values", "i18n", "labels", "prepare", "text",
                     "timefmt"}


def test_only_shared_modules_sit_at_the_top_of_the_package():
    loose = {path.stem for path in (ROOT / "donoharm").glob("*.py")}
    assert loose - TOP_LEVEL_MODULES == set(), "move it into the package its role names, and update the README"
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in TOP_LEVEL_MODULES - {"__init__", "config_values"}:
        assert f"`donoharm/{name}.py`" in readme, f"the README's map names donoharm/{name}.py"
