"""Speech data sources: the small real English sets and the synthetic voices' engines.

The real sets' readers run here on tiny stand-ins of each package's files (a zip laid out as
Warzone 2100's `base.wz`, raw mu-law like saytime's, KDE sound themes, Tux Paint stamps), all
written by the tests; the engines' voice mixes and voice check need espeak-ng only.
"""

import dataclasses
import functools
import io
import json
import os
import pathlib
import shutil
import sys
import zipfile

import numpy as np
import pytest
import soundfile

from model_zoo.data import real_speech
from model_zoo.data import speech_corpus
from model_zoo.data.real_speech import (
    REAL_SPEECH_SETS,
    klettres,
    ktuberling,
    real_speech_folder,
    real_speech_set,
    saytime,
    tuxpaint,
    warzone_lines,
    warzone_tutorial,
)
from model_zoo.data.speech_corpus import (
    ENGINES,
    VoiceSpec,
    check_voices,
    default_voice_mix,
    draw_voices,
    parse_voice_mix,
    synthesize_corpus,
)
from model_zoo.errors import InputError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


def ogg_bytes(seconds, rate=11025, freq=300.0):
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * freq * t)).astype("float32"), rate,
                    format="OGG", subtype="VORBIS")
    return buffer.getvalue()


def write_ogg(path, seconds=0.5, rate=22050):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ogg_bytes(seconds, rate))


@pytest.fixture
def warzone_archive(tmp_path):
    """A `base.wz` with four voice lines (one duplicated in two folders), an effect, a tutorial."""
    path = tmp_path / "base.wz"
    config = """audio_module {
    audio "beep1.ogg" oneshot 30 1800 /*Close Window*/
    audio "pcv331.ogg" oneshot 100 1800  /*Turret Selected*/
    audio "pcv398.ogg" oneshot 100 1800  /*LZ 2*/
    audio "v-locon1.ogg" oneshot 100 1800 /*Locked-on*/
    audio "pcv480.ogg" oneshot 100 1800 /*Player Entering Warzone*/
    audio "missing.ogg" oneshot 100 1800 /*Not In The Archive*/
}"""
    tutorial = """
    { "audio": "tut1.ogg", "message": _("Build a \\"factory\\" now") },
    { "audio": "tut2.ogg", "message": _("Far too long a message for half a second of audio") },
    """
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("audio/audio.cfg", config)
        z.writestr("audio/sfx/beep1.ogg", ogg_bytes(0.3))
        z.writestr("audio/memressp/pcv331.ogg", ogg_bytes(0.8))
        z.writestr("audio/memressp/pcv398.ogg", ogg_bytes(0.6))
        z.writestr("audio/vtoltalk/v-locon1.ogg", ogg_bytes(0.5))
        z.writestr("audio/memressp/console/pcv480.ogg", ogg_bytes(0.9))
        z.writestr("audio/memressp/missmesg/pcv480.ogg", ogg_bytes(0.9))
        z.writestr("script/tutorial.js", tutorial)
        z.writestr("audio/tutorial/tut1.ogg", ogg_bytes(2.0))
        z.writestr("audio/tutorial/tut2.ogg", ogg_bytes(0.5))
    return str(path)


def test_warzone_voice_lines_leave_out_effects_and_duplicates(warzone_archive):
    lines = list(warzone_lines(warzone_archive))
    assert [(clip, text, speaker) for clip, _, _, text, speaker in lines] == [
        ("pcv331", "Turret Selected", "memressp"), ("pcv398", "LZ 2", "memressp"),
        ("v-locon1", "Locked-on", "vtoltalk"), ("pcv480", "Player Entering Warzone", "memressp")]
    _, samples, rate, _, _ = lines[0]
    assert rate == 11025 and samples.dtype == np.float32
    assert abs(len(samples) / rate - 0.8) < 0.01


def test_warzone_tutorial_drops_messages_longer_than_their_audio(warzone_archive):
    clips = list(warzone_tutorial(warzone_archive))
    assert [(clip, text) for clip, _, _, text, _ in clips] == [("tut1", 'Build a "factory" now')]
    assert len(list(warzone_tutorial(warzone_archive, max_chars_per_second=200))) == 2


