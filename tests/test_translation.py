"""Translation: Bible cleaning and split, TSV reading, attention layers, incremental decoding,
beam search, the Translator task (save/load, translate, CLI, attention plot, fine-tuning) and
a smoke run of the recipe."""

import itertools
import json
import os

import keras
import numpy as np
import pytest

from model_zoo.data.bible import VersePair, clean_osis, split_pairs
from model_zoo.data.parallel_text import as_texts, read_parallel_tsv
from model_zoo.data.text import length_batches
from model_zoo.errors import InputError
from model_zoo.layers import cudnn_report
from model_zoo.layers.attention import BahdanauAttention, LuongAttention
from model_zoo.models.seq2seq import (
    LabelSmoothedCrossEntropy,
    SentencePieceTokenizer,
    Seq2SeqDecoder,
    build_lstm_seq2seq,
)
from model_zoo.models.seq2seq.sentencepiece_tokenizer import EOS_ID

PAIRS = [
    ("In the beginning God created the heavens and the earth.",
     "En el principio crió Dios los cielos y la tierra."),
    ("God said, let there be light, and there was light.",
     "Y dijo Dios: Sea la luz: y fué la luz."),
    ("God saw the light, and saw that it was good.", "Y vió Dios que la luz era buena."),
    ("God called the light day, and the darkness he called night.",
     "Y llamó Dios á la luz Día, y á las tinieblas llamó Noche."),
    ("The earth was formless and empty.", "Y la tierra estaba desordenada y vacía."),
    ("God blessed them.", "Y los bendijo Dios."),
    ("There was evening and there was morning, the first day.",
     "Y fué la tarde y la mañana un día."),
    ("God made the two great lights.", "E hizo Dios las dos grandes lumbreras."),
] * 3


def write_tsv(path, pairs):
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return str(path)


# -- data ------------------------------------------------------------------------------------------


def test_clean_osis_keeps_words_apart_and_recases():
    raw = ('<w lemma="x">God</w><note placement="foot"><reference>1:1 </reference>Elohim.'
           '</note><w>created</w> <w>the</w> heavens.<note>n</note> His only born</q>'
           '<note placement="foot">Greek</note><q who="Jesus"><w>Son</w>, that')
    assert clean_osis(raw) == "God created the heavens. His only born Son, that"
    assert clean_osis("<w>EN el principio</w> crió <w>JEHOVÁ</w>", first_verse=True) == \
        "En el principio crió JEHOVÁ"
    assert clean_osis("<w>EN el principio</w>") == "EN el principio"  # only chapter starts


def test_split_holds_out_whole_books():
    pairs = [VersePair(book, 1, v, f"e{v}", f"s{v}") for book in ("Gen", "Ruth", "Joel", "Jas")
             for v in range(1, 4)]
    split = split_pairs(pairs, validation_books=("Joel",), test_books=("Ruth", "Jas"))
    books = {k: {p.book for p in v} for k, v in split.items()}
    assert books == {"train": {"Gen"}, "validation": {"Joel"}, "test": {"Ruth", "Jas"}}
    assert sum(len(v) for v in split.values()) == len(pairs)


def test_tsv_reader_reports_the_malformed_line(tmp_path):
    good = write_tsv(tmp_path / "good.tsv", PAIRS[:2])
    assert read_parallel_tsv(good) == PAIRS[:2]
    bad = tmp_path / "bad.tsv"
    bad.write_text("Hello.\tHola.\n\nGood night. Buenas noches.\nYes.\tSí.\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: expected two non-empty fields.*Received"):
        read_parallel_tsv(str(bad))
    three = tmp_path / "three.tsv"
    three.write_text("a\tb\nc\td\te\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2.*3 tab-separated fields"):
        read_parallel_tsv(str(three))
    empty_side = tmp_path / "empty.tsv"
    empty_side.write_text("a\t \n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1.*an empty field"):
        read_parallel_tsv(str(empty_side))
    with pytest.raises(InputError, match="No such file"):
        read_parallel_tsv(str(tmp_path / "missing.tsv"))


