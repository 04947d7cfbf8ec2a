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
