"""Starting the window: one clear line instead of Qt's misleading abort (issue 8, problem 5)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stepedit_app.gui.app import display_problem, none_leak_problem


def test_a_headless_launch_says_in_one_line_that_a_display_is_needed(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    for argv in ([], ["tests/data/LJ001-0004.wav"]):
        r = subprocess.run([sys.executable, "-m", "stepedit_app", *argv], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("stepedit: the editor window needs a display")
        assert "xcb-cursor" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("env, platform, expected", [
    ({}, "linux", "needs a display"),
    ({"DISPLAY": ":0"}, "linux", None),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", None),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", None),
    ({}, "darwin", None),
    ({}, "win32", None),
])
def test_display_check(env, platform, expected):
    got = display_problem(env, platform)
    assert (got is None) if expected is None else (expected in got)


def test_this_pyside6_does_not_leak_references_to_none():
    # The start-up probe that refuses a leaking build (PySide6 6.12.0 on Python < 3.12).
    assert none_leak_problem() is None
