"""Cancel points inside the long steps: analysis, WORLD, PSOLA, shaping, cue measurement.

Every step takes an optional ``cancel`` (a CancelToken or a plain callable) and stops at its
next block boundary once it says so.  Latency figures are in ``benchmarks/cancel_latency.py``;
here: that each step honours it, after doing some work, and that a render cancelled from
another thread stops with its finished takes kept.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from robustness import corpus
from stepedit_app.audio import psola, shaping
from stepedit_app.audio.analysis import measure_cues, track_pitch
from stepedit_app.audio.clip import Clip
from stepedit_app.engines.base import CancelToken, EditContext
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.prosody.engine import ProsodyEngine
from stepedit_app.engines.prosody.profiles import Params
from stepedit_app.errors import Cancelled
from stepedit_app.session.session import EditSession, RenderCancelled, TakeReady


class After:
    """A callable cancel that says stop after ``n`` checks (counts how often it was asked)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls > self.n


def _long(seconds: float = 20.0) -> tuple[np.ndarray, int]:
    x, rate = corpus.load(corpus.FEMALE)
    reps = int(np.ceil(seconds * rate / len(x)))
    return np.tile(x, reps)[: int(seconds * rate)], rate


def test_track_pitch_stops_between_blocks():
    x, rate = _long()
    stop = After(1)
    with pytest.raises(Cancelled):
        track_pitch(x, rate, cancel=stop)
    assert stop.calls == 2  # one block done, stopped at the next
    assert track_pitch(x, rate, cancel=After(10**6)).f0.any()


def test_measure_cues_stops_with_a_token():
    x, rate = _long(6.0)
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        measure_cues(x, rate, cancel=tok)


@pytest.mark.parametrize("method", ["psola", "world"])
def test_rendering_stops_inside_synthesis(method):
    x, rate = _long()
    eng = ProsodyEngine()
    eng.METHOD = method
    a = eng.prepare(Clip(x[:, None].astype(np.float32), rate)).data
    p = Params(f0_st=2.0, tilt_db=3.0)
    plan = eng.plan(a, p, EditContext(1, 1), 0)
    stop = After(2)
    with pytest.raises(Cancelled):
        if method == "world":
            eng._render_world(a, plan, stop)
        else:
            eng._render_psola(a, plan, eng._sample_times(a, plan), stop)
    assert stop.calls == 3


def test_psola_and_shaping_honour_cancel():
    x, rate = _long()
    n = len(x)
    with pytest.raises(Cancelled):
        shaping.shape(x[None, :], rate, np.full(n, 2.0), np.ones(n), np.zeros(n), np.zeros(n),
                      np.full(n, 200.0), cancel=After(1))
    with pytest.raises(Cancelled):
        psola.warp_source(x[None, :], np.full(n, 1.04), cancel=After(0))
    pm = psola.pitch_marks(x, rate, track_pitch(x, rate).f0, 5.0)
    with pytest.raises(Cancelled):
        psola.synthesize(x[None, :], rate, pm, n, np.arange(n, dtype=float), np.full(n, rate / 200.0),
                         cancel=After(1))


def test_a_render_cancelled_from_another_thread_keeps_finished_takes():
    x, rate = _long(8.0)
    s = EditSession(Clip(x[:, None].astype(np.float32), rate))
    tok = CancelToken()
    events = []
    gen = s.render(EditRequest(emotions={"sad": 0.7}, styles={"older": 0.4}, iterations=3), None, tok)

    def work():
        for ev in gen:
            events.append(ev)
            if isinstance(ev, TakeReady):
                threading.Timer(0.05, tok.cancel).start()

    th = threading.Thread(target=work)
    th.start()
    th.join(120)
    assert not th.is_alive()
    takes = [e for e in events if isinstance(e, TakeReady)]
    ended = [e for e in events if isinstance(e, RenderCancelled)]
    assert len(takes) >= 1
    if ended:  # cancelled before the render could finish
        assert ended[0].kept == len(takes) and len(s.takes) == 0  # the caller publishes takes