def test_length_batches_cover_everything_with_a_fixed_count():
    lengths = np.random.default_rng(0).integers(1, 60, 1000)
    counts = set()
    for seed in range(3):
        batches = length_batches(lengths, 32, True, np.random.default_rng(seed), pool=5)
        counts.add(len(batches))
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
        assert all(len(b) <= 32 for b in batches)
    assert counts == {len(length_batches(lengths, 32, pool=5))}


def test_as_texts_rejects_non_strings():
    assert as_texts("hi") == (["hi"], True)
    with pytest.raises(InputError, match="item 1 is a int"):
        as_texts(["a", 3])


# -- layers and model -----------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [LuongAttention(), BahdanauAttention(8)])
def test_attention_ignores_padding_and_round_trips(layer, tmp_path):
    query = keras.random.normal((2, 3, 8), seed=1)
    value = keras.random.normal((2, 5, 6), seed=2)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    context, weights = layer([query, value], value_mask=mask)
    weights = keras.ops.convert_to_numpy(weights)
    assert context.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    assert np.all(weights[0, :, 3:] < 1e-6)
    # Padding values do not change the context of the first sentence.
    changed = keras.ops.convert_to_numpy(value).copy()
    changed[0, 3:] = 100.0
    context2, _ = layer([query, changed], value_mask=mask)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(context)[0],
                               keras.ops.convert_to_numpy(context2)[0], atol=1e-5)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    clone([query, value])
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone([query, value],
                                                                value_mask=mask)[1]),
                               weights, atol=1e-6)


def tiny_model(attention="luong", vocab=(30, 40), layers=(2, 1), seed=0):
    keras.utils.set_random_seed(seed)
    return build_lstm_seq2seq(vocab[0], vocab[1], embedding_dim=8, encoder_units=8,
                              encoder_layers=layers[0], decoder_units=16,
                              decoder_layers=layers[1], attention=attention, dropout=0.1)


def test_every_recurrent_layer_is_cudnn_eligible():
    report = cudnn_report(tiny_model(layers=(2, 2)))
    assert len(report) == 6
    assert all(v.eligible("tensorflow") for v in report), str(report)
    decoders = [v for v in report if v.name.startswith("decoder")]
    assert decoders and all(v.eligible() for v in decoders), str(report)  # no mask reaches them
    assert all(v.eligible() or v.notes for v in report)


@pytest.mark.parametrize("attention,layers", [("luong", (2, 1)), ("bahdanau", (1, 2))])
def test_incremental_steps_equal_the_training_model(attention, layers):
    model = tiny_model(attention, layers=layers)
    rng = np.random.default_rng(0)
    source = rng.integers(4, 30, (3, 7)).astype("int32")
    source[0, 4:] = 0  # right-padded
    target_in = rng.integers(4, 40, (3, 6)).astype("int32")
    full = keras.ops.convert_to_numpy(keras.ops.log_softmax(
        model({"source": source, "target_in": target_in}, training=False), axis=-1))
    stepped = Seq2SeqDecoder(model).step_logits(source, target_in)
    np.testing.assert_allclose(stepped, full, atol=1e-5)


def test_label_smoothed_loss_ignores_padding():
    loss = LabelSmoothedCrossEntropy(0.1)
    logits = np.random.default_rng(0).normal(size=(2, 4, 6)).astype("float32")
    y = np.array([[4, 5, 0, 0], [4, 5, 0, 0]])
    changed = logits.copy()
    changed[:, 2:] += 10  # only padded positions change
    a, b = float(loss(y, logits)), float(loss(y, changed))
    assert a == pytest.approx(b, rel=1e-6)
    no_smooth = float(LabelSmoothedCrossEntropy(0.0)(y, logits))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean([log_p[i, t, y[i, t]] for i in range(2) for t in range(2)])
    assert no_smooth == pytest.approx(expected, rel=1e-5)


