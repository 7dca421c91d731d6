"""The character n-gram language model and its fusion into CTC prefix beam search."""

import gzip

import numpy as np
import pytest

from model_zoo.data.speech_text import ENGLISH_ALPHABET
from model_zoo.errors import InputError
from model_zoo.models.speech import CharNgramLM, ctc_greedy_decode, ctc_prefix_beam_search

TEXTS = ["press one for sales", "press two for support", "please hold the line",
         "for sales press one", "the line is busy", "please press the pound key"]


def test_distributions_sum_to_one_for_seen_and_unseen_contexts():
    lm = CharNgramLM.fit(TEXTS, ENGLISH_ALPHABET, order=5)
    for context in ("", "press ", "pl", "zzzq", "the line is busy please hold the"):
        probs = np.exp(lm.distribution(context))
        assert probs.shape == (len(ENGLISH_ALPHABET) + 1,)
        assert probs.sum() == pytest.approx(1.0, abs=1e-9)
        assert probs.min() > 0  # smoothing: nothing is impossible
    # What it read is likely; what it never read is not.
    assert lm.log_prob("s", "press one for sale") > np.log(0.5)
    assert lm.log_prob("x", "press one for sale") < np.log(0.01)
    assert lm.log_prob("$", "please hold the line") > lm.log_prob("$", "please hold the l")


def test_higher_orders_model_held_out_text_better():
    held_out = ["press two for sales", "please hold"]
    uniform = np.log(len(ENGLISH_ALPHABET) + 1)
    nats = [CharNgramLM.fit(TEXTS, ENGLISH_ALPHABET, order=n).nats_per_char(held_out)
            for n in (1, 3, 5)]
    assert nats[0] < uniform and nats[1] < nats[0] and nats[2] < nats[1]


def test_save_and_load_round_trip_and_errors():
    lm = CharNgramLM.fit(TEXTS, ENGLISH_ALPHABET, order=4)
    data = lm.to_bytes()
    assert data == CharNgramLM.fit(TEXTS, ENGLISH_ALPHABET, order=4).to_bytes()  # deterministic
    again = CharNgramLM.from_bytes(data)
    assert again.order == 4 and again.characters == ENGLISH_ALPHABET
    np.testing.assert_allclose(again.distribution("press t"), lm.distribution("press t"))
    with pytest.raises(InputError, match="gzipped JSON"):
        CharNgramLM.from_bytes(b"not a model")
    with pytest.raises(InputError, match="Unknown language model format"):
        CharNgramLM.from_bytes(gzip.compress(b'{"format": "other"}'))
    with pytest.raises(InputError, match=r"outside the model's.*'!'"):
        CharNgramLM.fit(["hello!"], ENGLISH_ALPHABET)
    with pytest.raises(InputError, match="all texts were empty"):
        CharNgramLM.fit([], ENGLISH_ALPHABET)
    with pytest.raises(InputError, match="reserved"):
        CharNgramLM.fit(["a$"], "a $")
    with pytest.raises(InputError, match="order"):
        CharNgramLM(ENGLISH_ALPHABET, 0, {})


def frames_for(text, alphabet=ENGLISH_ALPHABET, confusions=None, sharp=6.0):
    """Logits of a clean path spelling `text` (a blank between characters); `confusions`
    `{position: other character}` makes those frames a near tie between the two."""
    size = len(alphabet) + 1
    rows = []
    for i, c in enumerate(text):
        row = np.zeros(size)
        row[alphabet.index(c) + 1] = sharp
        if confusions and i in confusions:
            row[alphabet.index(confusions[i]) + 1] = sharp + 0.3  # the wrong one, a bit ahead
        rows.append(row)
        blank = np.zeros(size)
        blank[0] = sharp
        rows.append(blank)
    return np.array(rows, "float32")


def test_prefix_beam_search_matches_greedy_on_clear_frames_and_the_lm_fixes_ties():
    alphabet = ENGLISH_ALPHABET
    clear = frames_for("press one")
    ids = ctc_prefix_beam_search(clear, alphabet, beam_width=8)
    assert ids == ctc_greedy_decode(clear[None])[0]
    # A doubled letter survives when a blank separates its two frames.
    assert "".join(alphabet[i - 1] for i in ctc_prefix_beam_search(
        frames_for("see"), alphabet)) == "see"
    # Frames where a wrong letter is a little ahead: without the LM the wrong word, with it
    # the word the language model knows.
    noisy = frames_for("press one", confusions={1: "e", 6: "a"})
    decode = lambda **kw: "".join(alphabet[i - 1]  # noqa: E731
                                  for i in ctc_prefix_beam_search(noisy, alphabet, **kw))
    assert decode() == "peess ane"
    lm = CharNgramLM.fit(TEXTS, alphabet, order=5)
    assert decode(lm=lm, alpha=1.0, beta=0.5) == "press one"
    assert decode(lm=lm, alpha=0.0, beta=0.0) == "peess ane"  # a zero weight is no LM
    with pytest.raises(ValueError, match=r"\(steps, 29\)"):
        ctc_prefix_beam_search(np.zeros((5, 7)), alphabet)
    with pytest.raises(ValueError, match="characters differ"):
        ctc_prefix_beam_search(noisy, alphabet, lm=CharNgramLM.fit(["ab"], "ab "))


def test_recogniser_with_language_model_saves_loads_and_decodes(tmp_path):
    import model_zoo
    from model_zoo.registry import CheckpointMetadata
    from test_speech import tiny_recognizer

    asr = tiny_recognizer()
    with pytest.raises(InputError, match="has no language model"):
        asr.decode([np.zeros((4, 29), "float32")], "beam_search_lm")
    with pytest.raises(InputError, match="must be the recogniser's alphabet"):
        asr.with_language_model(CharNgramLM.fit(["ab"], "ab "))
    lm = CharNgramLM.fit(TEXTS, ENGLISH_ALPHABET, order=4)
    with_lm = asr.with_language_model(lm, alpha=1.0, beta=0.5)
    assert asr.language_model is None and "language_model" not in asr.preprocessing
    assert with_lm.preprocessing["decoder"] == "beam_search_lm"
    noisy = frames_for("press one", confusions={1: "e", 6: "a"})
    assert with_lm.decode([noisy]) == ["press one"]
    assert with_lm.decode([noisy], "greedy") == ["peess ane"]

    folder = str(tmp_path / "asr_lm")
    with_lm.save(folder, CheckpointMetadata(name="asr_lm", version=1, task="speech_recognition",
                                            architecture="crnn_ctc", recipe="speech_recognition"))
    assert "assets/char_lm.json.gz" in with_lm.metadata.files  # hashed like every other file
    loaded = model_zoo.load(folder)
    assert loaded.preprocessing["language_model"]["alpha"] == 1.0
    assert loaded.decode([noisy]) == ["press one"]
    assert loaded.with_language_model(None).decode([noisy]) == ["peess ane"]
    orphan = type(asr)(asr.model, loaded.preprocessing)  # names an LM, has no folder
    with pytest.raises(InputError, match="asset is missing"):
        orphan.decode([noisy])
