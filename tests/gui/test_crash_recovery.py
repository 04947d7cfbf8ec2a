"""Kill the window mid-session and get every take back (issue 8, problems 1-2).

A real window runs in a child process: it opens a clip, renders takes, renames and stars
them, and keeps a loop playing.  When its last autosave is on disk it reports its takes (a
SHA-256 of each take's samples as held in memory) and the parent kills it with SIGKILL: no
handler, no clean-up, as a crash or a power cut.  A new window then offers to recover, and
every take comes back bit for bit with its name, star, iteration and request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

CHILD = textwrap.dedent(r'''
    import json, os, sys
    from pathlib import Path
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from stepedit_app.gui.app import make_app
    from stepedit_app.gui.main_window import MainWindow
    from stepedit_app.session.storage import samples_sha256

    clip_path, root, ini = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    app = make_app(["child"])
    w = MainWindow(settings=QSettings(ini, QSettings.Format.IniFormat), autosave_root=root)
    w.show()

    def wait(signal, ms=120000):
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def settle_autosave():
        # wait until the autosave has written everything changed so far
        while True:
            wait(w.documents.autosaved, 30000)
            if not (w.documents._auto and w.documents._auto.running) and not w.documents.soon.isActive():
                break

    w.open_file(clip_path)
    wait(w.documents.opened)
    st = w.state
    st.set_region_seconds(1.0, 3.0)
    st.set_loop(True)
    w.playback.play()
    w.controls.rows[("emotion", "sad")].slider.setValue(60)
    w.controls.iterations.setValue(2)
    w.renderer.render()
    wait(w.renderer.finished)
    if len(st.takes) < 2:  # the second iteration converged (no duplicate take): render another
        w.controls.rows[("emotion", "sad")].slider.setValue(80)
        w.controls.iterations.setValue(1)
        w.renderer.render()
        wait(w.renderer.finished)
    st.session.takes.rename(st.takes[0], "first, renamed")
    st.session.takes.set_starred(st.takes[1], True)
    st.set_region_seconds(0.5, 2.0)
    w.controls.rows[("style", "whisper")].slider.setValue(40)
    w.controls.iterations.setValue(1)
    w.renderer.render()
    wait(w.renderer.finished)
    settle_autosave()
    takes = [{"id": t.id, "sha": samples_sha256(t.segment.samples), "name": t.name, "starred": t.starred,
              "iteration": t.iteration, "iterations": t.iterations, "request": t.request.to_dict(),
              "region": [t.region.start, t.region.end]} for t in st.takes]
    print(json.dumps({"pid": os.getpid(), "takes": takes}), flush=True)
    print("READY", flush=True)
    app.exec()  # playing on, until killed
''')


def test_sigkill_mid_session_then_every_take_is_recovered_bit_exact(make_window, qtbot, tmp_path,
                                                                       female_clip_path, autosave_root):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen(
        [sys.executable, str(script), str(female_clip_path), str(autosave_root), str(tmp_path / "child.ini")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    report = None
    deadline = time.monotonic() + 300
    try:
        for line in child.stdout:
            if line.startswith("{"):
                report = json.loads(line)
            if line.strip() == "READY" or time.monotonic() > deadline:
                break
        assert report is not None, child.stderr.read() if child.poll() is not None else "child gave no report"
        assert child.poll() is None, "the child must still be running (mid-session) when killed"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        child.stdout.close()
        child.stderr.close()
    assert len(report["takes"]) == 3

    w = make_window()
    asked = []

    def answer(descriptions):
        asked.append(descriptions)
        return "recover"

    w.ask_recover = answer
    with qtbot.waitSignal(w.documents.opened, timeout=60000):
        assert w.offer_recovery()
    assert asked and "3 takes of LJ001-0004.wav" in asked[0][0]
    from stepedit_app.session.storage import samples_sha256

    got = {t.id: t for t in w.state.takes}
    assert sorted(got) == sorted(t["id"] for t in report["takes"])
    for want in report["takes"]:
        t = got[want["id"]]
        assert samples_sha256(t.segment.samples) == want["sha"], f"take {t.id} is not bit-exact"
        assert (t.name, t.starred, t.iteration, t.iterations) == \
               (want["name"], want["starred"], want["iteration"], want["iterations"])
        assert t.request.to_dict() == want["request"]
        assert [t.region.start, t.region.end] == want["region"]
    assert w.state.modified  # recovered work is not yet saved anywhere but the autosave
    assert w.takes_panel.list.count() == 3
    # The recovered session keeps autosaving into the same folder, and is no longer offered.
    assert w.documents.recoverable() == []
    # A clean close (the user discards) removes the autosave.
    folder = w.documents.autosave.folder
    w.close()
    assert not folder.exists()


def test_the_next_start_can_discard_or_postpone(make_window, qtbot, autosave_root, opened_autosave):
    w = make_window()
    w.ask_recover = lambda d: "later"
    assert not w.offer_recovery()
    assert opened_autosave.exists()
    w.ask_recover = lambda d: "discard"
    assert not w.offer_recovery()
    assert not opened_autosave.exists()


@pytest.fixture
def opened_autosave(autosave_root, female_clip_path):
    """An autosave left by a process that is gone."""
    from stepedit_app.audio.clip import Region
    from stepedit_app.audio.io import read_clip
    from stepedit_app.engines.controls import EditRequest
    from stepedit_app.session.project import Autosave, ProjectSnapshot
    from stepedit_app.session.session import EditSession
    from stepedit_app.session.storage import file_sha256

    clip = read_clip(female_clip_path)
    s = EditSession(clip)
    s.run(EditRequest(emotions={"happy": 0.3}), Region.from_seconds(1, 2, clip.rate))
    a = Autosave(autosave_root)
    a.write(ProjectSnapshot.capture(clip, file_sha256(female_clip_path), s.takes))
    (a.folder / "owner.json").write_text(json.dumps({"pid": 2**22 + 12345}))
    return a.folder