def _sequence_log_prob(decoder, source, tokens):
    target_in = np.array([[2] + tokens[:-1]], dtype="int32")
    log_probs = decoder.step_logits(source, target_in)[0]
    return float(sum(log_probs[t, tok] for t, tok in enumerate(tokens)))


def test_beam_search_finds_the_best_sequence_and_respects_the_guard():
    model = tiny_model(vocab=(30, 7), seed=3)
    decoder = Seq2SeqDecoder(model)
    source = np.array([[5, 6, 7, 8]], dtype="int32")
    max_len = 3
    # Exhaustive search over every output of up to 3 tokens (ended by </s> or by the guard).
    best, best_tokens = -np.inf, None
    for n in range(0, max_len + 1):
        for body in itertools.product(range(4, 7), repeat=n):
            tokens = list(body) + ([EOS_ID] if n < max_len else [])
            if not tokens:
                continue
            score = _sequence_log_prob(decoder, source, tokens)
            if score > best:
                best, best_tokens = score, [t for t in tokens if t != EOS_ID]
    found, _ = decoder.decode(source, [max_len], beam_size=40, alpha=0.0)
    assert found[0] == best_tokens
    # Greedy follows the argmax; every output stays within its guard.
    batch = np.array([[5, 6, 7, 8], [9, 10, 0, 0]], dtype="int32")
    for beam in (1, 3):
        outputs, maps = decoder.decode(batch, [2, 4], beam_size=beam, return_attention=True)
        assert len(outputs[0]) <= 2 and len(outputs[1]) <= 4
        for out, att, n_src in zip(outputs, maps, (4, 2)):
            assert att.shape == (len(out), n_src)


# -- the task --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_translator_dir(tmp_path_factory):
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.tasks.translation import Translator

    tokenizers = (SentencePieceTokenizer.train([s for s, _ in PAIRS], 60),
                  SentencePieceTokenizer.train([t for _, t in PAIRS], 60))
    model = build_lstm_seq2seq(tokenizers[0].vocabulary_size, tokenizers[1].vocabulary_size,
                               embedding_dim=8, encoder_units=8, encoder_layers=2,
                               decoder_units=16, dropout=0.0)
    preprocessing = {"source_language": "en", "target_language": "es", "max_source_length": 40,
                     "max_target_length": 40, "beam_size": 2, "alpha": 0.6, "length_ratio": 2.0,
                     "length_extra": 4, "max_decode_length": 30, "batch_size": 4}
    task = Translator(model, preprocessing, tokenizers=tokenizers)
    directory = tmp_path_factory.mktemp("ckpt") / "translation_tiny"
    task.save(str(directory), CheckpointMetadata(
        name="translation_tiny", version=1, task="translation", architecture="tiny",
        description="tiny test model", recipe="translation"))
    return str(directory)


def test_translator_round_trip_takes_raw_strings(tiny_translator_dir):
    import model_zoo

    task = model_zoo.load(tiny_translator_dir)
    texts = [s for s, _ in PAIRS[:5]]
    out = task.translate(texts, beam_size=3)
    assert len(out) == 5 and all(isinstance(t, str) for t in out)
    assert task.translate(texts[0], beam_size=3) == out[0]  # a string gives a string
    greedy = task.translate(texts, beam_size=1)
    assert task.translate(texts[::-1], beam_size=1) == greedy[::-1]  # batching keeps order
    again = model_zoo.load(tiny_translator_dir).translate(texts, beam_size=3)
    assert again == out
    output, shape = task.predict_example()
    assert np.shape(output) == shape
    with pytest.raises(InputError, match="beam_size"):
        task.translate(texts, beam_size=0)
    metrics = task.evaluate(texts, [t for _, t in PAIRS[:5]], beam_size=1)
    assert 0 <= metrics["bleu"] <= 100 and metrics["bleu_signature"].startswith("nrefs:1")