def test_saytime_reads_headerless_mu_law_and_names_its_words(tmp_path):
    folder = tmp_path / "saytime"
    folder.mkdir()
    t = np.arange(4000) / 8000
    wave = 0.5 * np.sin(2 * np.pi * 400 * t)
    for name in ("5", "oclock", "the_time_is"):
        soundfile.write(str(folder / f"{name}.au"), wave, 8000, format="RAW", subtype="ULAW")
    clips = list(saytime(str(folder)))
    assert [(clip, text) for clip, _, _, text, _ in clips] == [
        ("5", "5"), ("oclock", "o'clock"), ("the_time_is", "the time is")]
    _, samples, rate, _, _ = clips[0]
    assert rate == 8000 and len(samples) == 4000
    assert np.max(np.abs(samples - wave)) < 0.02  # mu-law's quantisation, not garbage


def test_kde_themes_and_tuxpaint_stamps(tmp_path):
    theme = tmp_path / "sounds" / "en.soundtheme"
    write_ogg(tmp_path / "sounds" / "en" / "ball.ogg")
    theme.write_text('<language code="en"><sound name="ball" file="en/ball.ogg" /></language>')
    assert [(c, t) for c, _, _, t, _ in ktuberling(str(theme))] == [("ball", "ball")]

    root = tmp_path / "klettres"
    for accent in ("en", "en_GB"):
        write_ogg(root / accent / "alpha" / "A.ogg")
        write_ogg(root / accent / "syllab" / "car.ogg")
        (root / accent / "sounds.xml").write_text(
            f'<klettres><language code="{accent}"><alphabet>'
            f'<sound name="A" file="{accent}/alpha/A.ogg" /></alphabet><syllables>'
            f'<sound name="CAR" file="{accent}/syllab/car.ogg" /></syllables></language>'
            f'</klettres>')
    assert [(c, t, s) for c, _, _, t, s in klettres(str(root))] == [
        ("en/alpha/A", "A", "en"), ("en/syllab/car", "CAR", "en"),
        ("en_GB/alpha/A", "A", "en_GB"), ("en_GB/syllab/car", "CAR", "en_GB")]

    stamps = tmp_path / "stamps"
    write_ogg(stamps / "animals" / "frog_desc.ogg")
    write_ogg(stamps / "animals" / "frog_desc_fr.ogg")  # another language: not read
    (stamps / "animals" / "frog.txt").write_text("A frog.\nfr.utf8=Une grenouille.\n")
    write_ogg(stamps / "animals" / "lonely_desc.ogg")  # no text beside it: left out
    assert [(c, t) for c, _, _, t, _ in tuxpaint(str(stamps))] == [("animals/frog", "A frog.")]


