"""The control vocabulary: EditRequest validation and messages, (de)serialisation, command-line
assignments, and engines refusing what they cannot do."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepedit_app.audio.clip import Clip
from stepedit_app.engines.base import Capabilities
from stepedit_app.engines.controls import (
    EMOTIONS,
    MAX_ITERATIONS,
    SPEEDS,
    STYLES,
    EditRequest,
    parse_assignment,
)
from stepedit_app.engines.registry import create_engine
from stepedit_app.errors import RequestError
from stepedit_app.session.session import EditSession

ALLOWED_EMOTIONS = ", ".join(EMOTIONS)
ALLOWED_STYLES = ", ".join(STYLES)


def _msg(exc_info) -> str:
    return str(exc_info.value)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("group,attr,name,hint,allowed", [
    ("emotions", "emotions", "hapy", "happy", ALLOWED_EMOTIONS),
    ("styles", "styles", "wisper", "whisper", ALLOWED_STYLES),
    ("speed", "speed", "fast", "faster", ", ".join(SPEEDS)),
])
def test_unknown_name_with_a_hint(group, attr, name, hint, allowed):
    with pytest.raises(RequestError) as exc:
        EditRequest(**{attr: {name: 0.5}})
    assert _msg(exc) == f"{group}: unknown name {name!r} (did you mean {hint!r}? allowed: {allowed})"


def test_unknown_name_without_a_close_match_lists_the_allowed_values():
    with pytest.raises(RequestError) as exc:
        EditRequest(emotions={"zzqx": 0.5})
    assert _msg(exc) == f"emotions: unknown name 'zzqx' (allowed: {ALLOWED_EMOTIONS})"
    assert "unknown name" in _msg(exc) and "did you mean" not in _msg(exc)


def test_a_style_is_not_an_emotion():
    with pytest.raises(RequestError) as exc:
        EditRequest(emotions={"whisper": 0.5})
    assert _msg(exc).startswith("emotions: unknown name 'whisper' (")
    assert ALLOWED_EMOTIONS in _msg(exc)


def test_names_are_normalised():
    r = EditRequest(emotions={" Happy ": 0.5}, styles={"WHISPER": 0.25})
    assert dict(r.emotions) == {"happy": 0.5} and dict(r.styles) == {"whisper": 0.25}


def test_groups_must_be_mappings():
    with pytest.raises(RequestError) as exc:
        EditRequest(emotions=[("happy", 0.5)])
    assert _msg(exc) == "emotions: expected a mapping of name to intensity"


# --- intensities -----------------------------------------------------------------------------


@pytest.mark.parametrize("value,text", [
    (1.5, "emotions.happy: intensity 1.5 out of range (allowed: 0..1)"),
    (-0.1, "emotions.happy: intensity -0.1 out of range (allowed: 0..1)"),
    (float("nan"), "emotions.happy: intensity nan out of range (allowed: 0..1)"),
    (float("inf"), "emotions.happy: intensity inf out of range (allowed: 0..1)"),
    ("x", "emotions.happy: intensity 'x' is not a number (allowed: 0..1)"),
    (None, "emotions.happy: intensity None is not a number (allowed: 0..1)"),
    ([0.5], "emotions.happy: intensity [0.5] is not a number (allowed: 0..1)"),
])
def test_out_of_range_intensities(value, text):
    with pytest.raises(RequestError) as exc:
        EditRequest(emotions={"happy": value})
    assert _msg(exc) == text


@pytest.mark.parametrize("value", [0, 0.0, 1, 1.0, 0.5, "0.25", np.float32(0.75)])
def test_in_range_intensities_become_floats(value):
    v = EditRequest(styles={"shout": value}).styles["shout"]
    assert type(v) is float and v == float(value)


def test_duplicates_after_normalisation_are_refused():
    with pytest.raises(RequestError) as exc:
        EditRequest(emotions={"happy": 0.5, "HAPPY": 0.7})
    assert _msg(exc) == "emotions.happy: given twice"


# --- iterations, transcript, seed ----------------------------------------------------------


@pytest.mark.parametrize("it,text", [
    (0, "iterations: 0 out of range (allowed: 1..10)"),
    (11, "iterations: 11 out of range (allowed: 1..10)"),
    (-3, "iterations: -3 out of range (allowed: 1..10)"),
    (2.5, "iterations: 2.5 is not a whole number (allowed: 1..10)"),
    (True, "iterations: True is not a whole number (allowed: 1..10)"),
    ("3", "iterations: '3' is not a whole number (allowed: 1..10)"),
    (None, "iterations: None is not a whole number (allowed: 1..10)"),
])
def test_bad_iterations(it, text):
    with pytest.raises(RequestError) as exc:
        EditRequest(emotions={"sad": 0.5}, iterations=it)
    assert _msg(exc) == text


def test_good_iterations():
    assert EditRequest(iterations=1).iterations == 1
    assert EditRequest(iterations=MAX_ITERATIONS).iterations == MAX_ITERATIONS
    r = EditRequest(iterations=3.0)
    assert r.iterations == 3 and type(r.iterations) is int
    assert r.with_iterations(7).iterations == 7
    with pytest.raises(RequestError):
        r.with_iterations(0)


def test_transcript_and_seed():
    assert EditRequest(transcript="  hello \n  world ").transcript == "hello world"
    assert EditRequest(transcript="   ").transcript is None
    assert EditRequest(seed=5).seed == 5
    with pytest.raises(RequestError) as exc:
        EditRequest(seed="5")
    assert _msg(exc) == "seed: '5' is not a whole number"


def test_request_is_read_only_and_does_not_share_the_callers_dict():
    d = {"happy": 0.5}
    r = EditRequest(emotions=d)
    d["happy"] = 0.9
    d["sad"] = 0.1
    assert dict(r.emotions) == {"happy": 0.5}
    with pytest.raises(TypeError):
        r.emotions["happy"] = 1.0  # type: ignore[index]


# --- views, identity, summary, slug --------------------------------------------------------


def test_summary_slug_active_and_identity():
    r = EditRequest(emotions={"happy": 0.6, "sad": 0.0}, styles={"whisper": 0.3}, speed={"slower": 0.125})
    assert r.summary() == "happy 60% + whisper 30% + slower 12%"
    assert r.slug() == "happy60-whisper30-slower12"
    assert r.active() == [("emotion", "happy", 0.6), ("style", "whisper", 0.3), ("speed", "slower", 0.125)]
    assert ("emotion", "sad", 0.0) in list(r.controls())
    assert not r.is_identity
    zero = EditRequest(emotions={"happy": 0.0}, styles={"shout": 0})
    assert zero.is_identity and zero.summary() == "no change" and zero.slug() == "original"
    assert EditRequest().is_identity


# --- (de)serialisation -----------------------------------------------------------------------


@pytest.mark.parametrize("req", [
    EditRequest(),
    EditRequest(emotions={"happy": 0.6, "fear": 1.0}, styles={"whisper": 0.3}, iterations=4),
    EditRequest(speed={"faster": 0.2}, transcript="has never been surpassed.", seed=42),
    EditRequest(emotions={"sad": 0.0}),
])
def test_to_dict_from_dict_round_trip(req):
    d = req.to_dict()
    assert set(d) <= {"emotions", "styles", "speed", "iterations", "transcript", "seed", "denoise", "vad", "paralinguistic"}
    back = EditRequest.from_dict(json.loads(json.dumps(d)))
    assert back == req
    assert back.to_dict() == d
    assert EditRequest.from_dict(json.loads(req.to_json())) == req
    assert json.loads(req.to_json()) == d


def test_from_dict_refuses_unknown_fields_and_non_objects():
    with pytest.raises(RequestError) as exc:
        EditRequest.from_dict({"emotions": {"happy": 0.5}, "mood": "good"})
    assert _msg(exc) == ("request: unknown field 'mood' (allowed: denoise, emotions, iterations, keep_duration, "
                         "paralinguistic, seed, speed, styles, transcript, vad)")
    for bad in ([], "happy", None, 3):
        with pytest.raises(RequestError) as exc:
            EditRequest.from_dict(bad)
        assert _msg(exc) == "request: expected a JSON object"
    # values inside are validated the same way
    with pytest.raises(RequestError, match=r"^styles\.shout: intensity 2 out of range"):
        EditRequest.from_dict({"styles": {"shout": 2}})
    assert EditRequest.from_dict({"emotions": None, "iterations": 2}).iterations == 2


# --- command-line assignments ------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("happy=0.6", ("happy", 0.6)),
    ("happy=60%", ("happy", 0.6)),
    (" happy = 0.25 ", ("happy", 0.25)),
    ("happy=1", ("happy", 1.0)),
    ("happy=150%", ("happy", 1.5)),  # range is checked by EditRequest, below
])
def test_parse_assignment(text, expected):
    assert parse_assignment(text, "emotion") == expected


@pytest.mark.parametrize("text,message", [
    ("happy", "--emotion 'happy': expected NAME=INTENSITY, e.g. happy=0.6"),
    ("happy=abc", "--emotion 'happy=abc': intensity 'abc' is not a number (allowed: 0..1)"),
    ("happy=", "--emotion 'happy=': intensity '' is not a number (allowed: 0..1)"),
    ("happy=%", "--emotion 'happy=%': intensity '%' is not a number (allowed: 0..1)"),
])
def test_parse_assignment_errors(text, message):
    with pytest.raises(RequestError) as exc:
        parse_assignment(text, "emotion")
    assert _msg(exc) == message


def test_parsed_assignments_are_range_checked():
    name, v = parse_assignment("happy=150%", "emotion")
    with pytest.raises(RequestError, match=r"^emotions\.happy: intensity 1\.5 out of range \(allowed: 0\.\.1\)$"):
        EditRequest(emotions={name: v})
    name, v = parse_assignment("happy=nan", "emotion")
    assert math.isnan(v)
    with pytest.raises(RequestError, match="out of range"):
        EditRequest(emotions={name: v})


# --- capabilities ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def caps() -> Capabilities:
    return create_engine("prosody").capabilities()


def test_prosody_capabilities_are_a_subset_of_the_vocabulary(caps):
    assert caps.name == "prosody" and caps.emotions and caps.styles
    assert set(caps.emotions) <= set(EMOTIONS)
    assert set(caps.styles) <= set(STYLES)
    assert set(caps.speed) == set(SPEEDS)
    assert caps.to_dict()["emotions"] == list(caps.emotions)


@pytest.mark.parametrize("group,attr,name", [
    ("emotion", "emotions", "humour"),
    ("emotion", "emotions", "admiration"),
    ("style", "styles", "radio"),
])
def test_engine_refuses_a_control_it_lacks(caps, group, attr, name):
    assert not caps.supports(group, name)
    req = EditRequest(**{attr: {name: 0.4}})
    with pytest.raises(RequestError) as exc:
        caps.check_request(req)
    assert _msg(exc) == f"engine 'prosody' cannot do {group} {name!r}; see 'stepedit engines' for what it supports"


def test_every_unsupported_control_is_refused_never_ignored(caps):
    for group, attr, names in (("emotion", "emotions", EMOTIONS), ("style", "styles", STYLES)):
        for name in names:
            req = EditRequest(**{attr: {name: 0.5}})
            if caps.supports(group, name):
                caps.check_request(req)
            else:
                with pytest.raises(RequestError, match="engine 'prosody' cannot do"):
                    caps.check_request(req)
    # an unsupported control at zero asks for nothing, and a supported one next to an
    # unsupported one does not hide it
    caps.check_request(EditRequest(emotions={"humour": 0.0, "happy": 0.5}))
    with pytest.raises(RequestError, match="cannot do emotion 'humour'"):
        caps.check_request(EditRequest(emotions={"happy": 0.5, "humour": 0.1}))


def test_session_refuses_before_rendering_and_keeps_no_take(caps):
    t = np.arange(8000) / 16000
    clip = Clip(0.2 * np.sin(2 * np.pi * 150 * t), 16000)
    session = EditSession(clip, "prosody")
    with pytest.raises(RequestError, match="engine 'prosody' cannot do emotion 'humour'"):
        session.run(EditRequest(emotions={"humour": 0.5}))
    assert len(session.takes) == 0


def test_an_engine_that_needs_a_transcript_says_so():
    c = Capabilities(name="stepaudio", label="x", description="x", emotions=("happy",), needs_transcript=True)
    with pytest.raises(RequestError) as exc:
        c.check_request(EditRequest(emotions={"happy": 0.5}))
    assert _msg(exc) == "engine 'stepaudio' needs the transcript of the region"
    c.check_request(EditRequest(emotions={"happy": 0.5}, transcript="hello"))
    c.check_request(EditRequest(emotions={"happy": 0.0}))  # nothing to do: no transcript needed


def test_unknown_engine_name():
    with pytest.raises(RequestError) as exc:
        create_engine("stepaudio-editx-nope")
    prefix = "engine 'stepaudio-editx-nope' is unknown (allowed: "
    assert _msg(exc).startswith(prefix) and _msg(exc).endswith(")")
    assert "prosody" in _msg(exc)[len(prefix) : -1].split(", ")


# --- properties --------------------------------------------------------------------------------

_intensity = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    emotions=st.dictionaries(st.sampled_from(EMOTIONS), _intensity, max_size=4),
    styles=st.dictionaries(st.sampled_from(STYLES), _intensity, max_size=4),
    speed=st.dictionaries(st.sampled_from(SPEEDS), _intensity, max_size=2),
    iterations=st.integers(1, MAX_ITERATIONS),
    transcript=st.none() | st.text(max_size=30),
    seed=st.none() | st.integers(-(2**40), 2**40),
)
def test_any_valid_request_round_trips_through_json(emotions, styles, speed, iterations, transcript, seed):
    r = EditRequest(emotions, styles, speed, iterations, transcript, seed)
    back = EditRequest.from_dict(json.loads(r.to_json()))
    assert back == r and back.to_json() == r.to_json()
    assert r.is_identity == (not any(v > 0 for d in (emotions, styles, speed) for v in d.values()))
    assert (r.summary() == "no change") == r.is_identity == (r.slug() == "original")
    # the slug is safe in a file name
    assert all(ch.isalnum() or ch in "-_" for ch in r.slug())


@settings(max_examples=150, deadline=None)
@given(v=st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_accepted_exactly_when_in_range(v):
    if 0.0 <= v <= 1.0:
        assert EditRequest(speed={"faster": v}).speed["faster"] == v
    else:
        with pytest.raises(RequestError) as exc:
            EditRequest(speed={"faster": v})
        assert _msg(exc) == f"speed.faster: intensity {v!r} out of range (allowed: 0..1)"