def test_translate_cli_with_attention_plot(tiny_translator_dir, tmp_path, capsys):
    from model_zoo.cli import main

    plot = tmp_path / "att.png"
    code = main(["translate", "--model", tiny_translator_dir, "God blessed them.",
                 "The earth was good.", "--beam-size", "1", "--plot", str(plot), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["translations"]) == 2
    assert plot.stat().st_size > 1000
    assert main(["translate", "--model", tiny_translator_dir]) == 2
    assert "Give sentences" in capsys.readouterr().err


def test_finetune_keeps_vocabulary_and_learns(tiny_translator_dir, tmp_path, capsys):
    import model_zoo
    from model_zoo.cli import main

    tsv = write_tsv(tmp_path / "pairs.tsv", PAIRS)
    parent = model_zoo.load(tiny_translator_dir)
    tuned = model_zoo.finetune(tiny_translator_dir, tsv, out=str(tmp_path / "tuned"),
                               epochs=3, learning_rate=1e-2, val_fraction=0.2)
    m = tuned.finetune_metrics
    # 10% of the pairs (2 of 24) held out for the comparison, never trained on.
    assert m["comparison"]["split"]["test"] == 2
    assert m["train_pairs"] + m["val_pairs"] + m["dropped_long_pairs"] + 2 == len(PAIRS)
    reloaded = model_zoo.load(str(tmp_path / "tuned"))
    assert reloaded.source_tokenizer.proto == parent.source_tokenizer.proto
    assert reloaded.target_tokenizer.proto == parent.target_tokenizer.proto
    before = [w.copy() for w in parent.model.get_weights()]
    after = reloaded.model.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
    # Saved without Adam's state: about the parent's size, not three times it.
    sizes = [os.path.getsize(os.path.join(d, "model.keras"))
             for d in (tiny_translator_dir, str(tmp_path / "tuned"))]
    assert sizes[1] < 1.3 * sizes[0]
    bad = tmp_path / "bad.tsv"
    bad.write_text("Hello.\tHola.\nBroken line\n", encoding="utf-8")
    code = main(["finetune", tiny_translator_dir, "--tsv", str(bad), "--out",
                 str(tmp_path / "x")])
    assert code == 2 and "line 2" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_finetune_to_a_new_target_language(tiny_translator_dir, tmp_path, capsys):
    """`target_vocabulary="new"`: a target vocabulary trained on the user's targets (not the
    test part), a new target embedding and output layer, every other weight from the
    checkpoint; the CLI says the same with --target-vocabulary new."""
    import model_zoo
    from model_zoo.cli import main

    french = [(s, t.replace("Dios", "Dieu").replace("tierra", "terre") + " ça")
              for s, t in PAIRS]
    parent = model_zoo.load(tiny_translator_dir)
    tuned = parent.finetune(french, epochs=1, target_vocabulary=60, target_language="fr",
                            test_fraction=0.25)
    m = tuned.finetune_metrics
    assert m["target_vocabulary"]["new"] and m["target_vocabulary"]["size"] == \
        tuned.target_tokenizer.vocabulary_size
    assert "the targets of the 18 training and validation pairs" in \
        m["target_vocabulary"]["trained_on"]
    assert tuned.preprocessing["target_language"] == "fr"
    size = tuned.target_tokenizer.vocabulary_size
    assert tuned.source_tokenizer.proto == parent.source_tokenizer.proto
    assert tuned.target_tokenizer.proto != parent.target_tokenizer.proto
    # "ç" is no piece of the checkpoint's target vocabulary; it is one of the new one's.
    assert "ç" in "".join(tuned.target_tokenizer.pieces(range(4, size)))
    assert tuned.model.get_layer("logits").get_weights()[0].shape[-1] == size
    assert tuned.model.get_layer("target_embedding").get_weights()[0].shape[0] == size
    for name in ("source_embedding", "encoder_bilstm_0", "bridge_h_0"):  # trained, from it
        assert any(w.shape == v.shape for w, v in zip(
            parent.model.get_layer(name).get_weights(),
            tuned.model.get_layer(name).get_weights()))
    assert set(m["comparison"]["rows"]) >= {"fine-tuned", "zero-shot", "baseline"}
    assert isinstance(tuned.translate("God blessed them.", beam_size=1), str)
    # From the command line, and a bad option before any training.
    tsv = write_tsv(tmp_path / "fr.tsv", french)
    out = str(tmp_path / "fr_model")
    assert main(["finetune", tiny_translator_dir, "--tsv", tsv, "--out", out, "--epochs", "1",
                 "--target-vocabulary", "new", "--target-language", "fr"]) == 0
    capsys.readouterr()
    reloaded = model_zoo.load(out)
    assert reloaded.preprocessing["target_language"] == "fr"
    assert reloaded.target_tokenizer.proto != parent.target_tokenizer.proto
    for bad in ("french", 3, True):
        with pytest.raises(InputError, match="`target_vocabulary` must be"):
            parent.finetune(french, epochs=1, target_vocabulary=bad)
    with pytest.raises(InputError, match="needs at least one piece per character"):
        parent.finetune(french, epochs=1, target_vocabulary=10)


def test_finetune_says_how_many_long_pairs_it_left_out(tiny_translator_dir):
    import model_zoo

    parent = model_zoo.load(tiny_translator_dir)
    long_pair = ("God made " * 30 + "light.", "Dios hizo " * 30 + "luz.")  # > 40 subwords
    pairs = PAIRS[:8] + [long_pair] * 3  # one goes to validation: at least 2 are left out
    with pytest.warns(UserWarning, match=r"Left out \d+ of 10 training pairs") as caught:
        tuned = parent.finetune(pairs, epochs=1, val_fraction=0.1, test_fraction=0)
    m = tuned.finetune_metrics
    assert f"Left out {m['dropped_long_pairs']} of 10" in str(caught[0].message)
    assert 2 <= m["dropped_long_pairs"] <= 4 and m["max_length"] == 40
    assert m["train_pairs"] + m["val_pairs"] + m["dropped_long_pairs"] == len(pairs)
    with pytest.raises(InputError, match=r"of the \d+ training pairs have a side longer than 3 "
                                         r"subwords .* Received: max_length=3"):
        model_zoo.finetune(tiny_translator_dir, PAIRS, epochs=1, max_length=3)


# -- the fine-tuning comparison (issue 18, item 1) ----------------------------------------------------

UNSEEN = [("God saw the earth.", "Y vió Dios la tierra."),
          ("God blessed the light.", "Y bendijo Dios la luz."),
          ("There was light.", "Y fué la luz."),
          ("The first day was good.", "El primer día era bueno.")]


def _saved_comparison(directory):
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]["finetune"]["comparison"]


