"""The real client, worker process and protocol against the stand-in source tree, through the
engine and the edit session (what the window and the command line use)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from standin import TRANSCRIPTS, calls, last, set_flag, standin_settings

from stepedit_app.audio.analysis import cue_deltas, measure_cues
from stepedit_app.audio.clip import Clip, Region
from stepedit_app.audio.io import read_clip
from stepedit_app.engines.controls import EditRequest
from stepedit_app.engines.step_audio.client import WorkerClient
from stepedit_app.engines.step_audio.engine import StepAudioEngine, plan_passes
from stepedit_app.errors import RequestError
from stepedit_app.session.session import EditSession


def session_for(path, client, **kw) -> EditSession:
    return EditSession(read_clip(path), StepAudioEngine(client.settings, client), **kw)


def request(path, **kw) -> EditRequest:
    kw.setdefault("transcript", TRANSCRIPTS[path.name])
    return EditRequest(**kw)


def test_hello_reports_versions_device_generation_and_commit(v1_client, models):
    gen = v1_client.ensure_ready()
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            loaded = stop.value
            break
    h = v1_client.hello
    assert h["protocol"] == 1 and h["pid"] == v1_client.pid
    assert h["python"].count(".") == 2 and h["packages"]["torch"] and h["packages"]["numpy"]
    assert h["cuda"] is False and h["device"] == "cpu"  # no GPU here; the stand-in runs on the CPU
    assert h["generation"] == "v1" and h["source_commit"].startswith("aacb90a")
    assert loaded["generation"] == "v1"
    init = last(models, "STANDIN_LAST_INIT.json")
    assert init["model_path"].endswith("models/Step-Audio-EditX")
    assert init["tokenizer"].endswith("models/Step-Audio-Tokenizer")
    assert init["model_source"] == "local" and init["device_map"] == "cuda"


def test_an_emotion_pass_at_full_intensity_is_the_pass(v1_client, models, female16_clip_path):
    s = session_for(female16_clip_path, v1_client)
    (take,) = s.run(request(female16_clip_path, emotions={"happy": 1.0}))
    d = take.deltas
    # the stand-in's happy pass: +3 semitones, 12 % faster
    assert 2.4 < d["f0_st"] < 3.6 and d["duration_pct"] < -7
    assert take.segment.rate == 16000 and take.segment.channels == 1
    (call,) = calls(models)
    assert call == {"op": "edit", "audio_text": "Lord, but I'm glad to see you again, Phil.", "edit_type": "emotion", "edit_info": "happy",
                    "target_text": None, "rate": 16000, "seconds": pytest.approx(2.8, abs=0.1)}
    assert take.flags["engine"]["generation"] == "v1" and take.flags["engine"]["passes"] == 1
    assert "band_limit_hz" not in take.flags  # a 16 kHz clip loses nothing to the 24 kHz model


def test_intensity_is_continuous_and_monotone_and_reuses_the_seeded_pass(v1_client, models, male_clip_path):
    s = session_for(male_clip_path, v1_client)
    f0, dur = [], []
    for w in (0.25, 0.5, 0.75, 1.0):
        (take,) = s.run(request(male_clip_path, emotions={"sad": w}, seed=7))
        f0.append(take.deltas["f0_st"])
        dur.append(take.deltas["duration_pct"])
        assert take.flags["alignment"]["sad"]["ok"] if w < 1 else True
    # the stand-in's sad pass: -2 semitones, 12 % slower; each step further along
    assert all(b < a for a, b in zip(f0, f0[1:])), f0
    assert all(b > a for a, b in zip(dur, dur[1:])), dur
    assert -2.6 < f0[-1] < -1.4 and 0.1 * abs(f0[-1]) < abs(f0[0]) < 0.45 * abs(f0[-1])
    # one model call served all four renders: only the morph ran again
    assert len(calls(models)) == 1


def test_without_a_seed_every_render_asks_the_model(v1_client, models, female16_clip_path):
    s = session_for(female16_clip_path, v1_client)
    s.run(request(female16_clip_path, emotions={"sad": 0.5}))
    s.run(request(female16_clip_path, emotions={"sad": 0.6}))
    assert len(calls(models)) == 2


def test_iterations_chain_on_the_previous_output(v1_client, models, female16_clip_path):
    s = session_for(female16_clip_path, v1_client)
    takes = s.run(request(female16_clip_path, speed={"faster": 1.0}, iterations=3))
    assert [t.iteration for t in takes] == [1, 2, 3]
    durs = [t.segment.duration for t in takes]
    assert durs[0] > durs[1] > durs[2]  # each pass makes the previous output faster again
    secs = [c["seconds"] for c in calls(models)]
    assert len(secs) == 3 and secs[1] == pytest.approx(durs[0], abs=0.01) and secs[2] == pytest.approx(durs[1], abs=0.01)


def test_several_sliders_run_one_pass_each_in_the_documented_order(v1_client, models, female16_clip_path):
    req = request(female16_clip_path, emotions={"sad": 0.4, "happy": 0.8}, styles={"serious": 1.0},
                  speed={"slower": 1.0}, denoise=True, vad=True)
    order = [(p.edit_type, p.edit_info) for p in plan_passes(req, 1)]
    assert order == [("denoise", None), ("vad", None), ("emotion", "happy"), ("emotion", "sad"),
                     ("style", "serious"), ("speed", "slower")]
    s = session_for(female16_clip_path, v1_client)
    (take,) = s.run(req)
    assert [(c["edit_type"], c["edit_info"]) for c in calls(models)] == order
    assert take.flags["engine"]["passes"] == 6
    assert set(take.flags["alignment"]) == {"happy", "sad"}  # the two partial passes were morphed


def test_all_zero_returns_the_input_without_starting_anything(v1_client, models, female16_clip_path):
    s = session_for(female16_clip_path, v1_client)
    (take,) = s.run(request(female16_clip_path, emotions={"happy": 0.0}))
    assert np.array_equal(take.segment.samples, s.clip.samples)
    assert calls(models) == []


def test_a_pass_that_drops_content_is_kept_whole_and_flagged(v1_client, models, female_clip_path):
    set_flag(models, "STANDIN_DROP")
    s = session_for(female_clip_path, v1_client)
    (take,) = s.run(request(female_clip_path, emotions={"angry": 0.5}))
    assert take.flags["full_pass"] == ["angry"]
    al = take.flags["alignment"]["angry"]
    assert al["ok"] is False and al["reason"].startswith("content dropped or added")
    assert take.deltas["duration_pct"] < -30  # the clause really is gone: the take is the full pass


def test_48k_clip_comes_back_at_48k_with_the_lost_band_flagged(v1_client, models, female_clip_path, tmp_path):
    x, rate = sf.read(female_clip_path)
    from stepedit_app.engines.step_audio.inputs import resample

    p = tmp_path / "wide.wav"
    sf.write(p, resample(x, rate, 48000), 48000, subtype="FLOAT")
    s = EditSession(read_clip(p), StepAudioEngine(v1_client.settings, v1_client))
    (take,) = s.run(EditRequest(styles={"older": 1.0}, transcript=TRANSCRIPTS[female_clip_path.name]))
    assert take.segment.rate == 48000 and take.flags["band_limit_hz"] == 12000.0
    y = take.segment.samples[:, 0].astype(np.float64)
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / 48000)
    assert spec[f > 12500].sum() < 1e-4 * spec[f < 12000].sum()  # nothing above 12 kHz, as flagged
    assert calls(models)[-1]["rate"] == 48000  # sent as it is (the model resamples itself)


def test_8k_clip_is_upsampled_for_the_model_and_returned_at_8k(v1_client, models, male_clip_path, tmp_path):
    x, rate = sf.read(male_clip_path)
    from stepedit_app.engines.step_audio.inputs import resample

    p = tmp_path / "phone.wav"
    sf.write(p, resample(x, rate, 8000), 8000)
    s = EditSession(read_clip(p), StepAudioEngine(v1_client.settings, v1_client))
    (take,) = s.run(EditRequest(emotions={"surprised": 1.0}, transcript=TRANSCRIPTS[male_clip_path.name]))
    assert take.segment.rate == 8000 and "band_limit_hz" not in take.flags
    assert calls(models)[-1]["rate"] == 16000  # the stand-in, like the real tokenizer, asserts >= 16 kHz
    assert take.deltas["f0_st"] > 3.0


def test_stereo_region_comes_back_as_the_model_mono_on_both_channels(v1_client, models, female16_clip_path):
    clip = read_clip(female16_clip_path)
    stereo = Clip(np.column_stack([clip.samples[:, 0], 0.5 * clip.samples[:, 0]]), clip.rate)
    s = EditSession(stereo, StepAudioEngine(v1_client.settings, v1_client))
    (take,) = s.run(request(female16_clip_path, emotions={"fear": 1.0}))
    assert take.segment.channels == 2 and take.flags["mono"] is True
    assert np.array_equal(take.segment.samples[:, 0], take.segment.samples[:, 1])


def test_loud_input_keeps_its_level_scale(v1_client, models, female16_clip_path, tmp_path):
    """Upstream scales inputs louder than peak 0.6 down to 0.6; the engine scales the output
    back, so the same edit of a quiet and a loud copy differs by the copies' level difference."""
    x, rate = sf.read(female16_clip_path)
    level, limited = {}, {}
    for name, peak in (("quiet", 0.3), ("loud", 0.9)):
        p = tmp_path / f"{name}.wav"
        sf.write(p, peak * x / np.max(np.abs(x)), rate, subtype="FLOAT")
        s = EditSession(read_clip(p), StepAudioEngine(v1_client.settings, v1_client))
        (take,) = s.run(request(female16_clip_path, speed={"slower": 1.0}))
        level[name] = take.cues.loudness_lufs
        limited[name] = take.flags.get("level_limited_db", 0.0)  # the -1 dBFS ceiling, stated
    expected = 20 * np.log10(0.9 / 0.3) - limited["loud"] + limited["quiet"]
    assert level["loud"] - level["quiet"] == pytest.approx(expected, abs=0.3)


