"""English to Spanish: an attentional LSTM encoder-decoder on Bible verses.

    model-zoo train translation --publish

Data: the World English Bible and the Reina-Valera 1909, aligned verse by verse (31,094 pairs
with both sides, see model_zoo.data.bible for the cleaning). Whole books are held out:

| split      | books                                  |
|------------|----------------------------------------|
| validation | Joel, Habakkuk, Colossians, 1 Peter, Titus |
| test       | Ruth, Jonah, Micah, Ephesians, Philippians, James, 2 Peter, 1 John |

Subwords: one SentencePiece (unigram) model per language, trained on the training books only,
stored in the checkpoint. Training uses verses of at most `max_length` subwords on both sides;
validation loss and the test scores use every verse of the held-out books.

Model: stacked bidirectional LSTM encoder, LSTM decoder with Luong (or Bahdanau) attention,
teacher forcing, label smoothing, Adam with gradient clipping (model_zoo.training.fit). Test:
sacreBLEU BLEU and chrF with signatures, beam search and greedy, against two baselines in the
same run (copying the English; retrieving the Spanish of the most similar training verse:
`model_zoo.models.seq2seq.baselines`, which a fine-tuned translator is compared with too).
"""

import hashlib
import os

from model_zoo.data import bible
from model_zoo.data.cache import building, data_home
from model_zoo.data.parallel_text import seq2seq_dataset
from model_zoo.metrics.translation import translation_metrics
from model_zoo.models.seq2seq import (
    LabelSmoothedCrossEntropy,
    SentencePieceTokenizer,
    build_lstm_seq2seq,
)
from model_zoo.models.seq2seq import baselines as seq2seq_baselines
from model_zoo.tasks.translation import Translator
from model_zoo.training import fit as training
from model_zoo.training.recipe import Recipe, register_recipe

DEFAULTS = {
    "source_vocabulary": 4000,
    "target_vocabulary": 4000,
    "max_length": 48,  # Training pairs longer than this (subwords, either side) are left out.
    "train_limit": 0,  # Use only the first N training pairs (0: all); for smoke runs.
    "test_limit": 0,  # Score only the first N test verses (0: all); for smoke runs.
    "epochs": 10,
    "batch_size": 64,
    "patience": 3,
    "beam_size": 5,   # the decoding settings used when no choice is made (empty lists below)
    "alpha": 0.6,
    # Decoding settings tried on the validation books; the best BLEU there is used on the test
    # books and stored in the checkpoint. The test books play no part in the choice.
    "beam_sizes": [5, 8],
    "alphas": [0.6, 0.8, 1.0],
    "validation_limit": 0,  # Choose on the first N validation verses only (0: all); smoke runs.
    "baselines": True,
}


# ## 1. Data
#
# The cleaned pairs come from the data cache (built once from the SWORD modules). Tokenizers
# are trained on the training books only and cached too, keyed by what they were trained on.


class BibleData:
    """The aligned verses, split by book, with subword tokenizers trained on the train split."""

    def __init__(self, config):
        self.config = config
        self.split = bible.split_pairs(bible.load_pairs())
        if config["train_limit"]:
            self.split["train"] = self.split["train"][:config["train_limit"]]
        self._tokenizers = None

    @property
    def tokenizers(self):
        if self._tokenizers is None:
            self._tokenizers = self._train_tokenizers()
        return self._tokenizers

    def _train_tokenizers(self):
        c = self.config
        key = hashlib.sha256(repr((bible.CACHE_VERSION, bible.VALIDATION_BOOKS, bible.TEST_BOOKS,
                                   c["train_limit"], c["source_vocabulary"],
                                   c["target_vocabulary"])).encode()).hexdigest()[:16]
        folder = os.path.join(data_home(), "bible", "tokenizers", key)
        if not os.path.isdir(folder):
            train = self.split["train"]
            with building(folder) as tmp:
                for name, texts, size in (
                        ("source.spm", [p.english for p in train], c["source_vocabulary"]),
                        ("target.spm", [p.spanish for p in train], c["target_vocabulary"])):
                    with open(os.path.join(tmp, name), "wb") as f:
                        f.write(SentencePieceTokenizer.train(texts, size).proto)
        tokenizers = []
        for name in ("source.spm", "target.spm"):
            with open(os.path.join(folder, name), "rb") as f:
                tokenizers.append(SentencePieceTokenizer(f.read()))
        return tuple(tokenizers)

    def ids(self, split):
        source, target = self.tokenizers
        pairs = self.split[split]
        return (source.tokenize([p.english for p in pairs]),
                target.tokenize([p.spanish for p in pairs]))

    def datasets(self, batch_size, max_length, seed=0):
        """Training batches (pairs within `max_length`) and validation batches (all pairs)."""
        src, tgt = self.ids("train")
        keep = [i for i in range(len(src)) if len(src[i]) <= max_length
                and len(tgt[i]) <= max_length]
        self.train_kept = len(keep)
        train = seq2seq_dataset([src[i] for i in keep], [tgt[i] for i in keep], batch_size,
                                shuffle=True, seed=seed)
        val = seq2seq_dataset(*self.ids("validation"), batch_size)
        return train, val