def test_finetune_compares_with_zero_shot_and_nearest_pair(tiny_translator_dir, tmp_path):
    import model_zoo
    from model_zoo.metrics.translation import translation_metrics
    from model_zoo.models.seq2seq import baselines

    train = PAIRS[:8] * 2
    out = str(tmp_path / "tuned")
    tuned = model_zoo.finetune(tiny_translator_dir, write_tsv(tmp_path / "train.tsv", train),
                               out=out, epochs=1, val_fraction=0.25, test=UNSEEN)
    m = tuned.finetune_metrics
    c = m["comparison"]
    assert c["metric"] == "bleu" and c["higher_is_better"] is True and not c["skipped"]
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline", "baseline (copy source)"}
    assert c["baselines"] == ["baseline", "baseline (copy source)"]
    assert c["split"] == {"rule": "the given test pairs", "train": m["train_pairs"],
                          "validation": 4, "test": 4, "unit": "pairs"}
    assert m["train_pairs"] + m["val_pairs"] + m["dropped_long_pairs"] == len(train)
    sources, references = [s for s, _ in UNSEEN], [t for _, t in UNSEEN]
    # The baselines' rows are what the baselines module gives on the same split: fitted on
    # every pair the fine-tune saw, scored on the test pairs ...
    retrieved = baselines.nearest_pair(train).translate(sources)
    assert retrieved[0] == "Y vió Dios que la luz era buena."  # "God saw ..." is nearest
    assert c["rows"]["baseline"] == translation_metrics(retrieved, references)
    assert c["rows"]["baseline (copy source)"] == translation_metrics(sources, references)
    assert "TF-IDF" in c["models"]["baseline"]
    assert "copied" in c["models"]["baseline (copy source)"]
    # ... and the models' rows are `evaluate` (the checkpoint's beam), without the sentences.
    expected = tuned.evaluate(sources, references)
    assert expected.pop("hypotheses") and c["rows"]["fine-tuned"] == expected
    zero_shot = model_zoo.load(tiny_translator_dir).evaluate(sources, references)
    zero_shot.pop("hypotheses")
    assert c["rows"]["zero-shot"] == zero_shot
    # Judged against the stronger of the two classical baselines on the test pairs.
    strongest = max(c["rows"][b]["bleu"] for b in c["baselines"])
    assert c["rows"][c["strongest_baseline"]]["bleu"] == strongest
    assert c["beats_baseline"] == (expected["bleu"] > strongest)
    assert _saved_comparison(out) == c
    with open(os.path.join(out, "README.md"), encoding="utf-8") as f:
        card = f.read()
    assert "| baseline (copy source) |" in card and c["verdict"] in card
    assert "the strongest: decides]" in card


