"""Nothing below the front end imports Qt (import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parents[1]


def test_import_linter_contracts_hold():
    exe = pathlib.Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 2 kept, 0 broken" in r.stdout


def test_core_modules_load_without_qt():
    code = (
        "import importlib, pkgutil, sys\n"
        "import stepedit_app.audio, stepedit_app.engines, stepedit_app.session\n"
        "for pkg in (stepedit_app.audio, stepedit_app.engines, stepedit_app.session):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "import stepedit_app.cli\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'stepedit_app.gui'))]\n"
        "print(bad); raise SystemExit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