def load_data(config):
    return BibleData(config)


# ## 2. Model
#
# `build_model(keras_tuner.HyperParameters())` builds the published model (2.3M parameters, small enough to train on two shared CPU cores);
# the search space covers sizes, depths, the attention type, dropout, label smoothing and the
# learning rate.


def build_model(hp, config=None):
    config = {**DEFAULTS, **(config or {})}
    hp.Float("learning_rate", 3e-4, 5e-3, sampling="log", default=3e-3)
    hp.Float("label_smoothing", 0.0, 0.2, step=0.05, default=0.1)
    return build_lstm_seq2seq(
        source_vocabulary=config["source_vocabulary"],
        target_vocabulary=config["target_vocabulary"],
        embedding_dim=hp.Int("embedding_dim", 64, 256, step=32, default=96),
        encoder_units=hp.Int("encoder_units", 64, 256, step=32, default=96),
        encoder_layers=hp.Int("encoder_layers", 1, 3, default=2),
        decoder_units=hp.Int("decoder_units", 128, 512, step=64, default=192),
        decoder_layers=hp.Int("decoder_layers", 1, 2, default=1),
        attention=hp.Choice("attention", ["luong", "bahdanau"], default="luong"),
        dropout=hp.Float("dropout", 0.0, 0.4, step=0.1, default=0.2),
        attentional_activation=hp.Choice("attentional_activation", ["linear", "tanh"],
                                         default="linear"),
        name="lstm_seq2seq_en_es",
    )


# ## 3. Training
#
# Teacher forcing: the decoder reads the reference shifted right. Label-smoothed token
# cross-entropy, Adam with a cosine schedule and gradient-norm clipping at 1, early stopping on
# the validation books' loss.


