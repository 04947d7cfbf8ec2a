"""For docs/screenshot_session.sh: launch the real StepEdit window under Xvfb.

The window is the one ``stepedit`` opens (with its start-up checks and the recovery offer),
except for the audio output: ALSA's null device has no clock, so playback goes through a
PortAudio stream paced to real time.  Everything the window does is logged to ``LOG``, and the
screen positions of a few widgets are written to ``GEO`` every second for xdotool to aim at.

Usage: ``screenshot_session_launch.py AUDIO|- LOG GEO``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QPointF, QTimer  # noqa: E402

from stepedit_app.audio.playback import Player  # noqa: E402
from stepedit_app.gui.app import display_problem, make_app, none_leak_problem  # noqa: E402
from stepedit_app.gui.main_window import MainWindow  # noqa: E402


def paced(**kw):
    import sounddevice as sd

    cb, rate = kw["callback"], kw["samplerate"]

    def callback(out, frames, t, status):
        cb(out, frames, t, status)
        time.sleep(frames / rate)

    kw["callback"] = callback
    return sd.OutputStream(**kw)


def main() -> int:
    assert display_problem() is None, display_problem()
    assert none_leak_problem() is None
    audio, log_path, geo_path = sys.argv[1:4]
    log = open(log_path, "a", buffering=1)

    def say(*a) -> None:
        print(time.strftime("%H:%M:%S"), *a, file=log)

    app = make_app(["stepedit"])
    w = MainWindow(player=Player(paced))
    app.aboutToQuit.connect(w.shutdown)
    w.resize(1600, 1000)
    w.move(0, 0)
    w.show()
    st = w.state
    ev = st.events
    ev.connect("region", lambda r: say("region", None if r is None else [round(x, 3) for x in r.seconds(st.clip.rate)]))
    ev.connect("take", lambda t: say("take selected", t and t.name))
    ev.connect("takes", lambda e, t: say("takes", e, t.name, "starred" if t.starred else ""))
    ev.connect("source", lambda s: say("source", s))
    ev.connect("loop", lambda on: say("loop", on))
    ev.connect("committed", lambda: say("controls", st.request().summary(), "iterations", st.iterations))
    w.playback.playing_changed.connect(lambda on: say("playing", on))
    w.renderer.started.connect(lambda n: say("render started", n))
    w.renderer.finished.connect(lambda n: say("render finished", n))
    w.documents.autosaved.connect(lambda s: say(f"autosaved in {s * 1000:.0f} ms"))
    w.documents.opened.connect(lambda: say("opened", st.clip.path.name, len(st.takes), "takes"))
    w.error_shown.connect(lambda line: say("ERROR", line))

    def refs() -> None:
        say("refcount(None)", sys.getrefcount(None), "position", round(w.playback.player.position_seconds(), 2))

    def geometry() -> None:
        def centre(widget):
            p = widget.mapToGlobal(widget.rect().center())
            return [p.x(), p.y()]

        tl, c = w.timeline, w.controls

        def at(seconds):
            p = tl.mapToGlobal(tl.mapFromScene(tl.wave_vb.mapViewToScene(QPointF(seconds, 0.0))))
            return [p.x(), p.y()]

        d = {"happy_spin": centre(c.rows[("emotion", "happy")].spin),
             "happy_slider": centre(c.rows[("emotion", "happy")].slider),
             "whisper_slider": centre(c.rows[("style", "whisper")].slider), "render": centre(c.render_btn),
             "takes": centre(w.takes_panel.list), "filter": centre(c.filter), "ab": centre(w.transport.ab_btn),
             **{f"t{s}": at(s) for s in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)}}
        lst = w.takes_panel.list
        for i in range(lst.count()):
            p = lst.viewport().mapToGlobal(lst.visualItemRect(lst.item(i)).center())
            d[f"take_row{i}"] = [p.x(), p.y()]
        Path(geo_path).write_text(json.dumps(d))

    timers = []
    for fn, ms in ((refs, 5000), (geometry, 1000)):
        t = QTimer()
        t.timeout.connect(fn)
        t.start(ms)
        timers.append(t)

    def start() -> None:
        if not w.offer_recovery() and audio != "-":
            w.open_file(audio)

    QTimer.singleShot(0, w, start)
    rc = app.exec()
    say("exit", rc)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
