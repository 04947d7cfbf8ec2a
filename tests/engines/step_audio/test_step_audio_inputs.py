"""Inputs the model cannot take (rates, lengths), transcripts and sidecars, the protocol's
framing, and what the worker reads from a source tree without importing it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stepedit_app.audio.analysis import activity
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.engines.step_audio import protocol
from stepedit_app.engines.step_audio.inputs import (
    MAX_INPUT_S,
    model_input,
    plan_pieces,
    read_sidecar,
    resample,
    resolve_transcript,
    speech_seconds,
    split_transcript,
    upstream_scale,
)
from stepedit_app.engines.step_audio.vocabulary import PARALINGUISTIC_TAGS, tags_in
from stepedit_app.engines.step_audio.worker import (
    detect_generation,
    generation_from_parameters,
    source_commit,
)
from stepedit_app.errors import RequestError

# --- rates ---------------------------------------------------------------------------------------


def test_rates_under_16k_are_upsampled_and_others_kept():
    x = np.sin(2 * np.pi * 200 * np.arange(8000) / 8000)
    y, r = model_input(x, 8000)
    assert r == 16000 and len(y) == 16000
    z, r2 = model_input(x, 22050)
    assert r2 == 22050 and np.array_equal(z, x)


def test_resampling_keeps_a_tone_and_the_length():
    t = np.arange(24000) / 24000
    tone = np.sin(2 * np.pi * 440 * t)
    y = resample(tone, 24000, 44100)
    assert len(y) == 44100
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert abs(np.argmax(spec) * 44100 / len(y) - 440) < 2


def test_upstream_scale_matches_the_peak_rule():
    assert upstream_scale(np.array([0.0, 0.3, -0.5])) == 1.0
    assert upstream_scale(np.array([0.0, 0.9, -1.2])) == pytest.approx(0.5)


# --- long inputs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_speech(data_dir):
    """About 42 s of real speech: the three test clips (16 kHz) one after another, twice, with
    the pauses they have."""
    parts = []
    for name in ("cmu_arctic_us_aew_a0001.wav", "cmu_arctic_us_axb_a0004.wav"):
        x, rate = sf.read(data_dir / name)
        assert rate == 16000
        parts.append(x)
    x = np.concatenate(parts * 7)
    return x, 16000


def test_long_input_is_cut_inside_pauses_into_pieces_the_model_takes(long_speech):
    x, rate = long_speech
    assert len(x) / rate > MAX_INPUT_S
    spans = plan_pieces(x, rate)
    assert len(spans) >= 2
    assert spans[0][0] == 0 and spans[-1][1] == len(x)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert all((e - s) / rate <= MAX_INPUT_S for s, e in spans)
    act = activity(x, rate)
    for s, _ in spans[1:]:
        f = s // int(0.01 * rate)
        assert not act[max(0, f - 5): f + 5].any(), "a cut falls inside speech"


def test_a_long_input_without_pauses_is_refused_in_one_line():
    rate = 16000
    t = np.arange(int(35 * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 150 * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))
    with pytest.raises(RequestError) as exc:
        plan_pieces(x, rate)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("the region is 35.0 s, longer than the model takes (30 s), and has no pause")
    assert msg.endswith("select a shorter region")


def test_short_input_is_one_piece():
    assert plan_pieces(np.zeros(16000), 16000) == [(0, 16000)]


def test_transcript_split_follows_speech_time_and_clause_ends():
    text = "Hello there, my friend. How are you doing today? I am fine [Laughter] thanks."
    assert split_transcript(text, [1.0, 1.0, 1.0]) == [
        "Hello there, my friend.", "How are you doing today?", "I am fine [Laughter] thanks."]
    # twice the speech time: about twice the words
    a, b = split_transcript("one two three four five six seven eight nine", [2.0, 1.0])
    assert a == "one two three four five six" and b == "seven eight nine"
    # CJK counts characters
    assert split_transcript("我们今天去公园玩然后回家", [1.0, 1.0]) == ["我们今天去公", "园玩然后回家"]
    assert split_transcript("我们今天去公园，玩然后回家", [1.0, 1.0]) == ["我们今天去公园，", "玩然后回家"]


def test_transcript_too_short_for_the_pieces_is_refused():
    with pytest.raises(RequestError, match=r"^the transcript has 1 word\(s\) but the region must be split into 2 pieces"):
        split_transcript("hello", [1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.from_regex(r"[A-Za-z']{1,8}[,.]?", fullmatch=True), min_size=3, max_size=40),
       speech=st.lists(st.floats(0.2, 20.0), min_size=2, max_size=3))
@example(words=["A", "A", "'"], speech=[1.0, 1.0, 1.0])  # found by CI: three tokens, two words
def test_split_transcript_loses_and_invents_nothing(words, speech):
    text = " ".join(words)
    # a token of apostrophes alone ("'") is no word: with fewer words than pieces the split is
    # refused, however many tokens the text has
    if sum(any(ch.isalnum() for ch in w) for w in words) < len(speech):
        with pytest.raises(RequestError, match=r"^the transcript has \d+ word\(s\) but the region must be split"):
            split_transcript(text, speech)
        return
    parts = split_transcript(text, speech)
    assert len(parts) == len(speech) and all(parts)
    assert " ".join(parts).split() == text.split()


def test_speech_seconds_measures_each_piece(long_speech):
    x, rate = long_speech
    spans = plan_pieces(x, rate)
    sec = speech_seconds(x, rate, spans)
    assert len(sec) == len(spans) and all(0 < s <= (e - b) / rate for s, (b, e) in zip(sec, spans))


# --- transcripts -----------------------------------------------------------------------------------


def _clip(path, seconds=1.0, rate=16000):
    x = 0.1 * np.sin(2 * np.pi * 150 * np.arange(int(seconds * rate)) / rate)
    sf.write(path, x, rate)
    return Clip(x, rate, path)


def test_sidecar_txt_and_htk_lab(tmp_path):
    wav = tmp_path / "line_001.wav"
    _clip(wav)
    assert read_sidecar(wav) is None
    (tmp_path / "line_001.lab").write_text("0 1200000 sil\n1200000 3500000 hello\n3500000 6000000 world\n6000000 7000000 sp\n")
    assert read_sidecar(wav) == ("hello world", tmp_path / "line_001.lab")
    (tmp_path / "line_001.txt").write_text("\ufeff  Hello,\n  world!  \n")
    assert read_sidecar(wav) == ("Hello, world!", tmp_path / "line_001.txt")  # .txt wins, BOM and spacing gone


def test_plain_lab_is_text(tmp_path):
    wav = tmp_path / "a.wav"
    _clip(wav)
    (tmp_path / "a.lab").write_text("the quick brown fox\n")
    assert read_sidecar(wav)[0] == "the quick brown fox"


def test_transcript_resolution_never_guesses_a_subregion(tmp_path):
    wav = tmp_path / "b.wav"
    clip = _clip(wav, seconds=2.0)
    assert resolve_transcript(None, clip, None) == (None, "")
    (tmp_path / "b.txt").write_text("two words")
    assert resolve_transcript(None, clip, None) == ("two words", f"from {tmp_path / 'b.txt'}")
    assert resolve_transcript(None, clip, Region(0, -1))[0] == "two words"  # the whole clip
    assert resolve_transcript("  given   words ", clip, Region(100, 8000)) == ("given words", "given")
    with pytest.raises(RequestError) as exc:
        resolve_transcript(None, clip, Region(1600, 16000))
    assert str(exc.value) == ("region 0.100–1.000 s needs its own transcript (--text); b.txt holds the whole file's "
                              "words and StepEdit does not guess which of them the region speaks")


# --- vocabulary --------------------------------------------------------------------------------------


def test_both_tag_spellings_are_offered_and_found():
    tags = [t.tag for t in PARALINGUISTIC_TAGS]
    assert "[Laughter]" in tags and "[laugh]" in tags and "[Breathing]" in tags and "[breath]" in tags
    assert len(tags) == len(set(tags)) == 24
    assert all(re.fullmatch(r"\[[A-Za-z -]+\]", t) for t in tags)
    assert tags_in("so [Laughter] that was [uhm] it [Laughter]") == ["[Laughter]", "[uhm]", "[Laughter]"]


# --- protocol ------------------------------------------------------------------------------------------


def test_protocol_round_trip_and_one_line():
    msg = {"op": "edit", "id": "r1", "audio_text": "line\nbreak ünïcode", "seed": None}
    data = protocol.encode(msg)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert protocol.decode(data, "op") == msg


@pytest.mark.parametrize("line,why", [
    (b"hello world\n", "not JSON"),
    (b"[1, 2]\n", "not a JSON object"),
    (b'{"event": "teleport", "id": "1"}\n', "unknown event 'teleport'"),
    (b'{"event": "result"}\n', "event 'result' without a string id"),
    (b'{"event": "result", "id": 3}\n', "event 'result' without a string id"),
    (b"\xff\xfe{}\n", "line is not UTF-8"),
])
def test_protocol_names_what_is_wrong_with_a_line(line, why):
    with pytest.raises(protocol.ProtocolError) as exc:
        protocol.decode(line, "event")
    assert str(exc.value).startswith(why)


def test_protocol_hello_needs_no_id_and_nan_is_not_sent():
    assert protocol.decode(b'{"event": "hello", "protocol": 1}', "event")["protocol"] == 1
    with pytest.raises(ValueError):
        protocol.encode({"event": "result", "id": "1", "x": float("nan")})


# --- the worker's reading of a source tree -----------------------------------------------------------


def test_generation_from_the_constructor_signature(trees):
    gen1, names1, problem1 = detect_generation(str(trees["v1"]))
    gen2, names2, problem2 = detect_generation(str(trees["v2"]))
    assert (gen1, problem1) == ("v1", "") and "quantization_config" in names1
    assert (gen2, problem2) == ("v2", "") and "gpu_memory_utilization" in names2
    assert generation_from_parameters({"model_path", "audio_tokenizer", "model_source", "tts_model_id"}) == "v1"
    assert generation_from_parameters({"foo"}) is None


def test_generation_problems_are_one_line(tmp_path):
    assert detect_generation(str(tmp_path))[2].startswith("cannot read")
    (tmp_path / "tts.py").write_text("class Other:\n    pass\n")
    assert detect_generation(str(tmp_path)) == (None, [], f"{tmp_path / 'tts.py'} defines no StepAudioTTS class")
    (tmp_path / "tts.py").write_text("def broken(:\n")
    assert "does not parse" in detect_generation(str(tmp_path))[2]


def test_source_commit_from_detached_head_branch_and_packed_refs(tmp_path):
    git = tmp_path / ".git"
    git.mkdir()
    assert source_commit(str(tmp_path)) is None  # no HEAD
    (git / "HEAD").write_text("a" * 40 + "\n")
    assert source_commit(str(tmp_path)) == "a" * 40
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text("# pack-refs\n" + "b" * 40 + " refs/heads/main\n")
    assert source_commit(str(tmp_path)) == "b" * 40
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "refs" / "heads" / "main").write_text("c" * 40 + "\n")
    assert source_commit(str(tmp_path)) == "c" * 40


def test_the_settings_file_is_plain_json(user_dirs):
    from stepedit_app.engines.step_audio.settings import (
        StepAudioSettings,
        config_path,
        load_settings,
        save_settings,
    )

    assert load_settings() is None
    path = save_settings(StepAudioSettings(python="/x/python", source="/x/src", models="/x/m", quantization="int8"))
    assert path == config_path() and str(path).startswith(str(user_dirs / "config"))
    assert json.loads(path.read_text())["quantization"] == "int8"
    assert [p.name for p in path.parent.iterdir()] == ["step-audio.json"]  # no temporary file left
    assert load_settings().quantization == "int8"
    path.write_text("{not json")
    with pytest.raises(RequestError, match="is not valid JSON; run stepedit setup step-audio again$"):
        load_settings()
    path.write_text(json.dumps({"python": "/x", "source": "/y", "models": "/z", "gpu_share": 7}))
    with pytest.raises(RequestError, match=r"GPU memory share 7 out of range \(allowed: 0.05..1\); run stepedit"):
        load_settings()