def test_region_edit_splices_and_leaves_the_rest_untouched(v1_client, models, female_clip_path):
    s = session_for(female_clip_path, v1_client)
    region = Region.from_seconds(1.0, 3.0, s.clip.rate)
    (take,) = s.run(EditRequest(emotions={"happy": 0.6}, transcript="the words of this region"), region)
    full = take.full(s.clip)
    assert np.array_equal(full.samples[: region.start], s.clip.samples[: region.start])
    tail = s.clip.frames - region.end
    assert np.array_equal(full.samples[-tail:], s.clip.samples[-tail:])
    assert calls(models)[-1]["audio_text"] == "the words of this region"


def test_denoise_and_silence_removal_need_no_transcript(v1_client, models, male_clip_path, tmp_path):
    x, rate = sf.read(male_clip_path)
    rng = np.random.default_rng(0)
    noisy = np.concatenate([np.zeros(int(0.8 * rate)), x, np.zeros(int(0.8 * rate))]) + 0.003 * rng.standard_normal(
        len(x) + int(1.6 * rate))
    p = tmp_path / "noisy.wav"
    sf.write(p, noisy, rate, subtype="FLOAT")
    s = EditSession(read_clip(p), StepAudioEngine(v1_client.settings, v1_client))
    (den,) = s.run(EditRequest(denoise=True))
    quiet = slice(0, int(0.6 * rate))
    assert np.sqrt(np.mean(den.segment.samples[quiet, 0] ** 2)) < 0.3 * np.sqrt(np.mean(noisy[quiet] ** 2))
    padded = np.concatenate([np.zeros(int(0.8 * rate)), x, np.zeros(int(0.8 * rate))])
    sf.write(p := tmp_path / "padded.wav", padded, rate, subtype="FLOAT")
    s = EditSession(read_clip(p), StepAudioEngine(v1_client.settings, v1_client))
    (vad,) = s.run(EditRequest(vad=True))
    assert vad.segment.duration < s.clip.duration - 1.0
    assert [c["edit_type"] for c in calls(models)] == ["denoise", "vad"] and calls(models)[0]["audio_text"] == ""


