"""Text: tokenizers, splits, user files, the classifier and language-model tasks, ULMFiT, CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from model_zoo.errors import InputError

CORPUS = [
    "A wonderful film, moving and funny.<br />Loved it.",
    "Dull, slow and far too long.",
    "The acting was superb and the story touching.",
    "Terrible script; the worst film of the year.",
    "Café scenes were ﬁne, the music delightful.",
    "Boring, predictable, a waste of time.",
] * 4


@pytest.fixture(scope="module")
def wordpiece():
    from model_zoo.models.text import WordPieceTokenizer

    return WordPieceTokenizer.learn(CORPUS, vocabulary_size=120, strip_html=True)


@pytest.fixture(scope="module")
def chars():
    from model_zoo.models.text import CharacterTokenizer

    return CharacterTokenizer.learn(["To be, or not to be: that is the question.\nWhither?"])


# -- tokenizers -------------------------------------------------------------------------------


def test_wordpiece_learned_normalised_and_right_padded(wordpiece):
    vocab = wordpiece.vocabulary
    assert vocab[:4] == ["[PAD]", "[UNK]", "[START]", "[END]"]
    assert any(t.startswith("##") for t in vocab)
    # NFKC folds the "ﬁ" ligature, lower-casing and accent stripping fold "Café".
    a, b = wordpiece(["FINE cafe", "ﬁne Café"])
    assert a.tolist() == b.tolist()
    ids = wordpiece(["film", "a wonderful film, moving"])
    n = int((ids[0] != 0).sum())
    assert 0 < n < ids.shape[1] and (ids[0, n:] == 0).all()  # padding on the right
    assert (ids[1] != 0).all()
    # HTML tags are removed before splitting, unknown words map to [UNK].
    assert wordpiece.detokenize(wordpiece(["loved<br />it"])[0]) == "loved it"
    assert wordpiece.unknown_id in wordpiece(["zzqx"])[0]


def test_truncation_modes(wordpiece):
    text = ["a b c d e f g h"]
    full = wordpiece(text)[0]
    assert wordpiece(text, max_length=4)[0].tolist() == full[:4].tolist()
    assert wordpiece(text, max_length=4, truncation="tail")[0].tolist() == full[-4:].tolist()
    head_tail = wordpiece(text, max_length=4, truncation="head_tail")[0].tolist()
    assert head_tail == [full[0]] + full[-3:].tolist()
    with pytest.raises(InputError, match="truncation"):
        wordpiece(text, max_length=4, truncation="middle")


def test_tokenizers_round_trip_through_config(wordpiece, chars):
    from model_zoo.models.text import tokenizer_from_config

    assets = wordpiece.assets()
    again = tokenizer_from_config(json.loads(json.dumps(wordpiece.get_config())),
                                  lambda rel: assets[rel])
    assert again.vocabulary == wordpiece.vocabulary
    assert (again(CORPUS[:3]) == wordpiece(CORPUS[:3])).all()
    again = tokenizer_from_config(json.loads(json.dumps(chars.get_config())))
    ids = again(["to be\nX"])[0]
    assert chars.detokenize(ids) == "to be\n"  # "X" was never seen: unknown, dropped on output
    assert ids[-1] == chars.unknown_id


# -- data -------------------------------------------------------------------------------------------


def test_stratified_split_is_fixed_stratified_and_checked(tmp_path):
    from model_zoo.data.text import Corpus, load_split, stratified_split, write_split

    ids = list(range(100))
    labels = [i % 2 for i in ids]
    parts = stratified_split(ids, labels, {"train": 0.7, "validation": 0.1, "test": 0.2})
    assert parts == stratified_split(ids, labels, {"train": 0.7, "validation": 0.1, "test": 0.2})
    assert sorted(sum(parts.values(), [])) == ids
    assert [sum(labels[i] for i in parts[p]) for p in ("train", "validation", "test")] == [
        35, 5, 10]
    corpus = Corpus("toy", ids, ["x"] * 100, labels, source_sha256="abc")
    path = str(tmp_path / "split.json")
    record = write_split(path, corpus, parts, "test rule")
    assert load_split(path, corpus)["ids_sha256"] == record["ids_sha256"]
    record["ids"]["test"][0], record["ids"]["train"][0] = (record["ids"]["train"][0],
                                                           record["ids"]["test"][0])
    with open(path, "w") as f:
        json.dump(record, f)
    with pytest.raises(InputError, match="does not match its recorded sha256"):
        load_split(path, corpus)


def _write(path, content, encoding="utf-8"):
    with open(path, "wb") as f:
        f.write(content.encode(encoding) if isinstance(content, str) else content)
    return str(path)


def test_labelled_csv_errors(tmp_path):
    from model_zoo.data.text import read_labelled_csv

    good = _write(tmp_path / "good.csv", "review,stars\n\"Great, really\",5\nBad,1\nOk,3\n")
    texts, labels = read_labelled_csv(good, "review", "stars")
    assert texts == ["Great, really", "Bad", "Ok"] and labels == ["5", "1", "3"]
    cases = {
        "not UTF-8": _write(tmp_path / "latin.csv", "review,stars\nCafé olé,5\nBad,1\n",
                            "latin-1"),
        "no column 'stars'": _write(tmp_path / "cols.csv", "review,score\nGood,5\nBad,1\n"),
        "empty text or label": _write(tmp_path / "empty.csv", "review,stars\nGood,5\n,1\nOk,\n"),
        "at least two classes": _write(tmp_path / "one.csv", "review,stars\nGood,5\nFine,5\n"),
    }
    for message, path in cases.items():
        with pytest.raises(InputError, match=message) as e:
            read_labelled_csv(path, "review", "stars")
        assert "Received:" in str(e.value)
    with pytest.raises(InputError, match="does not exist"):
        read_labelled_csv(str(tmp_path / "missing.csv"), "review", "stars")


def recipe_module(name):
    """The module of a recipe of this checkout (`model_zoo_recipes` points at its recipes/)."""
    import importlib

    from model_zoo.training.recipe import get_recipe

    get_recipe(name)
    return importlib.import_module(f"model_zoo_recipes.{name}")


def test_shakespeare_is_split_by_play():
    shakespeare_split = recipe_module("language_model").shakespeare_split

    works = {f"play_{k}": "x" * 100 for k in range(40)}
    works["sonnets"] = "y" * 100
    parts = shakespeare_split(works)
    assert "sonnets" in parts["train"]
    assert not set(parts["test"]) & set(parts["train"])
    assert not set(parts["validation"]) & (set(parts["train"]) | set(parts["test"]))
    assert sorted(sum(parts.values(), [])) == sorted(works)
    assert 3 <= len(parts["test"]) <= 5 and 1 <= len(parts["validation"]) <= 3


def test_gutenberg_header_is_stripped():
    from model_zoo.data.text import strip_gutenberg

    text = ("The Project Gutenberg EBook of Hamlet\nblah\n*** START OF THIS PROJECT GUTENBERG "
            "EBOOK HAMLET ***\nACT I.\nWho's there?\n*** END OF THIS PROJECT GUTENBERG EBOOK "
            "HAMLET ***\nlicense")
    assert strip_gutenberg(text) == "ACT I.\nWho's there?\n"


# -- the classifier task ------------------------------------------------------------------------


def _save(task, tmp_path_factory, name, architecture, recipe):
    """Saves a tiny untrained task with the real checkpoint code; returns its folder."""
    from model_zoo.registry import CheckpointMetadata

    directory = str(tmp_path_factory.mktemp("ckpt") / name)
    task.save(directory, CheckpointMetadata(name=name, version=1, task=task.task_name,
                                            architecture=architecture, description="tiny",
                                            recipe=recipe))
    return directory


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory, wordpiece):
    import keras

    from model_zoo.models.text import build_text_classifier
    from model_zoo.tasks.text_classification import TextClassifier

    keras.utils.set_random_seed(0)
    model = build_text_classifier(wordpiece.vocabulary_size, 2, embedding_dim=8, units=8)
    task = TextClassifier(model, {"tokenizer": wordpiece.get_config(),
                                  "labels": ["negative", "positive"], "max_length": 32,
                                  "truncation": "head_tail"}, tokenizer=wordpiece)
    return _save(task, tmp_path_factory, "sentiment_bigru_tiny", "bigru_classifier",
                 "sentiment")


def test_classifier_loads_and_takes_raw_strings(classifier_dir):
    import model_zoo
    from model_zoo.layers import cudnn_report

    classifier = model_zoo.load(classifier_dir)
    assert os.path.isfile(os.path.join(classifier_dir, "assets", "vocab.txt"))
    out = classifier.predict(["A wonderful film!", "Fine.", "Dull " * 200])
    assert [set(p["probabilities"]) for p in out] == [{"negative", "positive"}] * 3
    for p in out:
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-5
        assert p["label"] == max(p["probabilities"], key=p["probabilities"].get)
    probabilities, shape = classifier.predict_example()
    assert probabilities.shape == shape
    # Batching by length must not change the answer.
    single = classifier.predict_proba(["Dull " * 200])
    assert np.allclose(single, classifier.predict_proba(["x", "Dull " * 200, "y"])[1], atol=1e-5)
    report = cudnn_report(classifier.model)
    assert report and all(v.eligible("tensorflow") for v in report)
    with pytest.raises(InputError, match="list of strings"):
        classifier.predict("one string")
    with pytest.raises(InputError, match="not UTF-8"):
        classifier.predict([b"\xff\xfe bad"])


def test_classify_gives_labels_and_evaluate_names_each_class(classifier_dir):
    import model_zoo

    classifier = model_zoo.load(classifier_dir)
    texts = ["A wonderful film!", "Fine.", "Dull and long."]
    expected = [p["label"] for p in classifier.predict(texts)]
    assert classifier.classify(texts) == expected  # strings, as SeriesClassifier.classify
    assert classifier.classify(texts[0]) == expected[0]
    np.testing.assert_allclose(classifier.predict_proba(texts[1]),
                               classifier.predict_proba(texts)[1], atol=1e-6)

    labels = ["positive", "negative", "negative"]
    metrics = classifier.evaluate(texts, labels)
    predicted = np.array(expected)
    per_class = {}
    for name in ("negative", "positive"):
        tp = np.sum((predicted == name) & (np.array(labels) == name))
        support = np.sum(np.array(labels) == name) + np.sum(predicted == name)
        per_class[name] = 2 * tp / support if support else 0.0
    assert metrics["f1_per_class"] == pytest.approx(per_class)
    assert metrics["macro_f1"] == pytest.approx(np.mean(list(per_class.values())))
    assert metrics["f1_label"] == "positive" and metrics["f1"] == pytest.approx(
        per_class["positive"])


def test_finetune_new_labels_gets_new_head(classifier_dir):
    import model_zoo

    texts = [t for t in CORPUS]
    labels = ["good", "bad", "good", "bad", "meh", "bad"] * 4
    tuned = model_zoo.finetune(classifier_dir, (texts, labels), epochs=1, batch_size=8,
                               strategy="full")
    assert tuned.labels == ["bad", "good", "meh"]
    assert tuned.model.output_shape == (None, 3)
    assert tuned.finetune_metrics["new_head"] and tuned.finetune_metrics["stages"] == 1
    original = model_zoo.load(classifier_dir)
    assert original.labels == ["negative", "positive"]  # the published model is untouched
    assert len(tuned.predict(["fine"])[0]["probabilities"]) == 3


def test_log_linear_pool_learns_each_models_scale():
    import keras

    from model_zoo.models.blending import LogLinearBlend, fit_log_linear_pool

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    noise = rng.dirichlet(np.ones(3), 300)
    right = np.eye(3)[labels] * 0.6 + 0.4 / 3  # right, but under-confident
    layer, record = fit_log_linear_pool(noise, right, labels, "a good model")
    assert record["classical_exponent"] > 1.0 > abs(record["network_exponent"])
    losses = record["val_log_loss"]
    assert losses["blend"] < min(losses["network"], losses["classical"])
    # The layer computes the pool it was fitted as, and survives its config.
    pooled = keras.ops.convert_to_numpy(layer([noise, right]))
    logits = (layer.network_exponent * np.log(noise) + layer.classical_exponent * np.log(right)
              + np.array(layer.bias))
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(pooled, expected, rtol=1e-4, atol=1e-6)
    clone = LogLinearBlend.from_config(layer.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone([noise, right])), pooled)
    assert layer.name == "classical_blend"
    # Without validation examples: the geometric mean, and the record says so.
    mean, record = fit_log_linear_pool(None, None, [], "none")
    assert (mean.network_exponent, mean.classical_exponent, mean.bias) == (0.5, 0.5, None)
    assert "no validation" in record["rule"]


def assert_features_are_sklearns(ids, layer):
    """The layer's features of id rows are `TfidfVectorizer(ngram_range=(1, 2),
    sublinear_tf=True, min_df=2)`'s of the same rows as token strings: the same n-grams, the
    same idf, and each row the same tf-idf values."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from model_zoo.models.text.ngram_blend import ngram_features

    vectorizer = TfidfVectorizer(analyzer=lambda row: [str(i) for i in row] + [
        f"{a} {b}" for a, b in zip(row, row[1:])], sublinear_tf=True, min_df=2)
    expected = vectorizer.fit_transform([[int(i) for i in row if i > 0] for row in ids])
    size = layer.vocabulary_size
    columns = [int(k) if " " not in k else
               size + (int(k.split()[0]) - 1) * size + int(k.split()[1])
               for k in vectorizer.get_feature_names_out()]
    keys = keras_numpy(layer.keys)
    assert list(keys) == sorted(columns) and len(keys) > 10  # the same n-grams
    order = np.searchsorted(keys, columns) + 1  # each sklearn column's feature index
    idf = keras_numpy(layer.idf)
    assert idf[0] == 0
    np.testing.assert_allclose(idf[order], vectorizer.idf_, rtol=1e-5)
    computed = ngram_features(ids, size, layer.keys, layer.idf)
    features, weights = (keras_numpy(a) for a in computed)
    dense = np.stack([np.bincount(f, w, minlength=len(idf)) for f, w in zip(features, weights)])
    np.testing.assert_allclose(dense[:, order], expected.toarray(), atol=1e-5)
    assert np.abs(dense[:, 1:]).sum() == pytest.approx(abs(expected).sum(), rel=1e-5)


def keras_numpy(x):
    import keras

    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("size", [1, 2, 7, 64, 1000])
def test_lower_bound_is_searchsorted(size):
    from model_zoo.models.text.ngram_blend import lower_bound

    rng = np.random.default_rng(size)
    keys = np.unique(rng.integers(1, 5 * size + 2, size * 2))[:size].astype("int32")
    values = rng.integers(0, keys.max() + 3, (3, 50)).astype("int32")
    np.testing.assert_array_equal(keras_numpy(lower_bound(keys, values)),
                                  np.searchsorted(keys, values, "left"))


def test_ngram_classifier_is_the_fitted_logistic_regression(wordpiece):
    """Fitted on 2 and 3 classes it separates the training texts, its features are
    scikit-learn's sublinear tf-idf of the 1-2 grams, and it survives a .keras round trip."""
    import keras

    from model_zoo.data.text import pad_rows
    from model_zoo.models.text.ngram_blend import fit_ngram_classifier

    ids = pad_rows([wordpiece([t])[0][wordpiece([t])[0] > 0].tolist() for t in CORPUS])
    for labels in ([0, 1] * 12, [0, 1, 2] * 8):
        labels = np.array(labels)
        layer = fit_ngram_classifier(ids, labels, wordpiece.vocabulary_size,
                                     int(labels.max()) + 1)
        probabilities = keras.ops.convert_to_numpy(layer(ids))
        np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
        assert (probabilities.argmax(1) == labels).mean() >= 0.9  # it learned the training set
    assert_features_are_sklearns(ids, layer)
    inputs = keras.Input((None,), dtype="int32")
    model = keras.Model(inputs, layer(inputs))
    path = os.path.join(os.environ["HOME"], "ngram.keras")
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).predict_on_batch(ids),
                               model.predict_on_batch(ids), atol=1e-6)


def test_finetune_pools_the_ngram_model_as_validation_prefers(classifier_dir, tmp_path):
    import model_zoo

    labels = ["pos", "neg"] * 12
    tuned = model_zoo.finetune(classifier_dir, (CORPUS, labels), epochs=1, batch_size=8,
                               strategy="full", val_fraction=0.25, test_fraction=0,
                               out=str(tmp_path / "blend"))
    record = tuned.finetune_metrics["ngram_blend"]
    losses = record["val_log_loss"]
    # The untrained tiny network is near chance, the n-gram model knows these texts: the
    # fitted pool leans on the n-gram model and does better than the network alone.
    assert record["classical_exponent"] > record["network_exponent"]
    assert losses["blend"] < losses["network"]
    assert record["validation_examples"] == 6 and "log-loss" in record["rule"]
    layers = {layer.name for layer in tuned.model.layers}
    assert {"ngram_classifier", "classical_blend", "head"} <= layers
    reloaded = model_zoo.load(str(tmp_path / "blend"))
    np.testing.assert_allclose(reloaded.predict_proba(CORPUS[:4]),
                               tuned.predict_proba(CORPUS[:4]), atol=1e-6)
    # Its float16 TFLite model (constants stored as float16) computes no NaN, also for a text
    # of no known n-gram (the export's example has an empty one).
    card = reloaded.export(tmp_path / "blend16", format="tflite", quantize="float16")
    assert card["check"]["tflite"]["probabilities"]["max_abs_difference"] < 1e-2
    # A fresh process loads it (the blend's layers registered by importing the task), under
    # the TensorFlow and JAX backends, with the same probabilities.
    for backend in ("tensorflow", "jax"):
        script = ("import json, model_zoo\n"
                  f"print(json.dumps(model_zoo.load({str(tmp_path / 'blend')!r})"
                  f".predict_proba({CORPUS[:4]!r}).tolist()))")
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             timeout=300, env={**os.environ, "KERAS_BACKEND": backend})
        assert out.returncode == 0, out.stderr[-2000:]
        np.testing.assert_allclose(json.loads(out.stdout.strip().splitlines()[-1]),
                                   tuned.predict_proba(CORPUS[:4]), atol=1e-5)
    # Fine-tuned again, the blended model gets a new head (the blend is left behind) and a
    # new blend; and ngram_blend=False is the network alone.
    again = reloaded.finetune((CORPUS, ["a", "b", "c"] * 8), epochs=1, strategy="full",
                              test_fraction=0, val_fraction=0.25)
    assert again.model.output_shape == (None, 3)
    alone = model_zoo.load(classifier_dir).finetune(
        (CORPUS, labels), epochs=1, strategy="full", test_fraction=0, ngram_blend=False)
    assert "ngram_blend" not in alone.finetune_metrics
    assert "ngram_classifier" not in {layer.name for layer in alone.model.layers}


def test_cli_predict_and_finetune(classifier_dir, tmp_path, capsys):
    from model_zoo.cli import main

    assert main(["predict", classifier_dir, "--text", "Loved it", "--text", "Hated it"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["predictions"]) == 2 and result["labels"] == ["negative", "positive"]

    rows = "\n".join(f'"{t}",{y}' for t, y in zip(CORPUS, ["pos", "neg"] * 12))
    csv_path = _write(tmp_path / "mine.csv", "body,verdict\n" + rows + "\n")
    out = str(tmp_path / "mine")
    assert main(["finetune", classifier_dir, "--csv", csv_path, "--text-column", "body",
                 "--label-column", "verdict", "--out", out, "--epochs", "2"]) == 0
    import model_zoo

    mine = model_zoo.load(out)
    assert mine.labels == ["neg", "pos"] and mine.metadata.name == "sentiment_bigru_tiny_finetuned"
    capsys.readouterr()

    assert main(["predict", out, "--csv", csv_path, "--text-column", "body"]) == 0
    assert len(json.loads(capsys.readouterr().out)["predictions"]) == len(CORPUS)
    assert main(["predict", out, "--csv", csv_path, "--text-column", "review"]) == 2
    err = capsys.readouterr().err
    assert "no column 'review'" in err and "--text-column='review'" in err

    bad = _write(tmp_path / "bad.csv", "body,verdict\nCafé,pos\nNo,neg\n", "latin-1")
    for args, message in ((["--csv", bad, "--text-column", "body", "--label-column", "verdict"],
                           "not UTF-8"),
                          (["--csv", csv_path, "--text-column", "text", "--label-column",
                            "verdict"], "no column 'text'")):
        target = str(tmp_path / "never")
        assert main(["finetune", classifier_dir, *args, "--out", target]) == 2
        assert message in capsys.readouterr().err
        assert not os.path.exists(target)
        assert not [p for p in os.listdir(tmp_path) if p.startswith(".never")]


# -- the language model task ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory, chars):
    import keras

    from model_zoo.models.text import build_lstm_language_model
    from model_zoo.tasks.language_model import LanguageModel

    keras.utils.set_random_seed(0)
    model = build_lstm_language_model(chars.vocabulary_size, embedding_dim=8, units=16,
                                      depth=2)
    # Larger output weights: a peaked distribution makes sampling settings matter.
    head = model.get_layer("lm_head")
    head.set_weights([w * 20 for w in head.get_weights()])
    task = LanguageModel(model, {"tokenizer": chars.get_config(), "seq_length": 16,
                                 "context": 4}, tokenizer=chars)
    return _save(task, tmp_path_factory, "charlm_lstm_tiny", "stacked_lstm_language_model",
                 "language_model")


def test_generation_is_seeded_batched_and_matches_the_naive_loop(lm_dir):
    import model_zoo

    lm = model_zoo.load(lm_dir)
    a = lm.generate("To be", max_chars=30, temperature=1.0, seed=3)
    assert isinstance(a, str) and len(a) == 30
    assert a == lm.generate("To be", max_chars=30, temperature=1.0, seed=3)
    assert a != lm.generate("To be", max_chars=30, temperature=1.0, seed=4)
    # Greedy decoding equals re-running the whole prefix and taking the argmax each time.
    greedy = lm.generate("To be", max_chars=20, temperature=0)
    assert greedy == lm.generate_naive("To be", 20, temperature=1e-9)
    assert lm.generate("To be", max_chars=20, temperature=1.5, top_k=1, seed=9) == greedy
    # A batch of prompts of different lengths gives each prompt's own greedy continuation.
    batch = lm.generate(["To be", "Whither", "t"], max_chars=20, temperature=0)
    assert batch == [greedy, lm.generate("Whither", max_chars=20, temperature=0),
                     lm.generate("t", max_chars=20, temperature=0)]
    samples = lm.generate(["To be"], max_chars=10, seed=1, num_samples=3, top_p=0.9)
    assert len(samples) == 3
    output, shape = lm.predict_example()
    assert np.shape(output) == shape
    for kwargs, message in (({"max_chars": 0}, "positive integer"),
                            ({"temperature": -1}, "temperature"),
                            ({"top_p": 0.0}, "top_p"), ({"top_k": -2}, "top_k")):
        with pytest.raises(InputError, match=message):
            lm.generate("To", **{"max_chars": 5, **kwargs})


def test_filter_logits_matches_a_numpy_reference():
    from model_zoo.models.text.lstm_language_model import filter_logits

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 12)).astype("float32")
    for temperature, top_k, top_p in ((1.0, 0, 1.0), (0.7, 3, 1.0), (1.3, 0, 0.6),
                                      (1.0, 5, 0.5)):
        got = np.asarray(filter_logits(logits, np.float32(temperature), np.int32(top_k),
                                       np.float32(top_p)))
        for row, out in zip(logits, got):
            scaled = row / temperature
            order = np.argsort(-scaled)
            keep = order[:top_k] if top_k else order
            p = np.exp(scaled[keep] - scaled[keep].max())
            p /= p.sum()
            before = np.cumsum(p) - p
            keep = keep[before < top_p]
            assert set(np.flatnonzero(out > -1e8)) == set(keep.tolist())
            assert np.allclose(out[keep], scaled[keep], atol=1e-5)


def test_language_model_scores_adapts_and_transfers(lm_dir, tmp_path):
    import model_zoo
    from model_zoo.tasks.text_classification import TextClassifier
    from model_zoo.training.finetune import ULMFiT

    lm = model_zoo.load(lm_dir)
    text = "To be, or not to be: that is the question. " * 20
    metrics = lm.evaluate(text)
    assert metrics["chars"] == len(text) - 1
    assert metrics["out_of_alphabet_chars"] == 0 and metrics["out_of_alphabet_share"] == 0
    foreign = "To be, 或 not 🙂 be." * 3  # 2 characters per copy outside the alphabet
    assert not {"或", "🙂"} & set(lm.tokenizer.vocabulary)
    outside = lm.evaluate(foreign)
    assert outside["out_of_alphabet_chars"] == 6
    assert outside["out_of_alphabet_share"] == pytest.approx(6 / outside["chars"])
    assert abs(metrics["bits_per_char"] - metrics["nats_per_char"] / np.log(2)) < 1e-9
    assert metrics["nats_per_char"] < np.log(lm.tokenizer.vocabulary_size) * 3

    path = _write(tmp_path / "more.txt", text)
    adapted = model_zoo.finetune(lm_dir, path, epochs=2, out=str(tmp_path / "adapted"))
    m = adapted.finetune_metrics
    assert m["val_nats_per_char_after"] < m["val_nats_per_char_before"]
    assert model_zoo.load(str(tmp_path / "adapted")).evaluate(text)["nats_per_char"] < \
        metrics["nats_per_char"]

    texts = ["to be or not", "the question", "whither to", "not to be"] * 6
    labels = ["x", "y", "z", "x"] * 6
    classifier = lm.finetune((texts, labels), epochs=2, lm_epochs=1, batch_size=8,
                             strategy=ULMFiT(max_stages=2))
    assert isinstance(classifier, TextClassifier) and classifier.labels == ["x", "y", "z"]
    assert classifier.finetune_metrics["transfer"].startswith("ULMFiT")
    assert classifier.finetune_metrics["stages"] == 2
    assert classifier.finetune_metrics["language_model_adaptation"]["epochs"] == 1
    assert len(classifier.predict(["to be"])[0]["probabilities"]) == 3
    # 20% of each label held out before the language model is adapted: neither step reads it.
    c = classifier.finetune_metrics["comparison"]
    assert c["split"]["rule"] == "20% of each label, stratified (seed 0)"
    # (x: 2 of 12, y: 1 of 6, z: 1 of 6)
    assert c["split"]["test"] == 4 and c["split"]["train"] + c["split"]["validation"] == 20
    assert classifier.finetune_metrics["language_model_adaptation"]["texts"] == 20
    # The classifier's head starts random: no zero-shot row, and the reason says so.
    assert set(c["rows"]) == {"fine-tuned", "baseline"} and c["metric"] == "accuracy"
    assert "no classifier head before fine-tuning" in c["skipped"]["zero-shot"]
    assert c["models"]["fine-tuned"] == f"ULMFiT classifier on {lm.name}'s encoder"

    bad = _write(tmp_path / "bad.txt", "Caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        lm.finetune(bad)
    with pytest.raises(InputError, match="empty"):
        lm.finetune(_write(tmp_path / "empty.txt", "  \n"))


def test_ulmfit_transfers_encoder_and_uses_discriminative_rates(lm_dir):
    import model_zoo
    from model_zoo.models.text import transfer_encoder
    from model_zoo.training.finetune import ULMFiT, get_strategy, layer_groups

    lm = model_zoo.load(lm_dir)
    model = lm.classifier_model(num_classes=2)
    copied = transfer_encoder(lm.model, model)
    assert copied == ["embedding", "encoder_lstm_0", "encoder_lstm_1"]
    for name in copied:
        for a, b in zip(lm.model.get_layer(name).get_weights(),
                        model.get_layer(name).get_weights()):
            assert np.array_equal(a, b)
    assert [[layer.name for layer in g] for g in layer_groups(model)] == [
        ["embedding"], ["encoder_lstm_0"], ["encoder_lstm_1"], ["head"]]
    strategy = get_strategy("ulmfit")
    assert isinstance(strategy, ULMFiT)
    from model_zoo.training.finetune import discriminative_multipliers

    rates = discriminative_multipliers(layer_groups(model), strategy.lr_decay)
    assert rates["head"] == 1.0 and rates["embedding"] == pytest.approx(2.6 ** -3)


def test_cli_generate(lm_dir, capsys):
    from model_zoo.cli import main

    assert main(["generate", lm_dir, "--prompt", "To be", "--max-chars", "12", "--seed", "1",
                 "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["generate", lm_dir, "--prompt", "To be", "--max-chars", "12", "--seed", "1",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert len(first["samples"][0]["text"]) == 12
    assert main(["generate", lm_dir, "--max-chars", "0"]) == 2
    assert "positive integer" in capsys.readouterr().err


# -- the fine-tuning comparison of a language model (issue 18, item 1) -------------------------------

SONNET = ("Shall I compare thee to a summer's day? Thou art more lovely and more temperate: "
          "rough winds do shake the darling buds of May, and summer's lease hath all too short "
          "a date. ") * 6


def _saved_comparison(directory):
    with open(os.path.join(directory, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)["metrics"]["finetune"]["comparison"]


def test_language_model_finetune_compares_with_a_character_5gram(lm_dir, tmp_path, capsys):
    import model_zoo
    from model_zoo.cli import main
    from model_zoo.data.text import normalize_text
    from model_zoo.models.speech.char_ngram_lm import CharNgramLM
    from model_zoo.models.text import ngram_baseline

    path = _write(tmp_path / "sonnet.txt", SONNET)
    out = str(tmp_path / "adapted")
    assert main(["finetune", lm_dir, "--text-file", path, "--test-fraction", "0.2", "--out",
                 out, "--epochs", "1"]) == 0
    printed = capsys.readouterr().out
    c = _saved_comparison(out)
    assert c["metric"] == "nats_per_char" and c["higher_is_better"] is False
    assert set(c["rows"]) == {"fine-tuned", "zero-shot", "baseline"} and not c["skipped"]
    text = normalize_text(SONNET)
    n_test = round(0.2 * len(text))
    # The last fifth of the characters is held out; the rest is all the adaptation reads.
    assert c["split"] == {"rule": "the last 20% of the text (chars), by position",
                          "train": c["split"]["train"], "validation": c["split"]["validation"],
                          "test": n_test, "unit": "chars"}
    assert c["split"]["train"] + c["split"]["validation"] == len(text) - n_test
    assert c["split"]["validation"] > 0
    # The rows are `evaluate` on the held-out text: the same key, the same scored characters.
    held_out, seen = text[-n_test:], text[:-n_test]
    tuned, parent = model_zoo.load(out), model_zoo.load(lm_dir)
    assert c["rows"]["fine-tuned"] == pytest.approx(tuned.evaluate(held_out))
    assert c["rows"]["zero-shot"] == pytest.approx(parent.evaluate(held_out))
    assert c["rows"]["baseline"]["chars"] == c["rows"]["fine-tuned"]["chars"] == n_test - 1
    assert set(c["rows"]["baseline"]) == set(c["rows"]["fine-tuned"])
    # The baseline: the module's function on the same split, and by hand a Kneser-Ney
    # character 5-gram of the seen text on the raw characters (two stand-ins for the padding
    # and unknown ids), scoring each held-out character after the ones before it.
    ids = parent.encode_stream([text])
    nats, count = ngram_baseline.baseline_nats(ids[:-n_test], ids[-n_test:], "char",
                                               parent.tokenizer.vocabulary_size)
    assert c["rows"]["baseline"]["nats_per_char"] == pytest.approx(nats / count)
    vocabulary = parent.tokenizer.vocabulary
    known = set(vocabulary[2:])  # The characters outside it are read as one unknown symbol.
    seen, held_out = ("".join(ch if ch in known else "\x01" for ch in part)
                      for part in (seen, held_out))
    assert c["rows"]["fine-tuned"]["out_of_alphabet_chars"] == held_out[1:].count("\x01") > 0
    lm = CharNgramLM.fit([seen], "\x00\x01" + "".join(vocabulary[2:]), order=5)
    by_hand = -sum(lm.log_prob(held_out[i], held_out[max(0, i - 4):i])
                   for i in range(1, n_test))
    assert nats == pytest.approx(by_hand)
    assert "Kneser-Ney" in c["models"]["baseline"] and "5-gram" in c["models"]["baseline"]
    assert c["beats_baseline"] == (c["rows"]["fine-tuned"]["nats_per_char"] < nats / count)
    # Printed by the CLI, written into the model card.
    assert "Held out: the last 20% of the text (chars), by position" in printed
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model "))
    assert lines[header].split()[:2] == ["model", "nats_per_char"]
    assert [lines[header + k].split()[0] for k in (1, 2, 3)] == ["fine-tuned", "zero-shot",
                                                                  "baseline"]
    with open(os.path.join(out, "README.md"), encoding="utf-8") as f:
        assert c["verdict"] in f.read()


@pytest.fixture(scope="module")
def wordpiece_lm_dir(tmp_path_factory, wordpiece):
    import keras

    from model_zoo.models.text import build_lstm_language_model
    from model_zoo.tasks.language_model import LanguageModel

    keras.utils.set_random_seed(0)
    model = build_lstm_language_model(wordpiece.vocabulary_size, embedding_dim=8, units=8,
                                      depth=1)
    task = LanguageModel(model, {"tokenizer": wordpiece.get_config(), "seq_length": 16,
                                 "context": 4}, tokenizer=wordpiece)
    return _save(task, tmp_path_factory, "lm_lstm_tiny", "stacked_lstm_language_model",
                 "language_model")


def test_subword_language_model_compares_with_a_witten_bell_trigram(wordpiece_lm_dir):
    import model_zoo
    from model_zoo.models.text import ngram_baseline

    lm = model_zoo.load(wordpiece_lm_dir)
    test_texts = ["A moving film, and funny.", "Dull and far too long; a waste."]
    tuned = lm.finetune({"texts": CORPUS}, epochs=1, test={"texts": test_texts})
    c = tuned.finetune_metrics["comparison"]
    assert c["metric"] == "nats_per_token" and set(c["rows"]) == {"fine-tuned", "zero-shot",
                                                                  "baseline"}
    seen, held = lm.encode_stream(CORPUS), lm.encode_stream(test_texts)
    assert c["split"] == {"rule": "the given test text", "train": c["split"]["train"],
                          "validation": c["split"]["validation"], "test": held.size,
                          "unit": "tokens"}
    assert c["split"]["train"] + c["split"]["validation"] == seen.size  # all of `data`
    assert c["rows"]["zero-shot"] == pytest.approx(lm.evaluate(test_texts))
    assert c["rows"]["fine-tuned"] == pytest.approx(tuned.evaluate(test_texts))
    nats, count = ngram_baseline.witten_bell_nats(seen, held, 3, lm.tokenizer.vocabulary_size)
    assert count == held.size - 1 == c["rows"]["baseline"]["tokens"]
    assert c["rows"]["baseline"]["nats_per_token"] == pytest.approx(nats / count)
    assert "Witten-Bell" in c["models"]["baseline"]
    # Witten-Bell gives a distribution: after any context, the vocabulary's probabilities
    # add up to one (seen, partly seen and unseen contexts).
    size = lm.tokenizer.vocabulary_size
    for context in (seen[5:7].tolist(), [seen[5], size - 1], [size - 1, size - 2]):
        before = ngram_baseline.witten_bell_nats(seen, np.array(context), 3, size)[0]
        total = sum(np.exp(before - ngram_baseline.witten_bell_nats(
            seen, np.array(context + [w]), 3, size)[0]) for w in range(size))
        assert total == pytest.approx(1.0)
    # Opting out, and bad values, before any training.
    assert "comparison" not in lm.finetune({"texts": CORPUS}, epochs=1,
                                           test_fraction=0).finetune_metrics
    for kwargs, message in (({"test_fraction": 1.5}, "`test_fraction` must be a number >= 0 "
                                                    "and < 1"),
                            ({"test": {"texts": []}}, "at least one text"),
                            ({"test": {"texts": ["  "]}}, "at least 2 tokens"),
                            ({"test": ("a", "b")}, "`test` of a language model")):
        with pytest.raises(InputError, match=message):
            lm.finetune({"texts": CORPUS}, epochs=1, **kwargs)


def test_ngram_baselines_of_the_recipe_moved_not_copied():
    from model_zoo.models.text import ngram_baseline

    recipe = recipe_module("language_model")
    assert recipe.ngram_nats is ngram_baseline.ngram_nats
    train, test = np.array([2, 3, 2, 3, 4, 2]), np.array([2, 3, 4])
    nats, count = ngram_baseline.ngram_nats(train, test, 2, 5)
    # By hand: (add-one unigram + add-one bigram) / 2, for 3 after 2 and 4 after 3.
    p3 = (3 / 11 + 3 / 8) / 2
    p4 = (2 / 11 + 2 / 7) / 2
    assert count == 2 and nats == pytest.approx(-np.log(p3) - np.log(p4))


# -- recipes -------------------------------------------------------------------------------------


def test_recipes_search_spaces_default_to_the_published_models():
    import keras_tuner

    from model_zoo.training.recipe import get_recipe

    sentiment = get_recipe("sentiment")
    config, _ = sentiment.resolve({})
    model = sentiment.build_model(keras_tuner.HyperParameters(), config)
    assert model.get_layer("embedding").output_dim == 96
    assert sentiment.checkpoint_name(config) == "sentiment_bigru_imdb"
    assert sentiment.checkpoint_name({**config, "encoder": "lm_lstm_imdb",
                                      "train_size": 1000}) == "sentiment_ulmfit_imdb_n1000"
    space = sentiment.search_space(config)
    assert {"units", "cell", "depth", "dropout", "learning_rate"} <= {p.name for p in
                                                                      space.space}
    lm = get_recipe("language_model")
    assert lm.checkpoint_name(lm.resolve({})[0]) == "charlm_lstm_shakespeare"
    assert {"units", "depth", "embedding_dim"} <= {p.name for p in
                                                   lm.search_space(lm.resolve({})[0]).space}
    # `fast_rnn` builds the fused layers, the same weights as Keras's default ones.
    from model_zoo.layers import FastLSTM

    lm_config = lm.resolve({})[0]
    keras_model = lm.build_model(keras_tuner.HyperParameters(), lm_config)
    fused = lm.build_model(keras_tuner.HyperParameters(), {**lm_config, "fast_rnn": True})
    kinds = [type(layer) for layer in fused.layers if isinstance(layer, FastLSTM)]
    assert len(kinds) == 2 and not any(isinstance(layer, FastLSTM)
                                       for layer in keras_model.layers)
    assert [w.shape for w in fused.weights] == [w.shape for w in keras_model.weights]


def test_sentiment_recipe_smoke_run(tmp_path):
    from model_zoo.training.recipe import get_recipe
    from model_zoo.training.runner import train

    recipe = get_recipe("sentiment")
    result = train("sentiment", dict(recipe.smoke), run_dir=str(tmp_path / "run"))
    test = result.metrics["test"]
    assert 0.0 <= test["accuracy"] <= 1.0 and "f1" in test
    assert result.metrics["test_sample"]["limit"] == recipe.sample_size
    import model_zoo

    task = model_zoo.load(result.checkpoint_dir)
    assert task.metadata.dataset["split"]["used"]["train"] == 64
    assert len(task.predict(["what a film"])) == 1


@pytest.mark.large
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_load_predict_and_generate_the_same(backend, lm_dir, classifier_dir):
    """The checkpoints load under JAX and torch; one seed gives the same text as on TF."""

    import model_zoo

    script = (
        "import json, model_zoo\n"
        f"lm = model_zoo.load({lm_dir!r}); clf = model_zoo.load({classifier_dir!r})\n"
        "print(json.dumps([lm.generate('To be', max_chars=20, seed=5, top_k=8, top_p=0.9),\n"
        "                  clf.predict_proba(['a wonderful film']).tolist()]))\n")
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    text, probabilities = json.loads(out.stdout.strip().splitlines()[-1])
    lm = model_zoo.load(lm_dir)
    assert text == lm.generate("To be", max_chars=20, seed=5, top_k=8, top_p=0.9)
    expected = model_zoo.load(classifier_dir).predict_proba(["a wonderful film"])
    assert np.allclose(probabilities, expected, atol=1e-5)


def test_language_model_adapts_to_plain_text_for_five_epochs_by_default(lm_dir):
    """One epoch left the adapted model behind a character 5-gram on both real texts tried;
    five put it ahead (`TEXT_EPOCHS`)."""
    import model_zoo
    from model_zoo.tasks.language_model import TEXT_EPOCHS

    lm = model_zoo.load(lm_dir)
    adapted = lm.finetune({"texts": ["To be, or not to be: that is the question. " * 10]},
                          test_fraction=0)
    assert TEXT_EPOCHS == 5 and adapted.finetune_metrics["epochs"] == TEXT_EPOCHS
