"""Fixtures of the batch / delivery / variations tests."""

from __future__ import annotations

import pathlib

import pytest

from .helpers import write_recipe


@pytest.fixture
def recipe_file(tmp_path) -> pathlib.Path:
    return write_recipe(tmp_path / "recipe.json", trim={"head": True, "tail": True}, pad={"head_ms": 20, "tail_ms": 100})
