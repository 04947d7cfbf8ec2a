"""A worker that is cancelled, killed, crashes, hangs, freezes, runs out of memory, fails to load
or speaks garbage: one line each, the session and its takes intact, the next request restarts it.
Real processes and real signals."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time

import pytest
from standin import TRANSCRIPTS, calls, last, set_flag, standin_settings

from stepedit_app.audio.io import read_clip
from stepedit_app.engines.base import CancelToken
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.step_audio.client import WorkerClient, WorkerFailure
from stepedit_app.engines.step_audio.engine import StepAudioEngine
from stepedit_app.errors import Cancelled, EngineError
from stepedit_app.session.session import EditSession, RenderCancelled, TakeReady


@pytest.fixture(scope="module")
def quick(trees, tmp_path_factory):
    """A v1 worker with short time limits (hang after 4 s, silence after 3 s)."""
    settings = standin_settings(trees["v1"], trees["models"], timeout_s=4.0, timeout_per_audio_s=0.0, stall_s=3.0)
    client = WorkerClient(settings, log_file=tmp_path_factory.mktemp("log") / "worker.log")
    yield client
    client.close()


def clip_path(data_dir):
    return data_dir / "cmu_arctic_us_axb_a0004.wav"


def happy(data_dir, **kw) -> EditRequest:
    return EditRequest(emotions={"happy": 1.0}, transcript=TRANSCRIPTS["cmu_arctic_us_axb_a0004.wav"], **kw)


def session(data_dir, client) -> EditSession:
    return EditSession(read_clip(clip_path(data_dir)), StepAudioEngine(client.settings, client))


def assert_one_line(msg: str) -> None:
    assert "\n" not in msg and "Traceback" not in msg and len(msg) < 600, msg


def run_until_take(gen):
    """Advance a render until its first take; return the events seen."""
    events = []
    for ev in gen:
        events.append(ev)
        if isinstance(ev, TakeReady):
            return events
    return events


def test_a_worker_killed_mid_edit_is_reported_then_restarted(quick, models, data_dir):
    s = session(data_dir, quick)
    s.run(happy(data_dir))  # a first take, and a warm worker
    pid = quick.pid
    set_flag(models, "STANDIN_SLOW", "30")
    timer = threading.Timer(1.5, os.kill, (pid, signal.SIGKILL))
    timer.start()
    try:
        with pytest.raises(WorkerFailure) as exc:
            s.run(happy(data_dir))
    finally:
        timer.cancel()
    msg = str(exc.value)
    assert_one_line(msg)
    assert msg.startswith("the step-audio worker was killed by SIGKILL (the system may have run out of memory) during the happy pass")
    assert msg.endswith(f"the next edit restarts it; log: {quick.log_file}")
    assert len(s.takes) == 1 and not quick.alive  # the earlier take is still there
    (models / "STANDIN_SLOW").unlink()
    s.run(happy(data_dir))
    assert len(s.takes) == 2 and quick.pid != pid and quick.alive


def test_a_crash_names_the_signal_and_the_last_log_line(quick, models, data_dir):
    s = session(data_dir, quick)
    set_flag(models, "STANDIN_SEGV")
    with pytest.raises(WorkerFailure) as exc:
        s.run(happy(data_dir))
    msg = str(exc.value)
    assert_one_line(msg)
    assert msg.startswith("the step-audio worker was killed by SIGSEGV during the happy pass; last log line: ")
    assert len(s.takes) == 0


def test_a_hung_call_is_stopped_after_its_time_limit(quick, models, data_dir):
    s = session(data_dir, quick)
    s.run(happy(data_dir))
    pid = quick.pid
    set_flag(models, "STANDIN_HANG")
    t0 = time.monotonic()
    with pytest.raises(WorkerFailure) as exc:
        s.run(happy(data_dir))
    msg = str(exc.value)
    assert_one_line(msg)
    assert msg.startswith("the step-audio worker did not finish the happy pass within 4 s (hung) and was stopped")
    assert time.monotonic() - t0 < 30
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # really gone
    (models / "STANDIN_HANG").unlink()
    s.run(happy(data_dir))
    assert len(s.takes) == 2


def test_a_frozen_worker_is_noticed_by_its_silence(quick, models, data_dir):
    s = session(data_dir, quick)
    s.run(happy(data_dir))
    pid = quick.pid
    set_flag(models, "STANDIN_SLOW", "30")
    timer = threading.Timer(1.0, os.kill, (pid, signal.SIGSTOP))  # no more heartbeats
    timer.start()
    try:
        with pytest.raises(WorkerFailure) as exc:
            s.run(happy(data_dir))
    finally:
        timer.cancel()
    msg = str(exc.value)
    assert_one_line(msg)
    assert msg.startswith("the step-audio worker stopped answering during the happy pass (no sign of life for 3 s)")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the stopped process was killed, not left behind


def test_out_of_memory_is_one_line_with_a_hint_and_frees_the_worker(quick, models, data_dir):
    s = session(data_dir, quick)
    s.run(happy(data_dir))
    pid = quick.pid
    set_flag(models, "STANDIN_OOM")
    with pytest.raises(WorkerFailure) as exc:
        s.run(happy(data_dir))
    msg = str(exc.value)
    assert_one_line(msg)
    assert msg.startswith("out of GPU memory during the happy pass (OutOfMemoryError: CUDA out of memory.")
    assert "--quantization" in msg and "the worker was stopped to free the memory" in msg
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    (models / "STANDIN_OOM").unlink()
    s.run(happy(data_dir))
    assert len(s.takes) == 2


def test_a_model_that_does_not_load_says_so(trees, models, data_dir, tmp_path):
    set_flag(models, "STANDIN_LOAD_FAIL")
    client = WorkerClient(standin_settings(trees["v1"], models), log_file=tmp_path / "w.log")
    try:
        with pytest.raises(WorkerFailure) as exc:
            session(data_dir, client).run(happy(data_dir))
        msg = str(exc.value)
        assert_one_line(msg)
        assert msg == ("the Step-Audio-EditX model did not load: loading the model failed: RuntimeError: stand-in refuses "
                       f"to load; run stepedit doctor; log: {tmp_path / 'w.log'}")
        assert "Traceback" in (tmp_path / "w.log").read_text()  # the details are in the log
    finally:
        client.close()


def test_an_upstream_error_leaves_the_worker_up(quick, models, data_dir):
    s = session(data_dir, quick)
    s.run(happy(data_dir))
    pid = quick.pid
    # the stand-in refuses an empty transcript for an edit, as upstream's prompt would be empty
    gen = quick.request("edit", {"input": str(clip_path(data_dir)), "output": str(quick.temp_path("o.wav")),
                                 "audio_text": "", "edit_type": "emotion", "edit_info": "happy"})
    with pytest.raises(EngineError) as exc:
        for _ in gen:
            pass
    msg = str(exc.value)
    assert_one_line(msg)
    assert msg.startswith("Step-Audio-EditX failed during edit: ValueError: the transcript is empty; log: ")
    assert quick.pid == pid and quick.alive


def test_cancel_stops_generation_at_the_next_token_and_keeps_the_worker(quick, models, data_dir):
    s = session(data_dir, quick)
    s.run(happy(data_dir))
    pid = quick.pid
    set_flag(models, "STANDIN_SLOW", "20")
    token = CancelToken()
    timer = threading.Timer(1.5, token.cancel)
    timer.start()
    t0 = time.monotonic()
    events = list(s.render(happy(data_dir, iterations=2), cancel=token))
    assert isinstance(events[-1], RenderCancelled) and events[-1].kept == 0
    assert time.monotonic() - t0 < 15
    (models / "STANDIN_SLOW").unlink()
    # the next request waits for the cancelled call to wind up, then runs on the same worker
    s.run(happy(data_dir))
    assert quick.pid == pid
    gen_record = last(models, "STANDIN_LAST_GENERATE.json")
    assert gen_record["steps"] == 400 and gen_record["done"] < 200  # stopped by the cancel, not by the end


def test_cancel_keeps_finished_iterations(quick, models, data_dir):
    s = session(data_dir, quick)
    token = CancelToken()
    gen = s.render(happy(data_dir, iterations=3), cancel=token)
    events = run_until_take(gen)
    assert isinstance(events[-1], TakeReady)
    set_flag(models, "STANDIN_SLOW", "20")
    token.cancel()
    rest = list(gen)
    assert isinstance(rest[-1], RenderCancelled) and rest[-1].kept == 1
    assert [e.take.iteration for e in events + rest if isinstance(e, TakeReady)] == [1]


def test_cancel_on_v2_returns_at_once_and_the_next_request_waits(trees, models, data_dir, tmp_path):
    """v2 (vLLM) has no per-token hook: the running call finishes in the worker and is
    discarded; the editor does not wait for it."""
    client = WorkerClient(standin_settings(trees["v2"], models), log_file=tmp_path / "w.log")
    try:
        s = session(data_dir, client)
        s.run(happy(data_dir))
        set_flag(models, "STANDIN_SLOW", "4")
        token = CancelToken()
        threading.Timer(1.0, token.cancel).start()
        t0 = time.monotonic()
        events = list(s.render(happy(data_dir), cancel=token))
        assert isinstance(events[-1], RenderCancelled)
        assert time.monotonic() - t0 < 3.5
        (models / "STANDIN_SLOW").unlink()
        (take,) = s.run(happy(data_dir))
        assert take.deltas["f0_st"] > 2.0
        assert len(calls(models)) == 3  # the cancelled call did run, and its output was dropped
    finally:
        client.close()


def test_cancel_before_a_worker_exists_raises_cancelled(trees, models, tmp_path):
    client = WorkerClient(standin_settings(trees["v1"], models), log_file=tmp_path / "w.log")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        for _ in client.ensure_ready(token):
            pass
    client.close()


# --- workers that break the protocol -------------------------------------------------------------

FAKE_HEAD = textwrap.dedent("""
    import json, sys
    def send(obj):
        sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