def test_finetune_holds_out_a_share_of_the_pairs_from_the_cli(tiny_translator_dir, tmp_path,
                                                               capsys):
    from model_zoo import limits
    from model_zoo.cli import main
    from model_zoo.metrics.translation import translation_metrics
    from model_zoo.models.seq2seq import baselines

    tsv = write_tsv(tmp_path / "pairs.tsv", PAIRS)
    out = str(tmp_path / "tuned")
    with limits.override(finetune_test_pairs=3):  # 25% of 24 would be 6: at most 3.
        assert main(["finetune", tiny_translator_dir, "--tsv", tsv, "--test-fraction", "0.25",
                     "--epochs", "1", "--out", out]) == 0
    printed = capsys.readouterr().out
    c = _saved_comparison(out)
    assert c["split"]["rule"] == "25% of the pairs (at most 3), at random (seed 0)"
    assert c["split"]["test"] == 3
    with open(os.path.join(out, "metadata.json"), encoding="utf-8") as f:
        dropped = json.load(f)["metrics"]["finetune"]["dropped_long_pairs"]  # (too long)
    assert c["split"]["train"] + dropped + c["split"]["validation"] == len(PAIRS) - 3
    assert "Held out: 25% of the pairs (at most 3), at random (seed 0)" in printed
    assert "baseline (copy source)" in printed and "bleu decides, higher is better" in printed
    # The held-out pairs, as the rule draws them; the baseline fitted on the other 21.
    order = np.random.default_rng(0).permutation(len(PAIRS))
    held = [PAIRS[i] for i in order[:3]]
    seen = [PAIRS[i] for i in sorted(order[3:])]
    retrieved = baselines.nearest_pair(seen).translate([s for s, _ in held])
    assert c["rows"]["baseline"] == translation_metrics(retrieved, [t for _, t in held])


def test_tokenizer_survives_setting_the_seed():
    """Every fine-tune sets the seed, which clears TensorFlow's kernel cache and the
    SentencepieceOp's resource with it: a second fine-tune of one object used to fail."""
    tokenizer = SentencePieceTokenizer.train([s for s, _ in PAIRS], 60)
    ids = tokenizer.tokenize(["God blessed them."])
    keras.utils.set_random_seed(1)
    assert tokenizer.tokenize(["God blessed them."]) == ids
    keras.utils.set_random_seed(2)
    assert tokenizer.detokenize(ids) == ["God blessed them."]


