"""Playback: real PortAudio on the null ALSA device, and an injected stream for exact positions."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import sounddevice as sd

from stepedit_app.audio.playback import PlaybackState, Player
from stepedit_app.errors import StepEditError


class FakeStream:
    """Stands in for sounddevice.OutputStream: the test pulls blocks by hand."""

    def __init__(self, samplerate, channels, dtype, blocksize, callback, finished_callback, device):
        self.channels, self.callback, self.finished = channels, callback, finished_callback
        self.active = False

    def start(self):
        self.active = True

    def pull(self, frames=512):
        out = np.full((frames, self.channels), np.nan, np.float32)
        try:
            self.callback(out, frames, None, None)
        except sd.CallbackStop:
            self.active = False
            self.finished()
        return out

    def stop(self):
        self.active = False

    def close(self):
        pass


def _player():
    streams = []

    def factory(**kw):
        s = FakeStream(**kw)
        streams.append(s)
        return s

    return Player(factory), streams


def ramp(n, ch=1, offset=0.0):
    return np.tile(((np.arange(n) + offset) / 1e6).astype(np.float32)[:, None], (1, ch))


def test_callback_fills_whole_buffer_and_stops_at_end():
    p, streams = _player()
    a = ramp(1000)
    p.load(a, 8000)
    done = []
    p.on_finished = lambda: done.append(1)
    p.play(0)
    s = streams[0]
    out = s.pull(512)
    np.testing.assert_array_equal(out, a[:512])
    out = s.pull(512)
    np.testing.assert_array_equal(out[:488], a[512:])
    assert np.all(out[488:] == 0)  # the rest of the buffer is silence, not garbage
    assert done == [1] and p.state == PlaybackState.STOPPED


def test_ab_switch_keeps_the_moment_of_speech():
    """B is 500 frames longer inside the region 1000..2000; switching maps positions."""
    p, streams = _player()
    a = ramp(4000)
    b = np.concatenate([a[:1000], ramp(1500, offset=0.5), a[2000:]])
    p.load(a, 8000, b, (1000, 2000))
    p.play(3000)
    s = streams[0]
    s.pull(100)
    assert p.position == 3100
    p.set_source("B")
    assert p.position == 3600  # after the region: shifted by the length change
    out = s.pull(10)
    np.testing.assert_array_equal(out, b[3600:3610])
    np.testing.assert_array_equal(out, a[3100:3110])  # the same audio outside the region
    p.set_source("A")
    assert p.position == 3110
    p.stop()
    p.play(1500)  # inside the region: proportional
    p.set_source("B")
    assert p.position == 1750
    assert len(streams) == 2  # switching never restarted a stream


def test_loop_swaps_new_take_at_the_boundary():
    p, streams = _player()
    a = ramp(2000)
    b1 = a + 1.0
    b2 = a + 2.0
    p.load(a, 8000, b1, (0, 2000))
    p.set_loop(500, 1000)
    p.set_source("B")
    p.play(500, loop=True)
    s = streams[0]
    out = s.pull(300)
    assert np.all(out > 1.0) and np.all(out < 2.0)
    p.queue_take(b2, (0, 2000))
    out = s.pull(300)  # crosses the loop end at frame 1000
    assert np.all(out[:200] < 2.0)  # rest of the old pass
    assert np.all(out[200:] > 2.0)  # new take from the loop start
    np.testing.assert_array_equal(out[200:], b2[500:600])
    assert p.swaps == 1


def test_no_device_is_one_clear_line():
    def broken(**kw):
        raise sd.PortAudioError("Error querying device -1")

    p = Player(broken)
    p.load(ramp(100), 8000)
    with pytest.raises(StepEditError, match=r"^no audio output device: Error querying device -1$"):
        p.play()
    assert p.state == PlaybackState.STOPPED
    assert not p.available


def test_real_portaudio_null_device_plays_to_the_end():
    """Real PortAudio stream (null ALSA output in tests): the whole buffer is consumed and the
    finished callback fires."""
    assert Player.output_devices(), "PortAudio lists an output device"
    p = Player()
    assert p.available, p.error
    rate = 22050
    p.load(np.zeros((rate // 2, 2), np.float32), rate)
    finished = threading.Event()
    p.on_finished = finished.set
    p.play(0)
    assert finished.wait(20), "playback finished"
    assert p.position == rate // 2
    p.close()
    p.close()  # safe twice


def test_segment_take_plays_like_the_spliced_take():
    """B given as the edited segment alone (no copy of the clip) sounds exactly like B given
    as the whole spliced clip, across the region's boundaries and after it."""
    a = ramp(5000)
    seg = ramp(1700, offset=0.25)
    spliced = np.concatenate([a[:1000], seg, a[2000:]])
    outs = []
    for kwargs in ({"take": spliced, "region": (1000, 2000)},
                   {"take": seg, "region": (1000, 2000), "segment": True}):
        p, streams = _player()
        p.load(a, 8000, **kwargs)
        p.set_source("B")
        p.play(600)
        outs.append(np.concatenate([streams[0].pull(512) for _ in range(12)]))
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0][: len(spliced) - 600], spliced[600:])