""")
HELLO = 'send({"event": "hello", "protocol": 1, "pid": 0})\n'


@pytest.mark.parametrize("body,expected", [
    (HELLO + "for line in sys.stdin:\n    print('Loading checkpoint shards: 100%'); sys.stdout.flush()\n",
     "the step-audio worker sent a malformed reply while loading the model (not JSON: 'Loading checkpoint shards: 100%')"),
    (HELLO + "for line in sys.stdin:\n    send({'event': 'teleport', 'id': json.loads(line)['id']})\n",
     "the step-audio worker sent a malformed reply while loading the model (unknown event 'teleport'"),
    (HELLO + "for line in sys.stdin:\n    send({'event': 'result'})\n",
     "the step-audio worker sent a malformed reply while loading the model (event 'result' without a string id"),
    ('send({"event": "hello", "protocol": 99, "pid": 0})\nsys.stdin.read()\n',
     "the step-audio worker speaks protocol 99, StepEdit 1"),
    ("sys.stdout.write('libcudnn: warning\\n'); sys.stdout.flush()\nsys.stdin.read()\n",
     "the step-audio worker sent a malformed reply while starting (not JSON: 'libcudnn: warning')"),
    ("raise SystemExit(3)\n", "the step-audio worker exited with status 3 while starting"),
])
def test_malformed_replies_are_one_line_and_stop_the_worker(trees, models, tmp_path, data_dir, body, expected):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_HEAD + body)
    client = WorkerClient(standin_settings(trees["v1"], models, stall_s=5.0), worker_script=script,
                          log_file=tmp_path / "w.log")
    try:
        with pytest.raises(WorkerFailure) as exc:
            for _ in client.ensure_ready():
                pass
        msg = str(exc.value)
        assert_one_line(msg)
        assert msg.startswith(expected), msg
        assert not client.alive
    finally:
        client.close()


def test_a_missing_interpreter_is_one_line(trees, models, tmp_path):
    settings = standin_settings(trees["v1"], models)
    settings.python = str(tmp_path / "nope" / "python")
    client = WorkerClient(settings, log_file=tmp_path / "w.log")
    from stepedit_app.errors import EngineUnavailable

    with pytest.raises(EngineUnavailable) as exc:
        for _ in client.ensure_ready():
            pass
    assert str(exc.value) == (f"the model environment's Python {settings.python} does not exist; "
                              "run stepedit setup step-audio")


def test_the_worker_exits_when_the_editor_goes(trees, models, tmp_path):
    """Closing the pipe (the editor crashed) ends the worker: the GPU is not held by an orphan."""
    client = WorkerClient(standin_settings(trees["v1"], models), log_file=tmp_path / "w.log")
    for _ in client.start():
        pass
    proc = client._proc
    proc.stdin.close()
    assert proc.wait(20) == 0
    client.close()


def test_shutdown_is_clean_and_leaves_no_temporary_folder(trees, models, tmp_path, data_dir):
    client = WorkerClient(standin_settings(trees["v1"], models), log_file=tmp_path / "w.log")
    s = session(data_dir, client)
    s.run(happy(data_dir))
    tmp = client._tmp
    assert tmp is not None and tmp.is_dir() and list(tmp.iterdir()) == []  # per-call files already gone
    proc = client._proc
    client.close()
    assert proc.returncode == 0 and not tmp.exists()
    assert "shut down" in (tmp_path / "w.log").read_text()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("signals and process groups are tested on Linux")