def test_finetune_comparison_refuses_bad_values_before_training(tiny_translator_dir):
    import model_zoo
    from model_zoo import limits

    task = model_zoo.load(tiny_translator_dir)
    for kwargs, message in (
            ({"test_fraction": 1.5}, r"`test_fraction` must be a number >= 0 and < 1.*"
                                     r"Received: test_fraction=1.5"),
            ({"test_fraction": "0.1"}, "`test_fraction` must be a finite number"),
            ({"test": []}, "at least one sentence pair"),
            ({"test": [("God is love.", "")]}, "not two non-empty strings")):
        with pytest.raises(InputError, match=message):
            task.finetune(PAIRS, epochs=1, **kwargs)
    with limits.override(finetune_test_pairs=2), pytest.raises(
            InputError, match=r"The test set is too long: 4 pairs, over the limit of 2 pairs.*"
                              r"finetune_test_pairs"):
        task.finetune(PAIRS, epochs=1, test=UNSEEN)
    with pytest.raises(InputError, match=r"besides the 1 held out .* Received: 1"):
        task.finetune(PAIRS[:2], epochs=1)


# -- the recipe ------------------------------------------------------------------------------------


def test_recipe_search_space_defaults_to_the_published_model():
    import keras_tuner

    from model_zoo.training.recipe import get_recipe

    recipe = get_recipe("translation")
    model = recipe.build_model(keras_tuner.HyperParameters(), recipe.defaults)
    assert 2_000_000 < model.count_params() < 5_000_000
    assert {"attention", "encoder_layers", "label_smoothing"} <= {
        p.name for p in recipe.search_space(recipe.defaults).space}


@pytest.mark.skipif(not os.path.isdir("/usr/share/sword/modules/texts/ztext/engWEB2015eb"),
                    reason="needs apt-get install sword-text-web sword-text-sparv")
def test_recipe_smoke_run(tmp_path):
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import train

    recipe = get_recipe("translation")
    result = train("translation", recipe.smoke, run_dir=str(tmp_path / "run"), verbose=0)
    test = result.metrics["test"]
    assert test["sentences"] == recipe.smoke["test_limit"] and 0 <= test["bleu"] <= 100
    assert result.metrics["test_sample"]["sentences"] == recipe.sample_size
    # Decoding settings chosen on validation verses, recorded, and used on the test books.
    pre = json.load(open(os.path.join(result.checkpoint_dir, "preprocessing.json")))
    choice = pre["decoding_choice"]
    assert [(r["beam_size"], r["alpha"]) for r in choice["bleu"]] == [(1, 0.6), (2, 0.6)]
    best = max(choice["bleu"], key=lambda r: r["bleu"])
    assert (pre["beam_size"], pre["alpha"]) == (best["beam_size"], best["alpha"])
    assert (test["beam_size"], test["alpha"]) == (pre["beam_size"], pre["alpha"])
    assert "16 verses" in choice["chosen_on"]
    split = json.load(open(os.path.join(result.checkpoint_dir, "metadata.json")))["dataset"]
    assert split["split"]["test_books"] and not set(split["split"]["test_books"]) & set(
        split["split"]["train_books"])


@pytest.mark.large
def test_attention_model_learns_to_reverse_sequences():
    """The source reaches the decoder through attention: random sequences cannot be
    memorised by the decoder alone, yet their reversal is learnt in a few hundred steps."""
    from model_zoo.data.parallel_text import seq2seq_dataset

    rng = np.random.default_rng(0)
    src = [rng.integers(4, 24, rng.integers(3, 9)).tolist() for _ in range(2048)]
    keras.utils.set_random_seed(0)
    model = build_lstm_seq2seq(24, 24, 16, 32, 2, 64, 1, dropout=0.0)
    model.compile(keras.optimizers.Adam(5e-3, clipnorm=1.0), loss=LabelSmoothedCrossEntropy(0.0))
    model.fit(seq2seq_dataset(src, [s[::-1] for s in src], 64, shuffle=True), epochs=8,
              verbose=0)
    fresh = [rng.integers(4, 24, rng.integers(3, 9)).tolist() for _ in range(200)]
    batch = np.array([s + [0] * (8 - len(s)) for s in fresh], dtype="int32")
    out, _ = Seq2SeqDecoder(model).decode(batch, [10] * len(fresh), beam_size=3)
    assert np.mean([o == s[::-1] for o, s in zip(out, fresh)]) > 0.8
