"""Sequence tagging: the CRF against brute force, CoNLL files, metrics, the task, the recipe."""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from model_zoo.data.tagging import (
    TagVocabulary,
    bio_to_bioes,
    bioes_to_bio,
    brown_name_spans,
    brown_to_universal,
    read_conll,
    simplify_brown,
    tokenize,
    write_conll,
)
from model_zoo.errors import InputError


# -- the CRF ---------------------------------------------------------------------------------------


def _brute_force(potentials, transitions, start, end, length):
    """Scores of every tag sequence of `length` steps, by enumeration."""
    k = potentials.shape[-1]
    paths = list(itertools.product(range(k), repeat=length))
    scores = []
    for path in paths:
        s = start[path[0]] + end[path[-1]] + sum(potentials[t, path[t]] for t in range(length))
        s += sum(transitions[path[t - 1], path[t]] for t in range(1, length))
        scores.append(s)
    return paths, np.array(scores)


@pytest.fixture
def random_crf():
    from model_zoo.layers.crf import CRF

    rng = np.random.default_rng(7)
    k = 3
    crf = CRF(k)
    crf.build((None, None, k))
    crf.set_weights([rng.normal(size=(k, k)), rng.normal(size=k), rng.normal(size=k)])
    return crf, rng


def test_crf_log_partition_and_viterbi_match_brute_force(random_crf):
    crf, rng = random_crf
    transitions, start, end = crf.get_weights()
    lengths = [5, 3, 1, 4]
    potentials = rng.normal(size=(len(lengths), 5, 3)).astype("float32")
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    log_z = np.asarray(crf.log_partition(potentials, mask))
    best = np.asarray(crf.decode(potentials, mask))
    for b, length in enumerate(lengths):
        paths, scores = _brute_force(potentials[b], transitions, start, end, length)
        np.testing.assert_allclose(log_z[b], np.log(np.exp(scores).sum()), rtol=1e-5)
        assert tuple(best[b, :length]) == paths[int(scores.argmax())]


def test_crf_takes_a_batch_of_one_step_sequences(random_crf):
    # A batch of one-word sentences: no transition to scan over (TensorFlow's scan once failed
    # on it, so `tag("Yes")` raised), in eager calls and in the compiled verb alike.
    import keras

    from model_zoo.models.step_functions import inference_function

    crf, rng = random_crf
    transitions, start, end = crf.get_weights()
    potentials = rng.normal(size=(2, 1, 3)).astype("float32")
    log_z = np.asarray(crf.log_partition(potentials))
    best = np.asarray(crf.decode(potentials))
    for b in range(2):
        paths, scores = _brute_force(potentials[b], transitions, start, end, 1)
        np.testing.assert_allclose(log_z[b], np.log(np.exp(scores).sum()), rtol=1e-5)
        assert best.shape == (2, 1) and tuple(best[b]) == paths[int(scores.argmax())]
    inputs = keras.Input((None, 3))
    forward = inference_function(keras.Model(inputs, crf(inputs)))
    np.testing.assert_array_equal(np.asarray(forward(potentials)), best)


def test_crf_likelihood_is_a_distribution(random_crf):
    crf, rng = random_crf
    potentials = rng.normal(size=(1, 3, 3)).astype("float32")
    paths = np.array(list(itertools.product(range(3), repeat=3)), "int32")
    nll = np.asarray(crf([np.repeat(potentials, len(paths), 0), paths]))
    assert np.all(nll > 0)
    np.testing.assert_allclose(np.exp(-nll).sum(), 1.0, rtol=1e-5)


