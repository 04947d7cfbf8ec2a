"""No reference to ``None`` is lost while the window plays and renders (issue 8, problem 1).

PySide6 6.12.0 drops a reference to ``None`` on every Qt call that returns nothing; on Python
3.10/3.11 ``None`` has a real reference count, so playback (a playhead timer making dozens of
such calls per tick) drove it to zero within ~20 s and the process died with ``Fatal Python
error: none_dealloc``.  This test plays and renders for a simulated minute — the playhead
ticks of a minute of loop playback, real paced playback with A/B flips, renders swapped in at
loop boundaries, diffs — and fails as soon as ``sys.getrefcount(None)`` falls, before a broken
build could crash the test run.  On Python 3.12+ ``None`` is immortal (PEP 683): nothing to
lose, nothing to measure.
"""

from __future__ import annotations

import gc
import sys

import pytest

from .conftest import set_slider

pytestmark = pytest.mark.skipif(sys.version_info >= (3, 12),
                                reason="None is immortal on Python 3.12+ (PEP 683): a lost reference cannot free it")

#: Ticks of the playhead timer in one minute of playback (30 ms each).
TICKS_PER_MINUTE = 60_000 // 30
#: Unrelated objects holding None come and go; a leak loses thousands per simulated minute.
SLACK = 300


class NoneWatch:
    def __init__(self) -> None:
        gc.collect()
        self.start = sys.getrefcount(None)
        self.low = self.start

    def check(self, where: str) -> None:
        now = sys.getrefcount(None)
        self.low = min(self.low, now)
        # Fail early: a leaking build must fail this test, not kill the test process.
        assert now >= self.start - SLACK, (
            f"references to None fell from {self.start} to {now} ({where}): this PySide6 build leaks them "
            "and the window would crash during playback")


def test_none_keeps_its_references_through_a_minute_of_playback_and_rendering(opened, qtbot):
    w, st = opened, opened.state
    watch = NoneWatch()
    st.set_region_seconds(1.0, 2.5)
    st.set_loop(True)
    assert w.playback.play()
    watch.check("starting loop playback")
    # Real playback on the paced null device: the real timer, real callbacks, A/B flips.
    set_slider(w, "emotion", "happy", 40)
    w.controls.iterations.setValue(2)
    with qtbot.waitSignal(w.renderer.finished, timeout=120000):
        w.renderer.render()
    watch.check("rendering while the loop plays")
    for _ in range(6):
        w.playback.toggle_ab()
        qtbot.wait(150)
        watch.check("A/B while playing")
    # A render with auto-render on, queued for the next loop pass, then swapped in.
    st.set_auto_render(True)
    with qtbot.waitSignal(w.renderer.finished, timeout=120000):
        set_slider(w, "style", "whisper", 30)
    qtbot.waitUntil(lambda: w.playback.player.swaps >= 1, timeout=10000)
    watch.check("loop audition swap")
    # The rest of the minute: every playhead tick's Qt calls (lines in three plots, the time
    # read-out), with the diff and take selection moving now and then.
    takes = st.takes
    for k in range(TICKS_PER_MINUTE):
        w.playback._tick()
        if k % 200 == 0:
            st.select_take(takes[(k // 200) % len(takes)].id)
            w.playback.toggle_ab()
            qtbot.wait(1)
            watch.check(f"playhead tick {k}")
    qtbot.waitUntil(lambda: w.diff_view.diff is not None, timeout=60000)
    w.playback.stop()
    gc.collect()
    watch.check("after a minute")
