"""Nothing below the front end imports Qt, and the layers only import downwards
(import-linter contracts in pyproject.toml, plus a direct check in a fresh interpreter)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]
LINT_IMPORTS = pathlib.Path(sys.executable).parent / "lint-imports"
CONTRACTS = ("Only the GUI imports Qt", "Layers: gui > session > engines > audio")


def _lint(*args: str) -> subprocess.CompletedProcess:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"import-linter is not installed in this environment ({LINT_IMPORTS} missing)")
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_import_linter_contracts_are_kept():
    r = _lint()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 2 kept, 0 broken." in r.stdout, r.stdout
    for name in CONTRACTS:
        assert f"{name} KEPT" in r.stdout, r.stdout


def test_import_linter_would_notice_a_broken_contract(tmp_path):
    """The check above can fail: the same tool with a contract the code necessarily breaks
    (the session uses the audio layer) reports it broken."""
    cfg = tmp_path / "contracts.toml"
    cfg.write_text(
        '[tool.importlinter]\nroot_package = "stepedit_app"\n\n'
        '[[tool.importlinter.contracts]]\nname = "session without audio (must break)"\n'
        'type = "forbidden"\nsource_modules = ["stepedit_app.session"]\n'
        'forbidden_modules = ["stepedit_app.audio"]\n'
    )
    r = _lint("--config", str(cfg))  # the option every import-linter 2.x takes (2.16+ also positional)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "session without audio (must break) BROKEN" in r.stdout


CHECK = """
import importlib, pkgutil, sys
import stepedit_app.audio, stepedit_app.engines, stepedit_app.session
names = []
for pkg in (stepedit_app.audio, stepedit_app.engines, stepedit_app.session):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(m.name)
        names.append(m.name)
import stepedit_app.cli, stepedit_app.errors
print("\\n".join(names))
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6")
             or m.startswith("stepedit_app.gui"))
if bad:
    print("LOADED:", bad)
    raise SystemExit(1)
"""


def test_every_core_module_imports_without_qt():
    r = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    imported = set(r.stdout.split())
    # the walk really covered the core (a broken walk must not pass silently)
    for m in ("stepedit_app.audio.io", "stepedit_app.audio.clip", "stepedit_app.audio.analysis",
              "stepedit_app.engines.controls", "stepedit_app.engines.base", "stepedit_app.engines.prosody.engine",
              "stepedit_app.session.session", "stepedit_app.session.takes"):
        assert m in imported, r.stdout
    expected = {
        f"stepedit_app.{p.relative_to(ROOT / 'stepedit_app').with_suffix('').as_posix().replace('/', '.')}"
        for sub in ("audio", "engines", "session")
        for p in (ROOT / "stepedit_app" / sub).rglob("*.py") if p.name != "__init__.py"
    }
    assert expected <= imported, expected - imported


def test_the_headless_commands_do_not_load_qt(female_clip_path):
    code = (
        "import sys\nfrom stepedit_app.cli import main\n"
        f"assert main(['engines', '--json']) == 0\nassert main(['info', {str(female_clip_path)!r}]) == 0\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'stepedit_app.gui'))]\n"
        "raise SystemExit('LOADED: %s' % bad if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