def test_crf_sequence_score_ignores_padding(random_crf):
    crf, rng = random_crf
    transitions, start, end = crf.get_weights()
    potentials = rng.normal(size=(2, 4, 3)).astype("float32")
    tags = np.array([[0, 2, 1, 1], [2, 2, 0, 0]], "int32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    got = np.asarray(crf.sequence_score(potentials, tags, mask))
    for b, length in enumerate([3, 4]):
        paths, scores = _brute_force(potentials[b], transitions, start, end, length)
        assert got[b] == pytest.approx(scores[paths.index(tuple(tags[b, :length]))], rel=1e-5)


def test_crf_learns_transitions():
    """Gradients reach the transition weights: a CRF alone learns that tag 1 follows tag 0."""
    import keras

    from model_zoo.layers.crf import CRF
    from model_zoo.models.tagging import TokenMeanLoss

    keras.utils.set_random_seed(0)
    potentials = keras.Input((None, 2))
    tags = keras.Input((None,), dtype="int32")
    crf = CRF(2)
    model = keras.Model([potentials, tags], crf([potentials, tags]))
    model.compile(keras.optimizers.Adam(0.1), TokenMeanLoss())
    x = np.zeros((8, 4, 2), "float32")  # No evidence from the emissions: only transitions.
    y = np.tile(np.array([[0, 1, 0, 1]], "int32"), (8, 1))
    model.fit([x, y], np.full((8,), 4.0), epochs=30, verbose=0)
    assert crf.decode(x[:1]).numpy().tolist() in ([[0, 1, 0, 1]], [[1, 0, 1, 0]])
    transitions = crf.get_weights()[0]
    assert transitions[0, 1] > transitions[0, 0] and transitions[1, 0] > transitions[1, 1]


# -- CoNLL files ---------------------------------------------------------------------------------


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_read_conll_bio_multicolumn_and_docstart(tmp_path):
    path = _write(tmp_path / "a.conll",
                  "-DOCSTART- -X- O O\n\nEU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\n"
                  "\nPeter NNP B-PER\nBlackburn NNP I-PER\n")
    sentences, scheme = read_conll(path)
    assert scheme == "BIO"
    assert [s.tokens for s in sentences] == [["EU", "rejects", "German"],
                                             ["Peter", "Blackburn"]]
    assert sentences[1].tags == ["B-PER", "I-PER"] and sentences[1].line == 7


def test_conll_round_trip_and_bioes(tmp_path):
    tokens = [["John", "Smith", "lives", "in", "Paris"], ["Hi"]]
    bio = [["B-PER", "I-PER", "O", "O", "B-LOC"], ["O"]]
    bioes = [bio_to_bioes(t) for t in bio]
    assert bioes[0] == ["B-PER", "E-PER", "O", "O", "S-LOC"]
    assert [bioes_to_bio(t) for t in bioes] == bio
    path = write_conll(tmp_path / "out.conll", tokens, bioes)
    sentences, scheme = read_conll(path)
    assert scheme == "BIOES"
    assert [s.tags for s in sentences] == bioes
    pos, scheme = read_conll(write_conll(tmp_path / "pos.conll", [["a", "b"]], [["DT", "NN"]]))
    assert scheme == "tags" and pos[0].tags == ["DT", "NN"]


@pytest.mark.parametrize("text, line, words", [
    ("a DT\nb NN extra\n", 2, "3 column(s)"),
    ("a\tDT\nb\t\n", 2, "an empty tag"),
    ("a\tB-PER\nb\tNN\n", 2, "mixed tag schemes"),
    ("a B-PER\nb I-PER\n\nc S-LOC\n", 2, "mixed BIO/BIOES"),
    ("a S-PER\nb I-PER\n", 2, "mixed BIO/BIOES"),
    ("a\n", 1, "1 column"),
])
def test_malformed_conll_lines_name_the_line(tmp_path, text, line, words):
    path = _write(tmp_path / "bad.conll", text)
    with pytest.raises(InputError) as info:
        read_conll(path)
    message = str(info.value)
    assert f"line {line}:" in message and words in message and "Received:" in message


def test_missing_conll_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="No CoNLL file"):
        read_conll(tmp_path / "nope.conll")


# -- Brown tags, tokenization, metrics -------------------------------------------------------------


