"""Speech recognition: audio I/O and features, transcripts, corpora, the CTC model, the task.

The few clips these tests need are written here: tones and noise with NumPy/soundfile, and a
handful of words spoken by espeak-ng (skipped where espeak-ng is not installed).
"""

import shutil

import keras
import numpy as np
import pytest
import soundfile

from model_zoo.data.audio import (
    Augmentation,
    AudioError,
    AudioFeatures,
    frequency_warp,
    load_waveform,
    read_audio,
    resample,
    spec_augment,
    speech_dataset,
    telephone_channel,
)
from model_zoo.data.speech_corpus import folder_corpus, synthesize_corpus
from model_zoo.data.speech_text import ENGLISH_ALPHABET, CharAlphabet, normalize_transcript
from model_zoo.errors import InputError
from model_zoo.metrics.speech import error_rates
from model_zoo.models.speech import (
    CharNgramLM,
    build_ctc_recognizer,
    ctc_beam_search_decode,
    ctc_greedy_decode,
    output_frames,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                  reason="espeak-ng is not installed (apt-get install espeak-ng)")


def tone(seconds=1.0, rate=8000, freq=440.0, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype("float32")


def voiced(seconds=0.8, rate=8000, f0=150.0):
    """A broadband, speech-like clip: a harmonic-rich buzz plus a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    buzz = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, int(3800 / f0)))
    noise = np.random.default_rng(0).normal(0, 0.02, t.size)
    return (0.2 * buzz + noise).astype("float32")


def peak_frequency(wave, rate):
    spectrum = np.abs(np.fft.rfft(wave))
    return np.argmax(spectrum) * rate / len(wave)


# ## Transcripts


def test_normalize_transcript_spells_numbers_and_keys():
    assert normalize_transcript("Press 1, then # (the pound key).") == \
        "press one then pound the pound key"
    assert normalize_transcript("You're caller 12!") == "you're caller twelve"
    assert normalize_transcript("'Quoted' words...") == "quoted words"
    assert normalize_transcript("Call-Forward on Busy") == "call forward on busy"
    assert normalize_transcript("Dit is één café, 737 keer.", "nl") == \
        "dit is één café zevenhonderdzevenendertig keer"
    with pytest.raises(InputError, match="Received: int"):
        normalize_transcript(5)


def test_alphabet_round_trip_and_errors():
    alphabet = CharAlphabet(ENGLISH_ALPHABET)
    ids = alphabet.encode("it's ok")
    assert 0 not in ids and alphabet.decode(ids) == "it's ok"
    assert alphabet.decode([0] + ids + [-1]) == "it's ok"
    with pytest.raises(InputError, match=r"outside the model's alphabet \['é'\]"):
        alphabet.encode("café")
    extended = CharAlphabet.from_texts(["café", "één"])
    assert extended.characters == ENGLISH_ALPHABET + "é"
    with pytest.raises(InputError, match="includes the space"):
        CharAlphabet("abc")


def test_error_rates_use_jiwer():
    result = error_rates(["hello world", "abc"], ["hello word", ""])
    assert result["wer"] == pytest.approx(2 / 3)
    assert result["cer"] == pytest.approx(4 / 14)
    with pytest.raises(InputError, match="as many hypotheses"):
        error_rates(["a"], [])
    with pytest.raises(InputError, match="empty"):
        error_rates([" "], ["a"])


# ## Audio: reading, converting, checking


@pytest.mark.parametrize("fmt, subtype, rate, channels", [
    ("WAV", "PCM_16", 16000, 2),    # tf.audio.decode_wav, stereo
    ("WAV", "FLOAT", 22050, 1),     # not 16-bit PCM: soundfile
    ("FLAC", "PCM_16", 44100, 3),   # three channels
    ("OGG", "VORBIS", 48000, 1),
])
def test_any_file_any_rate_any_channels_becomes_mono_8k(tmp_path, fmt, subtype, rate, channels):
    wave = tone(0.5, rate, 440.0)
    data = np.stack([wave] * channels, axis=1)
    path = tmp_path / f"clip.{fmt.lower()}"
    soundfile.write(str(path), data, rate, format=fmt, subtype=subtype)
    mono, what = load_waveform(str(path), target_rate=8000)
    assert mono.ndim == 1 and mono.dtype == np.float32
    assert abs(mono.size - 4000) <= 1
    assert peak_frequency(mono, 8000) == pytest.approx(440, abs=4)
    assert np.max(np.abs(mono)) == pytest.approx(0.3, abs=0.03)
    assert str(path) in what


def test_resample_keeps_frequencies_and_removes_those_above_nyquist():
    rate = 16000
    mixed = tone(1.0, rate, 300.0) + tone(1.0, rate, 6000.0)  # 6 kHz cannot exist at 8 kHz
    down = np.asarray(resample(mixed, rate, 8000))
    assert down.size == 8000
    spectrum = np.abs(np.fft.rfft(down))
    assert peak_frequency(down, 8000) == pytest.approx(300, abs=2)
    assert spectrum[2000:].max() < 1e-3 * spectrum.max()
    up = np.asarray(resample(tone(1.0, 8000, 300.0), 8000, 44100))
    assert up.size == 44100 and peak_frequency(up, 44100) == pytest.approx(300, abs=2)


def test_integer_waveforms_and_channel_first_arrays():
    pcm = (tone(0.5, 8000) * 32767).astype("int16")
    wave, _ = load_waveform(pcm, sample_rate=8000)
    assert np.max(np.abs(wave)) == pytest.approx(0.3, abs=0.01)
    stereo = np.stack([tone(0.5, 8000)] * 2)  # (channels, samples)
    wave, _ = load_waveform(stereo, sample_rate=8000)
    assert wave.shape == (4000,)


def test_broken_empty_and_silent_audio_get_clear_errors(tmp_path):
    features = AudioFeatures()
    with pytest.raises(AudioError, match="No audio file at .*Received"):
        read_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty \(0 bytes\)"):
        read_audio(empty)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 4)
    with pytest.raises(AudioError, match="Cannot decode .*Expected WAV, OGG/Vorbis or FLAC"):
        read_audio(broken)
    with pytest.raises(AudioError, match="needs its sample rate"):
        load_waveform(tone(), sample_rate=None)
    with pytest.raises(AudioError, match="is empty"):
        load_waveform(np.zeros(0, "float32"), sample_rate=8000)
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_waveform(np.full(800, np.nan, "float32"), sample_rate=8000)
    with pytest.raises(AudioError, match="is silent.*Received: peak amplitude 0"):
        features.check(np.zeros(8000, "float32"))
    with pytest.raises(AudioError, match="too short"):
        features.check(tone(0.05))
    with pytest.raises(AudioError, match="too long"):
        features.check(np.ones(int(features.max_seconds * 8000) + 8, "float32"))
    assert features.check(tone()) is not None


def test_log_mel_features_are_normalised_per_utterance():
    features = AudioFeatures()
    frames = features(tone(1.0) + 0.01 * np.random.default_rng(0).normal(size=8000))
    assert frames.shape == (features.num_frames(8000), 40) == (98, 40)
    np.testing.assert_allclose(frames.mean(axis=0), 0, atol=1e-4)
    # A louder copy of the same clip gives the same features: level is normalised away.
    noise = np.random.default_rng(1).normal(size=8000).astype("float32")
    quiet = features(0.02 * noise)
    loud = features(0.5 * noise)
    np.testing.assert_allclose(quiet, loud, atol=1e-3)
    assert AudioFeatures.from_dict(features.to_dict()) == features


def test_spec_augment_masks_bands_and_frames_deterministically():
    import tensorflow as tf

    ones = tf.ones((200, 40))
    masked = spec_augment(ones, tf.constant([3, 4], tf.int64), freq_masks=2, freq_width=8,
                          time_masks=2, time_fraction=0.1)
    again = spec_augment(ones, tf.constant([3, 4], tf.int64), freq_masks=2, freq_width=8,
                         time_masks=2, time_fraction=0.1)
    np.testing.assert_array_equal(masked.numpy(), again.numpy())
    zero_cols = int(np.sum(np.all(masked.numpy() == 0, axis=0)))
    zero_rows = int(np.sum(np.all(masked.numpy() == 0, axis=1)))
    assert 0 < zero_cols <= 16 and 0 < zero_rows <= 40


def test_frequency_warp_moves_a_tone_up_or_down_the_mel_bands():
    import tensorflow as tf

    features = AudioFeatures()
    log_mel = features.log_mel(tf.constant(tone(freq=1000.0)))
    peak = int(np.argmax(log_mel.numpy().mean(axis=0)))
    np.testing.assert_allclose(frequency_warp(log_mel, 1.0, features).numpy(), log_mel.numpy(),
                               rtol=1e-5, atol=1e-4)
    up = int(np.argmax(frequency_warp(log_mel, 1.2, features).numpy().mean(axis=0)))
    down = int(np.argmax(frequency_warp(log_mel, 0.8, features).numpy().mean(axis=0)))
    assert down < peak < up, (down, peak, up)
    # Where the band lies 20% higher in Hz: the warped peak sits at the band nearest 1200 Hz.
    centres = 700 * np.expm1(np.linspace(1127 * np.log1p(60 / 700), 1127 * np.log1p(3800 / 700),
                                         42)[1:-1] / 1127)
    assert abs(up - int(np.argmin(abs(centres - 1200)))) <= 1
    assert frequency_warp(log_mel, 1.1, features).shape == log_mel.shape


def test_telephone_channel_band_limits_and_mu_law_codes():
    import tensorflow as tf

    rate = 8000
    low, high = tone(freq=100.0, rate=rate), tone(freq=1000.0, rate=rate)
    out = telephone_channel(tf.constant(low + high), 300.0, 3400.0, rate).numpy()

    def power_at(wave, freq):
        spectrum = np.abs(np.fft.rfft(wave)) ** 2
        return spectrum[int(round(freq * len(wave) / rate))]

    # The 100 Hz tone is gone (> 40 dB down), the 1 kHz tone passes within 0.5 dB.
    assert power_at(out, 100.0) < 1e-4 * power_at(low, 100.0)
    assert abs(10 * np.log10(power_at(out, 1000.0) / power_at(high, 1000.0))) < 0.5
    # 8-bit mu-law: at most 256 distinct levels, and its quantisation noise is 30-45 dB down.
    assert len(np.unique(np.round(out, 6))) <= 256
    coded = telephone_channel(tf.constant(high), 0.0, 4000.0, rate).numpy()
    snr = 10 * np.log10(np.mean(high ** 2) / np.mean((coded - high) ** 2))
    assert 30 < snr < 45, snr


def test_telephone_augmentation_leaves_the_other_draws_alone():
    import tensorflow as tf

    wave, seed = tf.constant(voiced(0.8)), tf.constant([3, 4], tf.int64)
    plain = Augmentation().waveform(wave, seed, 8000).numpy()
    never = Augmentation(telephone=0.0).waveform(wave, seed, 8000).numpy()
    always = Augmentation(telephone=1.0).waveform(wave, seed, 8000).numpy()
    np.testing.assert_array_equal(plain, never)
    assert always.shape == plain.shape and not np.allclose(always, plain, atol=1e-3)
    # The line is applied to the same noisy clip: inside the telephone band they agree.
    def mid_band(wave):
        spectrum = np.fft.rfft(wave)
        hz = np.arange(len(spectrum)) * 8000 / len(wave)
        return np.fft.irfft(spectrum * ((hz > 500) & (hz < 2900)), len(wave))

    assert np.corrcoef(mid_band(always), mid_band(plain))[0, 1] > 0.95
    np.testing.assert_array_equal(always,
                                  Augmentation(telephone=1.0).waveform(wave, seed, 8000).numpy())


def test_speech_dataset_batches_similar_lengths_with_known_steps():
    features = AudioFeatures()
    rng = np.random.default_rng(0)
    waves = [(rng.normal(size=4000 + 400 * i) * 3000).astype("int16") for i in range(10)]
    labels = [[1 + i % 5] * (2 + i % 3) for i in range(10)]
    ds = speech_dataset(waves, labels, features, 4, Augmentation(), shuffle=True, seed=1)
    assert int(ds.cardinality()) == 3
    epoch1 = [(x.shape, y.shape) for x, y in ds]
    epoch2 = [(x.shape, y.shape) for x, y in ds]
    assert len(epoch1) == len(epoch2) == 3
    assert all(x[0] == 4 and x[2] == 40 for x, _ in epoch1)
    warped = speech_dataset(waves, labels, features, 4, Augmentation(freq_warp=0.1),
                            shuffle=True, seed=1)
    first, again = next(iter(warped))[0].numpy(), next(iter(warped))[0].numpy()
    assert np.all(np.isfinite(first)) and first.shape[2] == 40
    assert not np.array_equal(first, again)  # every epoch draws new distortions
    plain = list(speech_dataset(waves, labels, features, 4))
    assert [int(x.shape[1]) for x, _ in plain] == sorted(int(x.shape[1]) for x, _ in plain)
    with pytest.raises(InputError, match="No examples"):
        speech_dataset([], [], features, 4)


# ## Model and decoding


def test_ctc_recognizer_shapes_cudnn_and_subsampling():
    from model_zoo.layers import cudnn_report
    from model_zoo.layers.cudnn import JAX_GRU

    model = build_ctc_recognizer(alphabet_size=29, conv_channels=8, units=8, depth=2)
    report = cudnn_report(model)
    assert len(report) == 4, str(report)
    for verdict in report:  # no mask: cuDNN on TF and torch; JAX has no cuDNN GRU
        assert verdict.eligible("tensorflow") and verdict.eligible("torch"), str(report)
        assert verdict.reasons["jax"] == [JAX_GRU] and verdict.notes, str(report)
    for subsample in (2, 3, 4):
        model = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=4, depth=1,
                                     subsample=subsample)
        out = model(np.zeros((2, 101, 40), "float32"))
        assert out.shape == (2, output_frames(101, subsample), 29)
    with pytest.raises(ValueError, match="subsample=5"):
        build_ctc_recognizer(subsample=5)


def test_greedy_and_beam_decoding():
    # Frames say: a a blank b b blank blank a  -> "a b a" ids [1, 2, 1].
    path = [1, 1, 0, 2, 2, 0, 0, 1]
    logits = np.full((1, len(path), 4), -5.0, "float32")
    logits[0, np.arange(len(path)), path] = 5.0
    assert ctc_greedy_decode(logits) == [[1, 2, 1]]
    assert ctc_beam_search_decode(logits, beam_width=4) == [[1, 2, 1]]
    # Beam search sums over paths: blank-dominated frames where no single path wins.
    assert ctc_greedy_decode(np.zeros((2, 3, 4), "float32"))[1] is not None


def test_task_decodes_a_batch_as_one_by_one():
    # Utterances of different lengths, padded into chunks of 3: each is read to its own end.
    task = tiny_recognizer()
    rng = np.random.default_rng(0)
    logits = [rng.normal(0, 3, (n, task.alphabet.size)).astype("float32")
              for n in (9, 4, 17, 1, 12, 6, 30)]
    for decoder in ("greedy", "beam_search"):
        one_by_one = [task.decode([x], decoder, beam_width=4)[0] for x in logits]
        assert task.decode(logits, decoder, beam_width=4, batch_size=3) == one_by_one
        assert any(one_by_one) and len(set(one_by_one)) > 3
    assert task.decode([]) == []


def test_ctc_training_reduces_the_loss():
    keras.utils.set_random_seed(0)
    features = AudioFeatures()
    rng = np.random.default_rng(0)
    # Two "words": low and high tones, each labelled with its own character.
    waves = [tone(0.6, 8000, 300 if i % 2 else 1500) + rng.normal(0, 0.01, 4800)
             for i in range(8)]
    x = np.stack([features(w) for w in waves])
    y = np.array([[1] if i % 2 else [2] for i in range(8)], "int32")
    model = build_ctc_recognizer(alphabet_size=3, conv_channels=4, units=8, depth=1,
                                 dropout=0.0)
    model.compile(keras.optimizers.Adam(0.01), loss=keras.losses.CTC())
    history = model.fit(x, y, batch_size=8, epochs=12, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


# ## Corpora


def test_folder_corpus_reads_csv_or_txt_beside_each_clip(tmp_path):
    for i in range(2):
        soundfile.write(str(tmp_path / f"c{i}.wav"), tone(0.3), 8000)
    (tmp_path / "c0.txt").write_text("Press 1")
    (tmp_path / "c1.txt").write_text("Goodbye!")
    items = folder_corpus(tmp_path)
    assert [(u.id, u.text) for u in items] == [("c0.wav", "press one"), ("c1.wav", "goodbye")]
    (tmp_path / "list.csv").write_text("file,transcript\nc1.wav,Hello there\n")
    assert [u.text for u in folder_corpus(tmp_path)] == ["hello there"]
    (tmp_path / "bad.csv").write_text("audio,words\nc1.wav,x\n")
    with pytest.raises(InputError, match="needs a header with a path column"):
        folder_corpus(tmp_path / "bad.csv")
    (tmp_path / "missing.csv").write_text("path,text\nnope.wav,x\n")
    with pytest.raises(InputError, match="no audio file at"):
        folder_corpus(tmp_path / "missing.csv")
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    soundfile.write(str(lonely / "a.wav"), tone(0.3), 8000)
    with pytest.raises(InputError, match="No transcripts found"):
        folder_corpus(lonely)
    latin = lonely / "latin.csv"
    latin.write_bytes("path,text\na.wav,Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        folder_corpus(latin)


@needs_espeak
def test_synthetic_corpus_is_deterministic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setattr("model_zoo.data.speech_corpus.available_engines", lambda: {"espeak"})
    first = synthesize_corpus(6, 2, 0.2, seed=3, progress=False)
    assert len(first.texts) == 8 and first.splits.count("test") == 2
    assert first.splits.count("val") == 1
    assert all(v.engine == "espeak" for v in first.voices)
    held_out = {v.group for v, s in zip(first.voices, first.splits) if s == "test"}
    assert held_out == {"espeak:en-029"}
    assert all(v.group != "espeak:en-029" for v, s in zip(first.voices, first.splits)
               if s != "test")
    again = synthesize_corpus(6, 2, 0.2, seed=3, progress=False)  # from the cache
    assert again.folder == first.folder and again.texts == first.texts
    fresh = synthesize_corpus(6, 2, 0.2, seed=3, progress=False, cache=False)
    assert fresh.texts == first.texts
    assert all(np.array_equal(a, b) for a, b in zip(fresh.waveforms, first.waveforms))
    assert synthesize_corpus(6, 2, 0.2, seed=4, progress=False).texts != first.texts


# ## The task: transcribe, save/load, CLI, fine-tune


def tiny_recognizer(alphabet=ENGLISH_ALPHABET, language="en"):
    from model_zoo.tasks.speech_recognition import SpeechRecognizer

    keras.utils.set_random_seed(0)
    model = build_ctc_recognizer(alphabet_size=len(alphabet) + 1, conv_channels=8, units=16,
                                 depth=1, dropout=0.0)
    preprocessing = {"features": AudioFeatures().to_dict(), "alphabet": alphabet,
                     "language": language, "decoder": "greedy", "beam_width": 4}
    return SpeechRecognizer(model, preprocessing)


@pytest.fixture(scope="module")
def saved_recognizer(tmp_path_factory):
    from model_zoo.registry import CheckpointMetadata

    task = tiny_recognizer()
    directory = str(tmp_path_factory.mktemp("asr") / "asr_tiny")
    task.save(directory, CheckpointMetadata(name="asr_tiny", version=1,
                                            task="speech_recognition", architecture="crnn_ctc",
                                            description="tiny untrained recogniser",
                                            recipe="speech_recognition"))
    return directory


def test_transcribe_files_and_waveforms_at_any_rate(saved_recognizer, tmp_path):
    import model_zoo

    asr = model_zoo.load(saved_recognizer)
    path = tmp_path / "speech.flac"
    clip = voiced(0.8, 44100)
    soundfile.write(str(path), np.stack([clip] * 2, 1), 44100)
    text = asr.transcribe(str(path))
    assert isinstance(text, str)
    # The same audio as a waveform at its own rate gives the same logits (up to the FLAC
    # file's 16-bit quantisation).
    assert isinstance(asr.transcribe(clip, sample_rate=44100), str)
    np.testing.assert_allclose(asr.logits([asr.waveform(str(path))])[0],
                               asr.logits([asr.waveform(clip, 44100)])[0], atol=2e-3)
    both = asr.transcribe([str(path), tone(0.5, 8000)], sample_rate=8000)
    assert isinstance(both, list) and len(both) == 2
    assert isinstance(asr.transcribe(str(path), decoder="beam_search"), str)
    output, shape = asr.predict_example()
    assert np.shape(output) == shape == (2,)
    with pytest.raises(AudioError, match="silent"):
        asr.transcribe(np.zeros(8000, "float32"), sample_rate=8000)
    with pytest.raises(InputError, match="decoder"):
        asr.transcribe(str(path), decoder="viterbi")
    with pytest.raises(InputError, match="empty"):
        asr.transcribe([])


def test_transcribe_command_line(saved_recognizer, tmp_path, capsys):
    from model_zoo.cli import main

    good = tmp_path / "good.wav"
    soundfile.write(str(good), tone(0.6), 8000)
    silent = tmp_path / "silent.wav"
    soundfile.write(str(silent), np.zeros(8000, "float32"), 8000)
    assert main(["transcribe", str(good), "--model", saved_recognizer]) == 0
    assert capsys.readouterr().out.startswith(f"{good}\t")
    assert main(["transcribe", str(good), str(silent), "--model", saved_recognizer,
                 "--json"]) == 2
    out = capsys.readouterr().out
    assert '"error"' in out and "is silent" in out
    assert main(["predict", saved_recognizer, str(good)]) == 0
    assert '"transcripts"' in capsys.readouterr().out


def test_evaluate_on_pairs(saved_recognizer):
    import model_zoo

    asr = model_zoo.load(saved_recognizer)
    result = asr.evaluate([(tone(0.5), "a b"), (tone(0.7, freq=900), "c")], sample_rate=8000,
                          return_transcripts=True)
    assert result["utterances"] == 2 and result["cer"] >= 0
    assert [r for r, _ in result["transcripts"]] == ["a b", "c"]
    with pytest.raises(InputError, match="audio, transcript"):
        asr.evaluate([object()])


def test_decoder_error_rates_match_evaluate_per_decoder(saved_recognizer):
    import model_zoo

    asr = model_zoo.load(saved_recognizer)
    pairs = [(tone(0.5), "a b"), (tone(0.7, freq=900), "c")]
    waves = [asr.waveform(audio, 8000) for audio, _ in pairs]
    references = [text for _, text in pairs]
    assert list(asr.decoder_error_rates(waves, references)) == ["greedy"]  # no LM: greedy only
    both = asr.decoder_error_rates(waves, references, ["greedy", "beam_search"])
    for decoder, rates in both.items():
        assert rates == asr.evaluate(pairs, sample_rate=8000, decoder=decoder)
    lm = CharNgramLM.fit(["a b c", "a c b"], ENGLISH_ALPHABET, order=2)
    with_lm = asr.with_language_model(lm).decoder_error_rates(waves, references)
    assert list(with_lm) == ["greedy", "beam_search_lm"]
    assert with_lm["greedy"] == both["greedy"]


def test_gradual_unfreezing_groups_front_end_recurrent_layers_head():
    from model_zoo.tasks.speech_recognition import recognizer_groups

    model = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=4, depth=2)
    groups = [[layer.name for layer in g] for g in recognizer_groups(model)]
    assert groups == [["conv_1", "conv_1_bn", "conv_2", "conv_2_bn"], ["encoder_bigru_0"],
                      ["encoder_bigru_1"], ["ctc_logits"]]


@needs_espeak
def test_finetune_on_a_folder_adds_new_characters(tmp_path):
    import subprocess

    sentences = ["één café", "ik zie een vis", "de grote vis", "twee kleine vissen",
                 "hoe gaat het", "dag vis"]
    for i, text in enumerate(sentences):
        subprocess.run(["espeak-ng", "-v", "nl", "-w", str(tmp_path / f"{i}.wav"), text],
                       check=True)
        (tmp_path / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "broken.wav").write_bytes(b"")  # one unusable clip: left out, and listed
    (tmp_path / "broken.txt").write_text("kapot", encoding="utf-8")
    # An English language model does not follow the model into Dutch.
    asr = tiny_recognizer().with_language_model(CharNgramLM.fit(["hello"], ENGLISH_ALPHABET))
    before = asr.model.get_layer("ctc_logits").get_weights()[0].copy()
    with pytest.warns(UserWarning, match="Left out 1 unusable clips"):
        tuned = asr.finetune(str(tmp_path), language="nl", epochs=1, batch_size=2,
                             val_fraction=0.3, strategy="full")
    assert tuned.alphabet.characters == ENGLISH_ALPHABET + "é"
    assert tuned.language == "nl"
    assert tuned.language_model is None and tuned.preprocessing["decoder"] == "greedy"
    assert tuned.model.output_shape[-1] == len(ENGLISH_ALPHABET) + 2
    assert asr.model.get_layer("ctc_logits").get_weights()[0].shape == before.shape
    metrics = tuned.finetune_metrics
    assert metrics["new_characters"] == "é"
    assert metrics["train_utterances"] + metrics["val_utterances"] == 6
    assert [c["id"] for c in metrics["skipped_clips"]] == ["broken.wav"]
    assert "empty" in metrics["skipped_clips"][0]["error"]
    assert 0 <= metrics["val_cer_after"] and metrics["stages"] == 1
    assert isinstance(tuned.transcribe(str(tmp_path / "0.wav")), str)


def test_copy_weights_starts_a_model_from_another_or_says_why_not():
    from model_zoo.models.copying import copy_weights

    source = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=8, depth=1)
    target = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=8, depth=1)
    x = np.random.default_rng(0).normal(size=(1, 50, 40)).astype("float32")
    assert not np.allclose(source.predict(x, verbose=0), target.predict(x, verbose=0))
    copy_weights(source, target)
    np.testing.assert_allclose(source.predict(x, verbose=0), target.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    wider = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=16, depth=1)
    with pytest.raises(InputError, match="Cannot start from base.*Received"):
        copy_weights(source, wider, "base")


def test_copy_weights_partial_grows_a_model_by_one_layer():
    from model_zoo.models.copying import copy_weights

    source = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=8, depth=1)
    deeper = build_ctc_recognizer(alphabet_size=29, conv_channels=4, units=8, depth=2)
    with pytest.raises(InputError, match="same hyperparameters.*strict=False"):
        copy_weights(source, deeper, "base")
    before = deeper.get_layer("encoder_bigru_1").get_weights()
    copy_weights(source, deeper, "base", strict=False)
    for name in ("conv_1", "conv_2_bn", "encoder_bigru_0", "ctc_logits"):
        for a, b in zip(source.get_layer(name).get_weights(),
                        deeper.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    # The new layer keeps its own initialisation.
    for a, b in zip(before, deeper.get_layer("encoder_bigru_1").get_weights()):
        np.testing.assert_array_equal(a, b)
    other = build_ctc_recognizer(alphabet_size=29, conv_channels=8, units=4, depth=1)
    with pytest.raises(InputError, match="none of its layers.*Received: layers"):
        copy_weights(other, build_ctc_recognizer(alphabet_size=5, conv_channels=4, units=8,
                                                 depth=1, num_mel_bins=20), "other",
                     strict=False)
