"""Fixtures for the Step-Audio-EditX engine tests: private user folders, stand-in trees, clients."""

from __future__ import annotations

import pytest
from standin import build_standin, clear_calls, clear_flags, standin_settings

from stepedit_app.engines.step_audio.client import WorkerClient
from stepedit_app.engines.step_audio.engine import shutdown_shared


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    """Configuration and logs in a private folder (platformdirs reads XDG_* on every call)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


@pytest.fixture(scope="session")
def trees(tmp_path_factory):
    """Stand-in source trees of both generations sharing one models folder."""
    root = tmp_path_factory.mktemp("standin")
    v1_source, models = build_standin(root, "v1")
    v2_source, _ = build_standin(root, "v2", commit=None)
    return {"v1": v1_source, "v2": v2_source, "models": models}


@pytest.fixture
def models(trees):
    """The stand-in models folder, with no misbehaviour flags and an empty call record."""
    clear_flags(trees["models"])
    clear_calls(trees["models"])
    yield trees["models"]
    clear_flags(trees["models"])


@pytest.fixture(scope="module")
def v1_client(trees, tmp_path_factory):
    """A warm v1 worker shared by a module's tests (a restart costs seconds)."""
    client = WorkerClient(standin_settings(trees["v1"], trees["models"]),
                          log_file=tmp_path_factory.mktemp("log") / "worker.log")
    yield client
    client.close()


@pytest.fixture(scope="module", autouse=True)
def _no_shared_worker_left():
    yield
    shutdown_shared()