def test_brown_tag_mappings():
    assert simplify_brown("nn-tl-hl") == "NN"
    assert [brown_to_universal(t) for t in
            ["at", "np-tl", "ppss+md", "do*", "*", "fw-nn", "``", "cs", "pp$", "np$", "--",
             "to", "rp", "od", "uh", "cd-hl"]] == \
        ["DET", "NOUN", "PRON", "VERB", "ADV", "X", ".", "ADP", "PRON", "NOUN", ".",
         "PRT", "PRT", "ADJ", "X", "NUM"]
    assert brown_name_spans(["at", "np-tl", "nn-tl", "vbd", "np", "np$", "in", "np"]) == \
        ["O", "B-TITLE", "I-TITLE", "O", "B-NAME", "I-NAME", "O", "B-NAME"]


def test_tokenize_brown_style():
    assert tokenize('He said, "Don\'t pay Mr. Smith\'s $5.50 fee."') == \
        ["He", "said", ",", "``", "Don't", "pay", "Mr.", "Smith's", "$5.50", "fee", ".", "''"]
    with pytest.raises(InputError, match="Received"):
        tokenize(3)


def test_tagging_metrics_unseen_and_entities():
    from model_zoo.metrics.tagging import tagging_metrics

    tokens = [["Ann", "met", "Bob", "Lee"]]
    gold = [["B-PER", "O", "B-PER", "I-PER"]]
    pred = [["B-PER", "O", "B-PER", "O"]]  # Bob Lee: wrong boundary, no credit.
    m = tagging_metrics(tokens, gold, pred, scheme="BIO", seen=lambda t: t != "Lee")
    assert m["accuracy"] == 0.75 and m["unseen_tokens"] == 1 and m["unseen_accuracy"] == 0.0
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    with pytest.raises(InputError, match="Received"):
        tagging_metrics(tokens, gold, [["O"]])


def test_vocabulary_encodes_words_chars_and_tags():
    vocab = TagVocabulary.build([(["The", "the", "dog"], ["D", "D", "N"])], min_count=2,
                                min_char_count=1, max_word_chars=6)
    assert vocab.words == ["the"] and vocab.encode_words(["THE", "dog"]).tolist() == [2, 1]
    chars = vocab.encode_chars(["dog", "elephant"])
    assert chars.shape == (2, 6) and chars[0, 0] == 2 and chars[0, 4] == 3
    with pytest.raises(InputError, match="not in this model's tag set"):
        vocab.encode_tags(["N", "V"])


# -- a tiny tagger, the task and fine-tuning ---------------------------------------------------------

SENTENCES = [
    (["The", "dog", "runs", "."], ["DET", "NOUN", "VERB", "."]),
    (["A", "cat", "sleeps", "."], ["DET", "NOUN", "VERB", "."]),
    (["The", "cat", "sees", "a", "dog", "."], ["DET", "NOUN", "VERB", "DET", "NOUN", "."]),
    (["Dogs", "run", "."], ["NOUN", "VERB", "."]),
] * 4

