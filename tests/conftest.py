"""Test-wide setup: headless Qt, a null ALSA output for PortAudio, real speech clips."""

from __future__ import annotations

import os
import pathlib

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# PortAudio with no sound card: point ALSA at a null PCM unless the user has their own config.
_ASOUNDRC = pathlib.Path(__file__).parent / "data" / "asoundrc.null"
if "ALSA_CONFIG_PATH" not in os.environ and not (pathlib.Path.home() / ".asoundrc").exists():
    os.environ["ALSA_CONFIG_PATH"] = str(_ASOUNDRC)

import pytest  # noqa: E402

from stepedit_app.engines import registry  # noqa: E402
from stepedit_app.engines.base import Capabilities, Engine, Prepared  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    return DATA


@pytest.fixture(scope="session")
def female_clip_path() -> pathlib.Path:
    """LJ Speech, US female, 22.05 kHz, 5.1 s."""
    return DATA / "LJ001-0004.wav"


@pytest.fixture(scope="session")
def male_clip_path() -> pathlib.Path:
    """CMU ARCTIC aew, US male, 16 kHz, 3.9 s."""
    return DATA / "cmu_arctic_us_aew_a0001.wav"


@pytest.fixture(scope="session")
def female16_clip_path() -> pathlib.Path:
    """CMU ARCTIC axb, Indian-English female, 16 kHz, 2.8 s."""
    return DATA / "cmu_arctic_us_axb_a0004.wav"



class ConvergesAtOne(Engine):
    """A test engine: iteration 1 halves the level; from iteration 2 nothing improves on it and
    it says so (``ctx.converged``), as the prosody engine does when no correction helps."""

    name = "converges"

    def capabilities(self) -> Capabilities:
        return Capabilities(name=self.name, label="Converges", description="test engine",
                            emotions=("happy",), styles=("whisper",))

    def prepare(self, clip, cancel=None, cues=None, track=None):  # noqa: ANN001
        return Prepared(clip)

    def edit(self, prepared, request, ctx):  # noqa: ANN001
        yield 0.5
        if ctx.iteration > 1:
            ctx.converged = True
            return ctx.previous
        return prepared.clip.with_samples(prepared.clip.samples * 0.5)


@pytest.fixture
def converging_engine():
    """Registers :class:`ConvergesAtOne` as the engine ``converges`` for one test."""
    registry.register("converges", ConvergesAtOne)
    yield ConvergesAtOne
    registry._REGISTRY.pop("converges", None)