def fit(model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
    train, val = data.datasets(config["batch_size"], config["max_length"])
    return training.fit(model, train, val, loss=LabelSmoothedCrossEntropy(hp.get("label_smoothing")),
                        epochs=epochs or config["epochs"], learning_rate=hp.get("learning_rate"),
                        patience=config["patience"], callbacks=callbacks, verbose=verbose)


# ## 4. Evaluation and baselines
#
# First the decoding settings: beam size and length penalty are chosen on the validation books
# (as any hyperparameter), never on the test books. Then every verse of the test books,
# translated from raw English with them, detokenized, scored by sacreBLEU against the raw
# Spanish (beam search, and greedy). The baselines are scored the same way.


def choose_decoding(task, data, config):
    """Sets `task`'s beam size and alpha to those with the best BLEU on the validation books.

    Every `(beam size, alpha)` of `config["beam_sizes"]` x `config["alphas"]` translates the
    validation verses; the scores travel in the checkpoint (`preprocessing["decoding_choice"]`).
    """
    grid = [(b, a) for b in config["beam_sizes"] for a in config["alphas"]]
    if not grid:
        return task
    limit = config.get("validation_limit") or None
    pairs = data.split["validation"][:limit] if limit else data.split["validation"]
    sources, references = [p.english for p in pairs], [p.spanish for p in pairs]
    scores = {(b, a): task.evaluate(sources, references, beam_size=b, alpha=a)["bleu"]
              for b, a in grid}
    beam, alpha = max(scores, key=scores.get)
    task.preprocessing.update(beam_size=beam, alpha=alpha, decoding_choice={
        "chosen_on": f"validation books {', '.join(bible.VALIDATION_BOOKS)}, "
                     f"{len(pairs)} verses",
        "bleu": [{"beam_size": b, "alpha": a, "bleu": round(v, 4)}
                 for (b, a), v in scores.items()]})
    return task


def evaluate(task, data, config, limit=None):
    limit = limit or config.get("test_limit") or None
    pairs = data.split["test"][:limit] if limit else data.split["test"]
    sources, references = [p.english for p in pairs], [p.spanish for p in pairs]
    beam_size, alpha = task.preprocessing["beam_size"], task.preprocessing["alpha"]
    beam = task.evaluate(sources, references, beam_size=beam_size, alpha=alpha)
    greedy = task.evaluate(sources, references, beam_size=1)
    return {"bleu": beam["bleu"], "chrf": beam["chrf"], "bleu_greedy": greedy["bleu"],
            "chrf_greedy": greedy["chrf"], "beam_size": beam_size, "alpha": alpha,
            "sentences": beam["sentences"], "bleu_signature": beam["bleu_signature"],
            "chrf_signature": beam["chrf_signature"]}


def baselines(data, config):
    if not config.get("baselines", True):
        return {}
    train, test = data.split["train"], data.split["test"]
    sources, references = [p.english for p in test], [p.spanish for p in test]
    results = {"copy_source": translation_metrics(seq2seq_baselines.copy_source(sources),
                                                  references)}
    retrieval = seq2seq_baselines.nearest_pair([(p.english, p.spanish) for p in train])
    results["nearest_training_verse"] = translation_metrics(retrieval.translate(sources),
                                                            references)
    for r in results.values():
        r.pop("chrf_signature")
        r.pop("bleu_signature")
    return results


def plot_attention(task, data, config, metrics, out_dir):
    verse = data.split["test"][0]
    path = os.path.join(out_dir, "attention_test_verse.png")
    task.plot_attention(verse.english, path)
    return [path]


# ## Model card notes (the checkpoint's "Intended use and limitations"; see
# `model_zoo.checkpoint.fill_card_notes`: templates over the run's test metrics)

CARD_NOTES = {
    "intended_use": (
        "Translating English Bible verses into Spanish in the style of the Reina-Valera 1909, "
        "and a base for fine-tuning on sentence pairs of your own (`model-zoo finetune ... "
        "--tsv`)."),
    "limitations": [
        "Trained on one pair of Bible translations only: modern or everyday English gets "
        "archaic, Bible-like Spanish, and words outside that vocabulary are handled poorly.",
        "The errors of a small attentional RNN: repeated words, wrong verb forms, a changed "
        "grammatical person.",
        "The goal is at least 25 BLEU on the held-out books; this checkpoint: {test[bleu]:.2f} "
        "BLEU, chrF {test[chrf]:.2f} (greedy decoding: {test[bleu_greedy]:.2f}) on "
        "{test[sentences]} verses of 8 books never trained on.",
    ],
}


# ## 5. Registration


@register_recipe
class TranslationRecipe(Recipe):
    name = "translation"
    task = "translation"
    architecture = "bilstm_encoder_lstm_decoder_attention"
    description = "English->Spanish Bible verses: BiLSTM encoder, attentional LSTM decoder, beam search."
    card_notes = CARD_NOTES
    license = "Apache-2.0"
    defaults = DEFAULTS
    smoke = {"train_limit": 300, "test_limit": 24, "source_vocabulary": 200, "target_vocabulary": 200,
             "epochs": 1, "batch_size": 32, "max_length": 40, "beam_size": 2,
             "baselines": False, "beam_sizes": [1, 2], "alphas": [0.6], "validation_limit": 16,
             "embedding_dim": 16, "encoder_units": 16, "encoder_layers": 1,
             "decoder_units": 32}
    sample_size = 12

    def checkpoint_name(self, config):
        return "translation_bilstm_bible_en_es"

    def describe(self, config):
        return ("English to Spanish translation of Bible-style text (WEB -> Reina-Valera 1909): "
                "subword BiLSTM encoder, LSTM decoder with attention, beam search.")

    load_data = staticmethod(load_data)
    build_model = staticmethod(build_model)
    fit = staticmethod(fit)
    evaluate = staticmethod(evaluate)
    baselines = staticmethod(baselines)
    plots = staticmethod(plot_attention)

    @staticmethod
    def make_task(model, data, config):
        preprocessing = {"source_language": "en", "target_language": "es",
                         "max_source_length": config["max_length"],
                         "max_target_length": config["max_length"],
                         "beam_size": config["beam_size"], "alpha": config["alpha"],
                         "length_ratio": 2.0, "length_extra": 10, "max_decode_length": 200,
                         "batch_size": 64}
        return choose_decoding(Translator(model, preprocessing, tokenizers=data.tokenizers),
                               data, config)

    @staticmethod
    def dataset_info(data, config):
        split = data.split
        return {
            "name": "Bible verses, World English Bible -> Reina-Valera 1909",
            "source": "Debian packages sword-text-web (engWEB2015eb) and sword-text-sparv "
                      "(spaRV1909eb), read with pysword",
            "license": "public domain (both translations)",
            "split": {
                "unit": "whole books (OSIS names)",
                "validation_books": list(bible.VALIDATION_BOOKS),
                "test_books": list(bible.TEST_BOOKS),
                "train_books": sorted({p.book for p in split["train"]}),
                "pairs": {k: len(v) for k, v in split.items()},
                "train_pairs_within_max_length": getattr(data, "train_kept", None),
                "max_length_subwords": config["max_length"],
                "evaluation": "every verse of the test books, raw text, sacreBLEU",
            },
            "cleaning": "footnotes removed keeping words apart, markup stripped, chapter-initial "
                        "capitals recased, verses without a pair (deuterocanon) dropped",
        }