NER = [
    (["John", "Smith", "visited", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
    (["Mary", "lives", "in", "London", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
    (["Paris", "is", "far", "from", "London", "."], ["B-LOC", "O", "O", "O", "B-LOC", "O"]),
    (["Ann", "Lee", "met", "John", "."], ["B-PER", "I-PER", "O", "B-PER", "O"]),
] * 3


@pytest.fixture(scope="module")
def tiny_tagger_dir(tmp_path_factory):
    """A tiny POS tagger trained for a few steps and saved with the real checkpoint code."""
    import keras

    from model_zoo.data.tagging import TaggingBatches, encode_sentences
    from model_zoo.models.tagging import TokenMeanLoss, build_bilstm_tagger, training_model
    from model_zoo.registry import CheckpointMetadata
    from model_zoo.tasks.tagging import SequenceTagger

    keras.utils.set_random_seed(0)
    vocab = TagVocabulary.build(SENTENCES, min_count=1, min_char_count=1, max_word_chars=8)
    model = build_bilstm_tagger(vocab.num_words, vocab.num_chars, len(vocab.tags),
                                max_word_chars=8, word_dim=8, char_dim=4, char_filters=6,
                                units=8, depth=1, dropout=0.0)
    trainer = training_model(model)
    trainer.compile(keras.optimizers.Adam(0.02), TokenMeanLoss())
    batches = TaggingBatches(encode_sentences(vocab, SENTENCES), 8, 8, shuffle=True)
    trainer.fit(batches.dataset(), epochs=15, verbose=0)
    task = SequenceTagger(model, {"vocabulary": vocab.to_dict(), "scheme": "tags"},
                          words=vocab.words)
    directory = str(tmp_path_factory.mktemp("tagger") / "tagging_bilstm_tiny")
    task.save(directory, CheckpointMetadata(name="tagging_bilstm_tiny", version=1,
                                            task="tagging", architecture="bilstm_crf_tagger",
                                            description="tiny test tagger", recipe="tagging"))
    return directory


def test_tagger_loads_safely_and_tags_raw_text_and_tokens(tiny_tagger_dir):
    import model_zoo
    from model_zoo.layers import cudnn_report

    tagger = model_zoo.load(tiny_tagger_dir)
    assert tagger.tag("The dog runs.") == [("The", "DET"), ("dog", "NOUN"), ("runs", "VERB"),
                                           (".", ".")]
    batch = tagger.tag([["A", "cat", "sleeps", "."], ["Dogs"]])
    assert [len(s) for s in batch] == [4, 1] and batch[0][1] == ("cat", "NOUN")
    output, shape = tagger.predict_example()
    assert np.shape(output) == tuple(shape)
    assert all(v.eligible("tensorflow") for v in cudnn_report(tagger.model))
    metrics = tagger.evaluate(SENTENCES)
    assert metrics["accuracy"] == 1.0 and metrics["oov_tokens"] == 0


@pytest.mark.parametrize("bad", [3, [], [["two words"]], [["ok", ""]], [None]])
def test_tag_rejects_bad_input(tiny_tagger_dir, bad):
    import model_zoo

    with pytest.raises(InputError, match="Received"):
        model_zoo.load(tiny_tagger_dir).tag(bad)


def test_finetune_new_tag_set_reuses_encoder(tiny_tagger_dir, tmp_path):
    import model_zoo

    tagger = model_zoo.load(tiny_tagger_dir)
    train = write_conll(tmp_path / "ner.conll", [t for t, _ in NER], [g for _, g in NER])
    out = str(tmp_path / "ner_model")
    tuned = model_zoo.finetune(tagger, train, out=out, epochs=4, batch_size=4,
                               strategy="gradual_unfreezing")
    m = tuned.finetune_metrics
    assert m["new_head"] and m["tags"] == ["B-LOC", "B-PER", "I-PER", "O"]
    assert {"precision", "recall", "f1"} <= set(m["val_after"])
    old, new = tagger.model, tuned.model
    # The default strategy freezes the embeddings, trains the BiLSTM layers and a new head.
    for frozen in ("word_embedding", "char_embedding", "char_conv"):
        np.testing.assert_array_equal(old.get_layer(frozen).get_weights()[0],
                                      new.get_layer(frozen).get_weights()[0])
    assert not np.allclose(old.get_layer("encoder_bilstm_0").get_weights()[0],
                           new.get_layer("encoder_bilstm_0").get_weights()[0])
    assert new.get_layer("emissions").get_weights()[0].shape[-1] == 4
    reloaded = model_zoo.load(out)
    assert reloaded.tags == m["tags"] and reloaded.scheme == "BIO"
    assert {tag for _, tag in reloaded.tag("John visited London.")} <= set(m["tags"])
    assert model_zoo.load(tiny_tagger_dir).tags == tagger.tags  # The parent is unchanged.


def test_finetune_auto_keeps_the_best_candidate_on_validation(tiny_tagger_dir):
    import model_zoo

    tuned = model_zoo.load(tiny_tagger_dir).finetune(list(NER), epochs=2, batch_size=4,
                                                     test_fraction=0)
    m = tuned.finetune_metrics
    record = m["strategy"]
    assert list(record["candidates"]) == ["gradual_unfreezing", "full", "random"]
    assert record["metric"] == "accuracy" and record["higher_is_better"] is True
    best = max(record["candidates"].values())
    assert record["chosen"] == next(k for k, v in record["candidates"].items() if v == best)
    assert record["candidates"][record["chosen"]] == m["val_after"]["accuracy"]
    assert "validation sentences" in record["on"]


def test_finetune_and_predict_from_the_cli(tiny_tagger_dir, tmp_path, capsys):
    from model_zoo.cli import main

    bioes = [bio_to_bioes(g) for _, g in NER]
    train = write_conll(tmp_path / "train.conll", [t for t, _ in NER], bioes)
    out = str(tmp_path / "cli_model")
    assert main(["finetune", tiny_tagger_dir, "--conll", train, "--out", out,
                 "--epochs", "3", "--strategy", "full"]) == 0
    assert "fine-tuned checkpoint" in capsys.readouterr().out
    assert main(["predict", out, "--text", "Mary met John."]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [pair[0] for pair in result["tagged"][0]] == ["Mary", "met", "John", "."]
    predicted = str(tmp_path / "pred.conll")
    assert main(["predict", out, "--conll", train, "--output", predicted]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"accuracy", "f1"} <= set(result["metrics"]) and result["sentences"] == len(NER)
    # Gold and predicted columns; predictions need not be well-formed BIOES.
    sentences, scheme = read_conll(predicted, strict=False)
    assert len(sentences) == len(NER) and scheme in ("BIO", "BIOES", "tags")
    with open(predicted, encoding="utf-8") as f:
        assert {len(line.split("\t")) for line in f if line.strip()} == {3}
    bad = _write(tmp_path / "bad.conll", "John B-PER\nSmith\n")
    assert main(["finetune", tiny_tagger_dir, "--conll", bad, "--out",
                 str(tmp_path / "x")]) == 2
    assert "line 2:" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x")
    assert main(["predict", out]) == 2


# -- the comparison every fine-tune reports (issue 18, item 1) -------------------------------------

POS_TEST = [
    (["The", "bird", "sleeps", "."], ["DET", "NOUN", "VERB", "."]),
    (["A", "dog", "sees", "the", "cat", "."], ["DET", "NOUN", "VERB", "DET", "NOUN", "."]),
    (["Cats", "run", "."], ["NOUN", "VERB", "."]),
]


def _saved_finetune_metrics(directory):
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]["finetune"]


def _without_nan(metrics):
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and np.isnan(v))}


def test_finetune_compares_with_the_most_frequent_tag(tiny_tagger_dir, tmp_path):
    import model_zoo
    from model_zoo.metrics.tagging import tagging_metrics
    from model_zoo.models.tagging import baselines

    out = str(tmp_path / "pos_model")
    tuned = model_zoo.finetune(tiny_tagger_dir, SENTENCES, out=out, epochs=1, batch_size=8,
                               strategy="full", test=POS_TEST)
    m = tuned.finetune_metrics
    c = m["comparison"]
    assert c["metric"] == "accuracy" and c["higher_is_better"] is True
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline"} and not c["skipped"]
    # The given test data is all held out; every sentence of `data` is trained or validated on.
    assert c["split"] == {"rule": "the given test data", "train": 14, "validation": 2,
                          "test": 3, "unit": "sentences"}
    assert m["train_sentences"] + m["val_sentences"] == len(SENTENCES)
    seen = {t.lower() for tokens, _ in SENTENCES for t in tokens}
    assert c["rows"]["fine-tuned"] == _without_nan(tuned.evaluate(POS_TEST, seen_words=seen))
    parent = model_zoo.load(tiny_tagger_dir)
    assert c["rows"]["zero-shot"] == _without_nan(parent.evaluate(POS_TEST, seen_words=seen))
    # The baseline is the baselines module's tagger, counted on all of `data`.
    tag = baselines.most_frequent_tag(SENTENCES)
    tokens = [t for t, _ in POS_TEST]
    expected = tagging_metrics(tokens, [g for _, g in POS_TEST], [tag(t) for t in tokens],
                               seen=lambda t: t.lower() in seen)
    assert c["rows"]["baseline"] == _without_nan(expected)
    assert c["rows"]["baseline"]["unseen_tokens"] == 2  # "bird" and "cats"
    assert tag(["bird"]) == ["NOUN"]  # no word seen once: the most frequent tag of all
    assert c["models"]["baseline"] == baselines.DESCRIPTION
    # Stored in the checkpoint's metadata and its model card.
    assert _saved_finetune_metrics(out)["comparison"] == c
    with open(os.path.join(out, "README.md"), encoding="utf-8") as f:
        card = f.read()
    assert "fine-tuned, zero-shot and classical baseline" in card and c["verdict"] in card


def test_finetune_holds_out_a_fifth_of_the_sentences(tiny_tagger_dir):
    import model_zoo
    from model_zoo.models.tagging import baselines
    from model_zoo.tasks.tagging import holdout_sentences

    # Each sentence has a word of its own, so held-out words are unseen by construction.
    data = [(tokens + [f"n{k}"], tags + ["O"]) for k, (tokens, tags) in enumerate(NER)]
    tagger = model_zoo.load(tiny_tagger_dir)
    tuned = tagger.finetune(data, epochs=1, batch_size=4, strategy="full")
    m, c = tuned.finetune_metrics, tuned.finetune_metrics["comparison"]
    assert c["split"] == {"rule": "20% of the sentences, drawn at random (seed 0)",
                          "train": 9, "validation": 1, "test": 2, "unit": "sentences"}
    assert m["train_sentences"] + m["val_sentences"] + c["split"]["test"] == len(data)
    keep, held = holdout_sentences(len(data), 0.2, 0)
    assert held == holdout_sentences(len(data), 0.2, 0)[1] and not set(keep) & set(held)
    test = [data[i] for i in held]
    train = [data[i] for i in keep]
    # The held-out sentences are in no part the fine-tune saw: their own words are unseen.
    assert c["rows"]["baseline"]["tokens"] == sum(len(t) for t, _ in test)
    assert c["rows"]["baseline"]["unseen_tokens"] >= len(test)
    tag = baselines.most_frequent_tag(train)
    predicted = [tag(t) for t, _ in test]
    right = [p == g for (_, gold), pred in zip(test, predicted) for p, g in zip(pred, gold)]
    assert c["rows"]["baseline"]["accuracy"] == pytest.approx(np.mean(right))
    assert {"precision", "recall", "f1"} <= set(c["rows"]["baseline"])  # BIO: entities too
    # A new tag set: the model before fine-tuning cannot say these tags.
    assert set(c["rows"]) == {"fine-tuned", "baseline"}
    assert "are not the fine-tuned ['B-LOC', 'B-PER', 'I-PER', 'O']" in c["skipped"]["zero-shot"]
    assert "comparison" not in tagger.finetune(data, epochs=1, batch_size=4, strategy="full",
                                               test_fraction=0).finetune_metrics


def test_test_tags_the_training_data_lacks_count_as_errors(tiny_tagger_dir):
    import model_zoo
    from model_zoo.models.tagging import baselines

    # 200 sentences of a large tag set always leave some test tag unseen: "B-GPE" here.
    test = [(["Paris", "is", "in", "France", "."], ["B-LOC", "O", "O", "B-GPE", "O"]),
            (["John", "visited", "London", "."], ["B-PER", "O", "B-LOC", "O"])]
    tagger = model_zoo.load(tiny_tagger_dir)
    with pytest.warns(UserWarning, match=r"1 of 9 test tokens have tags the training data "
                                         r"lacks \(\['B-GPE'\]\): they count as errors"):
        tuned = tagger.finetune(NER, epochs=1, batch_size=4, strategy="full", test=test)
    c = tuned.finetune_metrics["comparison"]
    assert set(c["rows"]) == {"fine-tuned", "baseline"}
    for values in c["rows"].values():
        assert values["unseen_tag_tokens"] == 1 and values["tokens"] == 9
    # Every model is scored on every token; none can say "B-GPE", so it is an error.
    predicted = tuned.predict_tags([t for t, _ in test])
    assert "B-GPE" not in {p for tags in predicted for p in tags}
    right = [p == g for (_, gold), pred in zip(test, predicted) for p, g in zip(pred, gold)]
    assert c["rows"]["fine-tuned"]["accuracy"] == pytest.approx(np.mean(right))
    assert c["rows"]["fine-tuned"]["accuracy"] <= 8 / 9
    tag = baselines.most_frequent_tag(NER)  # so does the baseline: "France" is not B-GPE
    expected = [p == g for (tokens, gold) in test for p, g in zip(tag(tokens), gold)]
    assert c["rows"]["baseline"]["accuracy"] == pytest.approx(np.mean(expected)) == 8 / 9
    assert {"precision", "recall", "f1"} <= set(c["rows"]["baseline"])  # the entity scores too
    assert "unseen_tag_tokens" in comparison_table_columns(c)


def comparison_table_columns(record):
    from model_zoo.comparison import table_lines

    return table_lines(record)[0].split()


@pytest.mark.parametrize("kwargs, message", [
    ({"test_fraction": 1.5}, "`test_fraction` must be a number >= 0 and < 1"),
    ({"test_fraction": -0.1}, "`test_fraction` must be a number >= 0 and < 1"),
    ({"test": [(["Paris", "Inc"], ["B-GPE", "B-ORG"])]},
     r"shares no tag with the training data \(another tag set\?\).* Received: test tags "
     r"\['B-GPE', 'B-ORG'\], training tags \['B-LOC', 'B-PER', 'I-PER', 'O'\]"),
    ({"test": [(["a", "dog"], ["DET", "NOUN"])]}, "uses BIO tags and the test data plain tags"),
    ({"test": [(["Paris"], [])]}, "Sentence 0 has 1 tokens and 0 tags"),
])
def test_finetune_rejects_bad_test_settings(tiny_tagger_dir, kwargs, message):
    import model_zoo

    with pytest.raises(InputError, match=message):
        model_zoo.load(tiny_tagger_dir).finetune(NER, epochs=1, **kwargs)


def test_finetune_needs_sentences_left_after_the_hold_out(tiny_tagger_dir):
    import model_zoo

    tagger = model_zoo.load(tiny_tagger_dir)
    with pytest.raises(InputError, match="Too few sentences.*test_fraction=0. Received: 2"):
        tagger.finetune(NER[:2], epochs=1)


def test_cli_finetune_with_a_test_file_prints_the_comparison(tiny_tagger_dir, tmp_path, capsys):
    from model_zoo.cli import main

    train = write_conll(tmp_path / "train.conll", [t for t, _ in SENTENCES],
                        [g for _, g in SENTENCES])
    test = write_conll(tmp_path / "test.conll", [t for t, _ in POS_TEST],
                       [g for _, g in POS_TEST])
    out = str(tmp_path / "cli_pos")
    assert main(["finetune", tiny_tagger_dir, "--conll", train, "--test-conll", test,
                 "--out", out, "--epochs", "1", "--strategy", "full"]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert [lines[header + k].split()[0] for k in (1, 2, 3)] == ["fine-tuned", "zero-shot",
                                                                  "baseline"]
    assert "Held out: the given test data (train 14, validation 2, test 3); accuracy " \
        "decides, higher is better." in printed
    assert _saved_finetune_metrics(out)["comparison"]["split"]["test"] == 3
    assert main(["finetune", tiny_tagger_dir, "--conll", train, "--test-fraction", "1.5",
                 "--out", str(tmp_path / "x")]) == 2
    assert "test_fraction" in capsys.readouterr().err and not os.path.exists(tmp_path / "x")


@pytest.mark.large
def test_checkpoint_loads_and_tags_under_jax(tiny_tagger_dir):
    pytest.importorskip("jax")
    code = ("import model_zoo; t = model_zoo.load(%r); "
            "print([tag for _, tag in t.tag('The dog runs.')])" % tiny_tagger_dir)
    env = {**os.environ, "KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "['DET', 'NOUN', 'VERB', '.']"


# -- the recipe ------------------------------------------------------------------------------------


def test_recipe_trains_ner_on_user_conll_files(tmp_path):
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import train

    recipe = get_recipe("tagging")
    train_file = write_conll(tmp_path / "my_ner.conll", [t for t, _ in NER],
                             [g for _, g in NER])
    overrides = {**recipe.smoke, "dataset": "conll", "train_file": train_file,
                 "test_file": train_file, "min_count": 1}
    result = train("tagging", overrides, registry_dir=str(tmp_path / "registry"),
                   publish_to_registry=True, verbose=0)
    assert result.published.endswith("tagging_bilstm_my_ner")
    assert {"accuracy", "precision", "recall", "f1"} <= set(result.metrics["test"])
    assert recipe.checkpoint_name(recipe.resolve(overrides)[0]) == "tagging_bilstm_my_ner"


def test_recipe_default_search_space_and_brown_split():
    import keras_tuner

    from model_zoo.data.tagging import brown_corpus, brown_split
    from model_zoo.training.recipe import get_recipe

    recipe = get_recipe("tagging")
    documents = brown_corpus()
    split = brown_split(documents)
    assert sum(len(v) for v in split.values()) == 500
    assert not set(split["train"]) & set(split["test"])
    genres = {d.fileid: d.category for d in documents}
    assert {genres[f] for f in split["test"]} == set(genres.values())
    config, _ = recipe.resolve({**recipe.smoke})
    hp = keras_tuner.HyperParameters()
    model = recipe.build_model(hp, config)
    assert hp.get("crf") is True and hp.get("depth") == 2 and hp.get("units") == 64
    assert model.output_shape == (None, None)
    with pytest.raises(InputError, match="Received"):
        recipe.resolve({"no_such_setting": 1})


def test_the_baseline_guesses_unknown_words_by_shape_and_suffix():
    """Unknown words take the tag of rare training words with their shape and longest shared
    suffix (up to three letters), then their shape alone ("x": the lowercase rare words, two
    verbs first), then any rare word."""
    from model_zoo.models.tagging.baselines import most_frequent_tag, word_shape

    train = [(["The", "dogs", "walked", "quickly", "in", "1999"],
              ["DET", "NOUN", "VERB", "ADV", "ADP", "NUM"]),
             (["The", "Paris", "talked", "slowly", "in", "well-known"],
              ["DET", "PROPN", "VERB", "ADV", "ADP", "ADJ"])]
    tag = most_frequent_tag(train)
    assert tag(["The", "cats", "jumped", "happily", "in", "2024", "London", "self-made",
                "x"]) == ["DET", "NOUN", "VERB", "ADV", "ADP", "NUM", "PROPN", "ADJ", "VERB"]
    assert [word_shape(w) for w in ("A4", "x-y", "Bob", "bob")] == [
        "digit", "hyphen", "capital", "lower"]
    # Every word seen twice: the words of every count stand in for rare ones.
    assert most_frequent_tag([(["a", "b"], ["X", "Y"])] * 2)(["c"]) in (["X"], ["Y"])