def test_paralinguistic_inserts_the_sound_and_the_tagged_text_becomes_the_transcript(v1_client, models,
                                                                                    female16_clip_path):
    s = session_for(female16_clip_path, v1_client)
    tagged = "Lord, but I'm glad [Laughter] to see you again, Phil."
    takes = s.run(request(female16_clip_path, paralinguistic=tagged, emotions={"happy": 1.0}, iterations=2))
    assert takes[0].segment.duration > s.clip.duration  # a sound was added
    assert takes[0].flags["transcript"] == tagged
    c = calls(models)
    assert [(x["edit_type"], x["audio_text"], x["target_text"]) for x in c] == [
        ("paralinguistic", "Lord, but I'm glad to see you again, Phil.", tagged),
        ("emotion", tagged, None),  # the tagged text is the transcript from then on
        ("emotion", tagged, None),  # iteration 2: no second paralinguistic pass
    ]


def test_a_long_region_is_split_at_pauses_with_its_transcript(v1_client, models, data_dir, tmp_path):
    parts = [sf.read(data_dir / n)[0] for n in ("cmu_arctic_us_aew_a0001.wav", "cmu_arctic_us_axb_a0004.wav")]
    x = np.concatenate(parts * 5)  # ~33 s at 16 kHz
    p = tmp_path / "long.wav"
    sf.write(p, x, 16000)
    words = " ".join([TRANSCRIPTS["cmu_arctic_us_aew_a0001.wav"], TRANSCRIPTS["cmu_arctic_us_axb_a0004.wav"]] * 5)
    s = EditSession(read_clip(p), StepAudioEngine(v1_client.settings, v1_client))
    (take,) = s.run(EditRequest(speed={"faster": 1.0}, transcript=words))
    c = calls(models)
    assert take.flags["chunks"] == len(c) >= 2
    assert all(x["seconds"] <= 30.0 for x in c)
    assert " ".join(x["audio_text"] for x in c).split() == words.split()
    assert take.deltas["duration_pct"] < -15


