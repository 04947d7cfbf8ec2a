"""The request fields for the model's one-shot edits (denoise, silence removal, paralinguistic
text), the capability checks that refuse them where they cannot be done, and the take flags'
wording."""

from __future__ import annotations

import json

import pytest

from stepedit_app.engines.base import Capabilities, flag_notes
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.step_audio.engine import StepAudioEngine
from stepedit_app.errors import RequestError


def test_one_shot_kinds_are_not_identity_and_read_well():
    r = EditRequest(denoise=True, vad=True, paralinguistic="  so [Laughter]   that  ", emotions={"sad": 0.25})
    assert not r.is_identity and r.extra_kinds() == ["denoise", "vad", "paralinguistic"]
    assert r.paralinguistic == "so [Laughter] that"
    assert r.summary() == "denoise + silence removal + paralinguistic + sad 25%"
    assert r.slug() == "denoise-vad-para-sad25"
    assert EditRequest(denoise=True).summary() == "denoise"
    assert EditRequest(paralinguistic="   ").paralinguistic is None and EditRequest(paralinguistic="  ").is_identity


def test_what_needs_a_transcript():
    assert not EditRequest(denoise=True, vad=True).wants_transcript
    assert EditRequest(paralinguistic="a [Sigh] b").wants_transcript
    assert EditRequest(speed={"faster": 0.1}).wants_transcript
    assert not EditRequest().wants_transcript


def test_round_trip_and_iterations_keep_the_new_fields():
    r = EditRequest(emotions={"happy": 0.5}, denoise=True, paralinguistic="x [uhm] y", transcript="x y", seed=3)
    d = json.loads(r.to_json())
    assert d["denoise"] is True and d["paralinguistic"] == "x [uhm] y" and "vad" not in d
    assert EditRequest.from_dict(d) == r
    r4 = r.with_iterations(4)
    assert r4.iterations == 4 and r4.denoise and r4.paralinguistic == "x [uhm] y" and r4.seed == 3
    with pytest.raises(RequestError, match="^denoise: 'yes' is not true or false$"):
        EditRequest(denoise="yes")  # type: ignore[arg-type]


def test_capabilities_refuse_kinds_an_engine_lacks_and_ask_for_transcripts():
    c = Capabilities(name="e", label="e", description="", emotions=("happy",), edit_kinds=("emotion", "denoise"),
                     needs_transcript=True)
    c.check_request(EditRequest(denoise=True))  # no transcript needed for clean-up
    with pytest.raises(RequestError, match="^engine 'e' cannot do vad; see 'stepedit engines'"):
        c.check_request(EditRequest(vad=True))
    with pytest.raises(RequestError, match="^engine 'e' needs the transcript of the region$"):
        c.check_request(EditRequest(emotions={"happy": 0.2}, denoise=True))


def test_the_gpu_engine_capabilities():
    caps = StepAudioEngine.__new__(StepAudioEngine).capabilities()
    assert caps.name == "step-audio-editx" and caps.needs_transcript and caps.continuous
    assert {"denoise", "vad", "paralinguistic", "clone"} <= set(caps.edit_kinds)
    assert caps.output_rate == 24000 and caps.max_region_s == 300.0 and "[Breathing]" in caps.tags
    assert caps.to_dict()["tags"] == list(caps.tags)


def test_flag_notes_word_every_flag():
    notes = flag_notes({"full_pass": ["angry", "shout"], "band_limit_hz": 12000.0, "mono": True, "chunks": 2,
                        "level_limited_db": 0.9, "transcript": "a [Sigh] b", "engine": {"passes": 3}})
    assert notes == [
        "kept whole (content dropped or added, so no in-between): angry, shout",
        "nothing above 12 kHz (the engine's output band)",
        "the engine's output is mono, copied to every channel",
        "split at pauses into 2 pieces for the engine",
        "peaks limited by 0.9 dB",
        "transcript now: a [Sigh] b",
    ]
    assert flag_notes({}) == []
