"""EditorState for an engine with one-shot passes and paralinguistic tags (Step-Audio-EditX's
capabilities; nothing is started): the request the window renders."""

from __future__ import annotations

import pytest

from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.registry import create_engine, engine_class
from stepedit_app.errors import RequestError
from stepedit_app.session.editor import EditorState, split_tags


@pytest.fixture
def state():
    st = EditorState("step-audio-editx")
    # The capabilities alone: the class is not asked whether the engine is configured.
    st.set_capabilities(engine_class("step-audio-editx")().capabilities())
    return st


def test_split_tags_removes_known_tags_only():
    tags = ("[Laughter]", "[laugh]", "[clears throat]")
    assert split_tags("so [Laughter] that [clears throat] was it", tags) == ("so that was it", True)
    assert split_tags("so that was it", tags) == ("so that was it", False)
    assert split_tags("so [laff] it", tags) == ("so [laff] it", False)
    assert split_tags("[laugh]", tags) == ("", True)


def test_tags_in_the_transcript_make_a_paralinguistic_request(state):
    state.set_transcript("so [Laughter] that was it")
    req = state.request()
    assert req.transcript == "so that was it" and req.paralinguistic == "so [Laughter] that was it"
    assert req.wants_transcript and req.extra_kinds() == ["paralinguistic"]
    state.set_transcript("so that was it")
    req = state.request()
    assert req.transcript == "so that was it" and req.paralinguistic is None


def test_one_shot_passes_are_in_the_request_and_need_no_words(state):
    seen = []
    state.events.connect("one_shot", lambda k, on: seen.append((k, on)))
    state.set_one_shot("denoise", True)
    state.set_one_shot("denoise", True)  # no change, no event
    state.set_one_shot("vad", True)
    assert seen == [("denoise", True), ("vad", True)]
    req = state.request()
    assert req.denoise and req.vad and not req.wants_transcript and req.summary() == "denoise + silence removal"
    with pytest.raises(ValueError):
        state.set_one_shot("paralinguistic", True)


def test_an_engine_without_one_shot_passes_switches_them_off(state):
    state.set_one_shot("denoise", True)
    state.set_capabilities(create_engine("prosody").capabilities())
    assert not state.denoise and not state.request().denoise
    # prosody has no tags: brackets stay words
    state.set_transcript("so [Laughter] it")
    assert state.request().paralinguistic is None


def test_apply_request_restores_one_shot_passes_and_the_tagged_text(state):
    req = EditRequest(emotions={"happy": 0.5}, transcript="so that was it", paralinguistic="so [Sigh] that was it",
                      vad=True)
    state.apply_request(req, "project controls")
    assert state.vad and not state.denoise and state.transcript == "so [Sigh] that was it"
    assert state.request().paralinguistic == "so [Sigh] that was it"
    state.set_capabilities(create_engine("prosody").capabilities())
    with pytest.raises(RequestError, match="cannot do vad"):
        state.apply_request(EditRequest(vad=True))