def test_real_speech_set_unpacks_once_into_a_folder_evaluate_can_read(warzone_archive,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_DATA", str(tmp_path / "data"))
    calls = []

    def reader():
        calls.append(1)
        yield from warzone_lines(warzone_archive)

    fake = dataclasses.replace(REAL_SPEECH_SETS["warzone_lines"], reader=reader)
    monkeypatch.setitem(REAL_SPEECH_SETS, "warzone_lines", fake)
    items = real_speech_set("warzone_lines")
    assert [(u.id, u.text, u.speaker) for u in items] == [
        ("pcv331.wav", "turret selected", "memressp"), ("pcv398.wav", "lz two", "memressp"),
        ("v-locon1.wav", "locked on", "vtoltalk"),
        ("pcv480.wav", "player entering warzone", "memressp")]
    samples, rate = soundfile.read(items[0].path)
    assert rate == 11025 and abs(len(samples) / rate - 0.8) < 0.01
    folder = real_speech_folder("warzone_lines")
    assert real_speech_set("warzone_lines")[0].path == items[0].path and len(calls) == 1
    assert (tmp_path / "data") in pathlib.Path(folder).parents


def test_real_speech_errors_name_the_set_or_package(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_DATA", str(tmp_path / "data"))
    with pytest.raises(InputError, match=r"Unknown real speech set 'nope'.*Received"):
        real_speech_set("nope")
    with pytest.raises(InputError, match="apt-get install saytime"):
        list(saytime(str(tmp_path / "absent")))
    empty = dataclasses.replace(REAL_SPEECH_SETS["saytime"], reader=lambda: iter(()))
    monkeypatch.setitem(REAL_SPEECH_SETS, "saytime", empty)
    with pytest.raises(InputError, match="holds no clips"):
        real_speech_folder("saytime")
    # Nothing half-written is left for the next call to mistake for the set.
    assert not list((tmp_path / "data").rglob("clips.csv"))


# ## Synthetic voices: engines and mixes


def test_voice_mix_parsing_and_errors(monkeypatch):
    monkeypatch.setattr(speech_corpus, "available_engines", lambda: {"espeak", "flite"})
    assert default_voice_mix() == {"espeak": 0.4, "flite": 0.35}
    assert parse_voice_mix("") == default_voice_mix()
    assert parse_voice_mix("espeak:0.25, flite") == {"espeak": 0.25, "flite": 1.0}
    assert parse_voice_mix({"flite": 2}) == {"flite": 2.0}
    with pytest.raises(InputError, match=r"engine:weight.*Received: 'espeak:lots'"):
        parse_voice_mix("espeak:lots")
    with pytest.raises(InputError, match="names engines of"):
        parse_voice_mix("festivall:1")
    with pytest.raises(InputError, match="names engines of"):
        parse_voice_mix("espeak:0")
    with pytest.raises(InputError, match="names engines of"):
        parse_voice_mix("espeak:nan,flite:1")
    with pytest.raises(InputError, match=r"not installed: piper \(.*setup_speech_extras"):
        parse_voice_mix("espeak:1,piper:1")


def test_default_mix_draws_the_voices_it_always_drew(monkeypatch):
    """The default mix draws as before engines could be added: old corpora keep their voices."""
    monkeypatch.setattr(speech_corpus, "available_engines",
                        lambda: {"espeak", "flite", "festival", "piper", "rhvoice"})
    voices = draw_voices(200, np.random.default_rng([3, 1]), held_out=False)
    assert {v.engine for v in voices} == {"espeak", "flite", "festival"}
    held_out = draw_voices(30, np.random.default_rng(0), held_out=True)
    assert {v.group for v in held_out} <= set(speech_corpus.HELD_OUT_VOICES)
    # Engines without held-out voices are never asked for held-out ones.
    assert draw_voices(5, np.random.default_rng(0), True, weights={"piper": 1.0}) == []
    mixed = draw_voices(300, np.random.default_rng(1), False,
                        weights={"espeak": 1.0, "piper": 1.0, "rhvoice": 1.0})
    piper = [v for v in mixed if v.engine == "piper"]
    assert piper and all(v.pitch == 1.0 and 0.4 <= v.noise <= 0.9 for v in piper)
    assert {v.voice for v in mixed if v.engine == "rhvoice"} <= set(ENGINES["rhvoice"].voices)


@needs_espeak
def test_voices_that_cannot_speak_are_named_before_anything_is_synthesised(monkeypatch):
    check_voices([VoiceSpec("espeak", "en-us"), VoiceSpec("espeak", "en-gb", "m3")])
    with pytest.raises(InputError, match=r"cannot speak.*espeak:xx-nowhere"):
        check_voices([VoiceSpec("espeak", "en-us"), VoiceSpec("espeak", "xx-nowhere")])


@needs_espeak
def test_a_voice_mix_changes_the_corpus_and_its_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(speech_corpus, "available_engines", lambda: {"espeak", "mbrola"})
    build = functools.partial(synthesize_corpus, 4, 2, 0.25, seed=2, progress=False)
    default = build()
    assert {v.engine for v in default.voices} == {"espeak"}
    if shutil.which("mbrola") is None:
        with pytest.raises(InputError, match="cannot speak"):
            build(voices="mbrola:1")
        return
    mixed = build(voices="mbrola:1")
    assert mixed.folder != default.folder
    train = [v for v, s in zip(mixed.voices, mixed.splits) if s != "test"]
    assert {v.engine for v in train} == {"mbrola"}
    # The test split is spoken by the held-out voices whatever the mix.
    assert {v.group for v, s in zip(mixed.voices, mixed.splits) if s == "test"} == \
        {"espeak:en-029"}


@pytest.mark.skipif(not ENGINES["piper"].available(), reason="piper-tts is not installed "
                    "(bash scripts/setup_speech_extras.sh)")
def test_piper_speaks_at_the_rate_asked(tmp_path):
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    speech_corpus._synthesize_one("press seven", VoiceSpec("piper", "joe", rate=0.8,
                                                           noise=0.5, noise_w=0.6), str(slow))
    speech_corpus._synthesize_one("press seven", VoiceSpec("piper", "joe", rate=1.25,
                                                           noise=0.5, noise_w=0.6), str(fast))
    (a, rate), (b, _) = soundfile.read(str(slow)), soundfile.read(str(fast))
    assert rate == 22050 and len(a) > 1.3 * len(b) > 0.3 * rate


# ## The recipe: real sets in training and in its tests


def fake_set(name, texts, seconds=1.0):
    def reader():
        t = np.arange(int(seconds * 16000)) / 16000
        for i, text in enumerate(texts):
            yield f"{name}{i}", (0.2 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(
                "float32"), 16000, text, name
    return real_speech.RealSpeechSet(name, "none", "test data", "tones", reader)


@needs_espeak
def test_speech_recipe_trains_on_some_real_sets_and_tests_on_the_others(tmp_path, monkeypatch):
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import train

    monkeypatch.setenv("MODEL_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(speech_corpus, "available_engines", lambda: {"espeak"})
    for name, texts in (("fake_a", ["one", "two", "three"]), ("fake_b", ["go", "stop"])):
        monkeypatch.setitem(REAL_SPEECH_SETS, name, fake_set(name, texts))
    recipe = get_recipe("speech_recognition")
    # Only the fakes besides the real sets' names: "all" means every set not trained on.
    monkeypatch.setattr(real_speech, "REAL_SPEECH_SETS",
                        {k: v for k, v in REAL_SPEECH_SETS.items() if k.startswith("fake")})
    module = sys.modules[type(recipe).__module__]
    monkeypatch.setattr(module, "REAL_SPEECH_SETS", real_speech.REAL_SPEECH_SETS)
    settings = {**recipe.smoke, "real_train": "fake_a", "real_repeat": 2, "real_test": "all",
                "lm_order": 0}
    data = module.SpeechData(recipe.resolve(settings)[0])
    assert data.real_train == ["fake_a"] and data.real_test == ["fake_b"]
    synthetic_train = data.corpus.splits.count("train")
    train_set, _ = data.datasets(batch_size=1, augment=False)
    assert sum(1 for _ in train_set) == synthetic_train + 2 * 3
    result = train("speech_recognition", settings, run_dir=str(tmp_path / "run"), verbose=0)
    assert {"real_fake_b_cer", "real_fake_b_wer"} <= set(result.metrics["test"])
    assert not any(k.startswith("real_fake_a") for k in result.metrics["test"])
    with open(os.path.join(result.checkpoint_dir, "metadata.json")) as f:
        info = json.load(f)["dataset"]
    assert info["real_sets"]["train"]["fake_a"]["clips"] == 3
    assert info["real_sets"]["train_repeat"] == 2 and list(info["real_sets"]["test"]) == ["fake_b"]
    assert set(info["voices"]) == {"espeak"} and info["voices"]["espeak"]["clips_by_voice"]
    for bad, message in (({"real_train": "fake_a", "real_test": "fake_a"}, "both trained"),
                         ({"real_train": "nope"}, r"Unknown real speech set\(s\) \['nope'\]"),
                         ({"voices": "espeak:1,piper:x"}, "engine:weight")):
        with pytest.raises(InputError, match=message):
            module.SpeechData(recipe.resolve({**settings, **bad})[0])