def test_clone_speaks_the_text_in_the_prompt_voice(v1_client, models, male_clip_path):
    eng = StepAudioEngine(v1_client.settings, v1_client)
    prompt = read_clip(male_clip_path)
    gen = eng.clone(prompt, TRANSCRIPTS[male_clip_path.name], "one two three four five six seven eight nine ten eleven twelve",
                    rate=22050)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            out = stop.value
            break
    assert out.rate == 22050 and out.channels == 1
    assert out.duration == pytest.approx(prompt.duration * 12 / 8, rel=0.05)  # the stand-in's rule (12 words / 8)
    d = cue_deltas(measure_cues(prompt), measure_cues(out))
    assert abs(d["f0_st"]) < 1.0  # the prompt's voice
    assert calls(models)[-1]["op"] == "clone"


def test_the_transcript_is_required_except_for_clean_up(v1_client, models, female16_clip_path):
    s = session_for(female16_clip_path, v1_client)
    with pytest.raises(RequestError, match="^engine 'step-audio-editx' needs the transcript of the region$"):
        s.run(EditRequest(emotions={"happy": 0.5}))
    assert len(s.takes) == 0 and calls(models) == []


def test_prosody_refuses_what_only_the_model_can_do(female16_clip_path):
    s = EditSession(read_clip(female16_clip_path), "prosody")
    with pytest.raises(RequestError, match="^engine 'prosody' cannot do denoise; see 'stepedit engines'"):
        s.run(EditRequest(denoise=True))


def test_v2_is_detected_and_loaded_with_its_own_arguments(trees, models, female16_clip_path, tmp_path):
    settings = standin_settings(trees["v2"], models, dtype="float16", quantization="fp8", gpu_share=0.6)
    client = WorkerClient(settings, log_file=tmp_path / "v2.log")
    try:
        s = EditSession(read_clip(female16_clip_path), StepAudioEngine(settings, client))
        (take,) = s.run(request(female16_clip_path, styles={"whisper": 1.0}))
        assert client.hello["generation"] == "v2" and client.hello["source_commit"] is None
        init = last(models, "STANDIN_LAST_INIT.json")
        assert init["generation"] == "v2"
        assert (init["dtype"], init["quantization"], init["gpu_memory_utilization"]) == ("float16", "fp8", 0.6)
        assert init["attention_backend"] == "TRITON_ATTN"  # set before the official code (and vLLM) import
        assert client.loaded["arguments"]["gpu_memory_utilization"] == 0.6
        assert take.deltas["voiced_fraction"] < -0.3 and take.flags["engine"]["generation"] == "v2"
    finally:
        client.close()


def test_v1_receives_its_dtype_and_quantization(trees, models, female16_clip_path, tmp_path):
    settings = standin_settings(trees["v1"], models, dtype="float16", quantization="int8")
    client = WorkerClient(settings, log_file=tmp_path / "v1.log")
    try:
        gen = client.ensure_ready()
        for _ in gen:
            pass
        init = last(models, "STANDIN_LAST_INIT.json")
        assert (init["quantization_config"], init["torch_dtype"]) == ("int8", "torch.float16")
    finally:
        client.close()


def test_upstream_prints_go_to_the_log_not_the_protocol(v1_client, models, female16_clip_path):
    session_for(female16_clip_path, v1_client).run(request(female16_clip_path, emotions={"happy": 1.0}))
    log = v1_client.log_file.read_text()
    assert "stand-in tts: importing" in log and "stand-in: raw write to descriptor 1" in log
