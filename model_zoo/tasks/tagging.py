"""The sequence-tagging task: `load(name).tag("A raw sentence.")` and CoNLL files in and out."""

import collections
import json
import os
import warnings

import keras
import numpy as np

from model_zoo import limits
from model_zoo.checkpoint import read_asset
from model_zoo.data.tagging import (
    TOKEN_PATTERN,
    TaggingBatches,
    TagVocabulary,
    as_sentences,
    encode_sentences,
    pad_batch,
    read_conll,
    tokenize,
    write_conll,
)
from model_zoo.errors import InputError
from model_zoo.layers import crf as _crf  # noqa: F401  (registers the CRF layer)
from model_zoo.metrics.tagging import tagging_metrics
from model_zoo.models.copying import copy_model
from model_zoo.models.step_functions import inference_function
from model_zoo.models.tagging import TokenMeanLoss, has_crf, replace_head, training_model
from model_zoo.tasks.base import Task, register_task
from model_zoo.training.finetune import GradualUnfreezing, get_strategy

WORDS_ASSET = "words.txt"


def default_finetune_strategy(model):
    """Train the new head for 2 epochs, then unfreeze the BiLSTM layers one at a time from the
    top; the word embeddings and the char CNN stay frozen (a small file would overfit them)."""
    recurrent = sum(isinstance(layer, keras.layers.Bidirectional) for layer in model.layers)
    return GradualUnfreezing(learning_rate=3e-3, epochs_per_stage=2, max_stages=recurrent + 1,
                             patience=4)


def holdout_sentences(n, fraction, seed):
    """Indices `(keep, held)` of `n` sentences: `round(fraction * n)` of them (at least one)
    drawn at random with `seed` are held out; both in file order."""
    held = np.random.default_rng(seed).permutation(n)[:max(1, int(round(fraction * n)))]
    mask = np.zeros(n, dtype=bool)
    mask[held] = True
    return np.flatnonzero(~mask).tolist(), np.flatnonzero(mask).tolist()


def _check_same_scheme(scheme, other, what):
    if {scheme, other} - {"tags"} and scheme != other:
        def name(s):
            return "plain" if s == "tags" else s

        raise InputError(f"The training data uses {name(scheme)} tags and the {what} data "
                         f"{name(other)} tags; use one scheme. Received: {other}")


def _finite(metrics):
    """`metrics` without its NaN values (an accuracy over no tokens), which JSON cannot hold."""
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and np.isnan(v))}


def _short(tags, n=12):
    return str(tags) if len(tags) <= n else f"{tags[:n]}"[:-1] + f", ... ({len(tags)} tags)]"


@register_task("tagging")
class SequenceTagger(Task):
    """A sequence tagger (POS, NER, chunks): one tag per token.

    Its preprocessing state holds the vocabulary (`TagVocabulary`: characters, tags, casing;
    the word list is the asset `words.txt`), the tag `scheme` (`"tags"`, `"BIO"`, `"BIOES"`)
    and the tokenizer's regular expression, so raw text is tokenized as in training.

    Args:
        model: the Keras tagger (`build_bilstm_tagger`).
        preprocessing: the JSON state above.
        metadata, directory: as for `Task`.
        words: the word vocabulary (read from the checkpoint's assets when None).

    Example:
    >>> tagger = model_zoo.load("tagging_bilstm_brown")
    >>> tagger.tag("The jury praised the city.")
    [('The', 'DET'), ('jury', 'NOUN'), ('praised', 'VERB'), ('the', 'DET'), ('city', 'NOUN'),
     ('.', '.')]
    >>> tagger.tag([["Time", "flies", "like", "an", "arrow", "."]])
    [[('Time', 'NOUN'), ('flies', 'VERB'), ('like', 'ADP'), ('an', 'DET'), ('arrow', 'NOUN'),
      ('.', '.')]]
    """

    def __init__(self, model, preprocessing, metadata=None, directory=None, words=None):
        super().__init__(model, preprocessing, metadata, directory)
        if words is None:
            if directory is None:
                raise InputError("A SequenceTagger needs its word list (words=) or a checkpoint "
                                 "folder holding it. Received: words=None, directory=None")
            words = read_asset(directory, WORDS_ASSET).split("\n")
            words = [w for w in words if w]
        self.vocabulary = TagVocabulary.from_dict(preprocessing["vocabulary"], words)

    def assets(self):
        return {WORDS_ASSET: "\n".join(self.vocabulary.words) + "\n"}

    @property
    def tags(self):
        return list(self.vocabulary.tags)

    @property
    def scheme(self):
        return self.preprocessing.get("scheme", "tags")

    # -- prediction ------------------------------------------------------------------------

    def tokenize(self, text):
        """Splits raw text into tokens the way the training data was tokenized."""
        return tokenize(text, self.preprocessing.get("token_pattern") or TOKEN_PATTERN)

    def predict_tags(self, sentences, batch_size=64):
        """Tags for a list of token lists: a list of tag lists.

        At most 500 tokens per sentence (see `model_zoo.limits`:
        `MODEL_ZOO_MAX_SENTENCE_TOKENS`): the tagger runs step by step, about 20 ms a token
        on a CPU.
        """
        self._check_tokens(sentences)
        for i, tokens in enumerate(sentences):
            limits.check("sentence_tokens", len(tokens), f"Sentence {i + 1}")
        return self._predict_tags(sentences, batch_size)

    @staticmethod
    def _check_tokens(sentences):
        for i, tokens in enumerate(sentences):
            if not isinstance(tokens, (list, tuple)) or not all(
                    isinstance(t, str) and t and not any(c.isspace() for c in t)
                    for t in tokens):
                raise InputError(f"Sentence {i} must be a list of non-empty tokens without "
                                 f"spaces. Received: {tokens!r}"[:300])

    def _predict_tags(self, sentences, batch_size=64):
        out = [[] for _ in sentences]
        order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(sentences[i]))
        encoded = encode_sentences(self.vocabulary, [(sentences[i], None) for i in order],
                                   with_tags=False)
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch, _ = pad_batch(encoded[start:start + batch_size],
                                 self.vocabulary.max_word_chars)
            output = inference_function(self.model)({"words": batch["words"],
                                                     "chars": batch["chars"]})
            output = np.asarray(keras.ops.convert_to_numpy(output))
            ids = output.argmax(-1) if output.ndim == 3 else output
            for row, i in enumerate(chunk):
                out[i] = self.vocabulary.decode_tags(ids[row, :len(sentences[i])])
        return out

    def tag(self, inputs, batch_size=64):
        """Tags raw text or tokens.

        Args:
            inputs: a string (tokenized first), a list of strings, or a list of token lists
                (`[["Time", "flies", "."]]`, used as they are).
            batch_size: sentences per model call.

        Returns:
            For a string, a list of `(token, tag)` pairs; for a list, one such list per item.

        At most 10,000 items of 20,000 characters or 500 tokens each per call (see
        `model_zoo.limits`).
        """
        if isinstance(inputs, str):
            return self.tag([inputs], batch_size)[0]
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise InputError("`tag` takes a string, a list of strings or a list of token lists. "
                             f"Received: {inputs!r}"[:300])
        limits.check("texts", len(inputs), "The list of sentences")
        for k, x in enumerate(inputs):
            if isinstance(x, str):  # Bounds the tokenizer's work too.
                limits.check("text_chars", len(x), f"Sentence {k + 1}")
        sentences = [self.tokenize(x) if isinstance(x, str) else x for x in inputs]
        tags = self.predict_tags(sentences, batch_size)
        return [list(zip(tokens, sentence_tags)) for tokens, sentence_tags in
                zip(sentences, tags)]

    predict = tag

    def predict_example(self):
        out = self.tag("The old man saw 3 dogs near the river's edge.")
        return out, (11, 2)

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, data, seen_words=None, batch_size=64):
        """Token accuracy (and entity P/R/F1 for BIO/BIOES) on tagged data.

        Args:
            data: a CoNLL path or a list of `(tokens, tags)` pairs.
            seen_words: lowercased words of the training data; adds `unseen_accuracy`.

        Returns:
            `{"accuracy", "tokens", "oov_accuracy", "oov_tokens", ...}` (see `tagging_metrics`).
        """
        sentences, scheme = as_sentences(data)
        tokens = [s.tokens for s in sentences]
        predicted = self._predict_tags(tokens, batch_size)
        seen = (lambda t: t.lower() in seen_words) if seen_words is not None else None
        return tagging_metrics(tokens, [s.tags for s in sentences], predicted,
                               scheme=scheme if scheme != "tags" else self.scheme, seen=seen,
                               known=self.vocabulary.is_known)

    # -- fine-tuning -----------------------------------------------------------------------------

    def finetune(self, data, val_data=None, epochs=20, batch_size=32, strategy="auto",
                 val_fraction=0.1, crf=None, seed=0, verbose=0, test=None, test_fraction=0.2):
        """Adapts the tagger to new tagged data, possibly with another tag set.

        If the data's tags are not all in the model's tag set (or `crf` asks for another kind
        of head), the output head (Dense + CRF or softmax) is replaced by a new one for the
        data's tags; the word and character embeddings and the BiLSTM keep their trained
        weights. By default (`strategy="auto"`) the strategy is chosen by token accuracy on
        the validation sentences among gradual unfreezing (the head first, then the BiLSTM
        layers from the top; the embeddings stay frozen), every layer at once (`"full"`) and
        the same architecture from random weights (`"random"`); on one new tag set the first
        won by 25 points, elsewhere another may: see `finetune_metrics["strategy"]`. Auto
        trains three times as long as one strategy.

        Args:
            data: a CoNLL file (token and tag columns) or a list of `(tokens, tags)` pairs.
            val_data: validation data for early stopping (default: the last `val_fraction`
                of `data`).
            epochs: total epochs over all stages.
            batch_size: sentences per batch.
            strategy: `"auto"` (default), `"gradual_unfreezing"`, `"full"` or a strategy
                object.
            crf: True/False for a new CRF/softmax head (default: as the model has).
            seed: random seed of the test hold-out, shuffling and dropout.
            test: tagged data (same forms as `data`) never trained on, on which the fine-tuned
                model, the zero-shot model (when its tag set is the fine-tuned one) and each
                word's most frequent tag (counted on the sentences the fine-tune saw) are
                compared by token accuracy (`finetune_metrics["comparison"]`); by default
                `test_fraction` of the sentences of `data`, drawn at random with `seed`, is
                held out first (0: no comparison). A test tag the training data lacks counts
                as an error for every model (`unseen_tag_tokens` says how many); a test set
                sharing no tag with the training data (another tag set) is refused.
            test_fraction: the share of `data`'s sentences held out when `test` is not given.

        Returns:
            A new `SequenceTagger` with `.finetune_metrics` (validation scores, stages and the
            comparison).
        """
        from model_zoo.comparison import check_fraction
        from model_zoo.training.auto_strategy import FALLBACK, check_strategy

        check_strategy(strategy)
        test_fraction = check_fraction(test_fraction)
        sentences, scheme = as_sentences(data)
        test_sentences, rule = None, None
        if test is not None:
            test_sentences, test_scheme = as_sentences(test)
            _check_same_scheme(scheme, test_scheme, "test")
            rule = "the given test data"
        elif test_fraction:
            keep, held = holdout_sentences(len(sentences), test_fraction, seed)
            if len(keep) < (1 if val_data is not None else 2):
                raise InputError(
                    f"Too few sentences to hold out {test_fraction:.0%} for the comparison and "
                    "still train (and validate); pass more sentences, test= or "
                    f"test_fraction=0. Received: {len(sentences)} sentence(s)")
            test_sentences = [sentences[i] for i in held]
            sentences = [sentences[i] for i in keep]
            rule = f"{test_fraction:.0%} of the sentences, drawn at random (seed {seed})"
        if val_data is not None:
            val_sentences, val_scheme = as_sentences(val_data)
            _check_same_scheme(scheme, val_scheme, "validation")
        else:
            if len(sentences) < 2:
                raise InputError("Fine-tuning needs at least 2 sentences (one to validate) or "
                                 f"val_data. Received: {len(sentences)} sentence(s)")
            n_val = max(1, int(round(len(sentences) * val_fraction)))
            sentences, val_sentences = sentences[:-n_val], sentences[-n_val:]
        keras.utils.set_random_seed(seed)
        data_tags = sorted({t for s in sentences + val_sentences for t in s.tags})
        new_head = not set(data_tags) <= set(self.tags) or (
            crf is not None and bool(crf) != has_crf(self.model))
        if test is not None:  # Checked before training: another tag set is a mistake.
            # A test tag the training data lacks is only an error of every model (none can
            # predict it; see `comparison_rows`); a test set sharing no tag is another tag set.
            test_tags = {t for s in test_sentences for t in s.tags}
            if test_tags and not test_tags & set(data_tags if new_head else self.tags):
                raise InputError(f"The test data shares no tag with the training data (another "
                                 f"tag set?), so no model could tag it right. Received: test "
                                 f"tags {_short(sorted(test_tags))}, training tags "
                                 f"{_short(data_tags)}")
        vocabulary = self.vocabulary.with_tags(data_tags) if new_head else self.vocabulary
        preprocessing = json.loads(json.dumps(self.preprocessing))
        preprocessing["vocabulary"] = vocabulary.to_dict()
        preprocessing["scheme"] = scheme
        width = vocabulary.max_word_chars
        pairs = [(s.tokens, s.tags) for s in sentences]
        val_pairs = [(s.tokens, s.tags) for s in val_sentences]
        before = None if new_head else self.evaluate(val_pairs)

        def fit(start, strategy):  # One candidate: `start`'s network trained on `pairs`.
            keras.utils.set_random_seed(seed)
            model = (replace_head(start.model, len(data_tags), crf) if new_head
                     else copy_model(start.model))
            tuned = SequenceTagger(model, preprocessing, self.metadata, words=vocabulary.words)
            train = TaggingBatches(encode_sentences(vocabulary, pairs), batch_size, width,
                                   shuffle=True, seed=seed).dataset()
            val = TaggingBatches(encode_sentences(vocabulary, val_pairs), batch_size,
                                 width).dataset()
            # The tagger's own gradual unfreezing keeps the embeddings frozen.
            fitter = (default_finetune_strategy(model) if strategy in (None, FALLBACK)
                      else get_strategy(strategy))
            history = fitter.fit(training_model(model), train, val, loss=TokenMeanLoss(),
                                 epochs=epochs, verbose=verbose)
            tuned.finetune_metrics = {
                "new_head": bool(new_head), "tags": data_tags, "scheme": scheme,
                "train_sentences": len(pairs), "val_sentences": len(val_pairs),
                "val_before": before, "val_after": tuned.evaluate(val_pairs),
                "stages": [{k: v for k, v in stage.items() if k != "history"}
                           for stage in history["stages"]],
                "epochs_run": sum(len(next(iter(s["history"].values()), []))
                                  for s in history["stages"]),
            }
            return tuned

        tuned = self.finetune_with_strategy(
            strategy, fit, lambda t: t.finetune_metrics["val_after"]["accuracy"],
            metric="accuracy", higher_is_better=True, seed=seed,
            on=f"the {len(val_pairs)} validation sentences")
        if test_sentences is not None:
            self.compare_finetuned(
                tuned, pairs + val_pairs, [(s.tokens, s.tags) for s in test_sentences],
                {"rule": rule, "train": len(pairs), "validation": len(val_pairs),
                 "test": len(test_sentences), "unit": "sentences"})
        return tuned

    comparison_metric = "accuracy"

    def comparison_rows(self, tuned, train, test):
        """`evaluate` on the held-out sentences of the fine-tuned model, of this model when its
        tag set is the fine-tuned one, and of each word's most frequent tag counted on all the
        sentences the fine-tune saw (training and validation); `unseen_accuracy` is on the
        test words those sentences lack.

        A test tag those sentences lack (a rare tag of a large tag set, with little training
        data) counts as an error for every model, which cannot predict it; every row then
        gives `unseen_tag_tokens`, the number of such test tokens, and a warning says so."""
        from model_zoo.models.tagging import baselines

        seen_words = frozenset(t.lower() for tokens, _ in train for t in tokens)
        trained_tags = {t for _, tags in train for t in tags}
        unseen_tags = collections.Counter(t for _, tags in test for t in tags
                                          if t not in trained_tags)
        rows = {"fine-tuned": _finite(tuned.evaluate(test, seen_words=seen_words))}
        models = {"fine-tuned": f"{self.name} fine-tuned", "baseline": baselines.DESCRIPTION}
        skipped = {}
        if set(tuned.tags) == set(self.tags):
            rows["zero-shot"] = _finite(self.evaluate(test, seen_words=seen_words))
            models["zero-shot"] = self.name
        else:
            skipped["zero-shot"] = (f"its tags {_short(self.tags)} are not the fine-tuned "
                                    f"{_short(tuned.tags)}")
        tagger = baselines.most_frequent_tag(train)
        tokens = [t for t, _ in test]
        _, scheme = as_sentences(test)
        rows["baseline"] = _finite(tagging_metrics(
            tokens, [g for _, g in test], [tagger(t) for t in tokens],
            scheme=scheme if scheme != "tags" else tuned.scheme,
            seen=lambda t: t.lower() in seen_words))
        if unseen_tags:
            count = sum(unseen_tags.values())
            for values in rows.values():
                values["unseen_tag_tokens"] = count
            warnings.warn(f"{count} of {rows['baseline']['tokens']} test tokens have tags the "
                          f"training data lacks ({_short(sorted(unseen_tags))}): they count as "
                          "errors for every model, which cannot predict them.", stacklevel=3)
        return rows, models, skipped

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a sentence: a string (tokenized as the training data was) or a list of "
                    "tokens",
        "prediction": "the sentence's [token, tag] pairs, tags among {task.tags}"}

    def serve_instances(self, instances):
        """`tag` of all the instances in one call."""
        return [[list(pair) for pair in sentence] for sentence in self.tag(instances)]

    # -- command line ------------------------------------------------------------------------------

    def predict_cli(self, args):
        if bool(args.text) == bool(args.conll):
            raise InputError("Pass --text \"some text\" or --conll FILE (one of them). "
                             f"Received: text={args.text!r}, conll={args.conll!r}")
        if args.text:
            return {"model": self.name,
                    "tagged": [[list(pair) for pair in sentence]
                               for sentence in self.tag(list(args.text))]}
        sentences, scheme = read_conll(args.conll, require_tags=False)
        tokens = [s.tokens for s in sentences]
        predicted = self.predict_tags(tokens)
        result = {"model": self.name, "sentences": len(tokens),
                  "tokens": sum(len(t) for t in tokens)}
        if args.output:
            gold = [s.tags for s in sentences] if scheme else None
            write_conll(args.output, tokens, *([gold] if gold else []), predicted)
            result["output"] = os.path.abspath(args.output)
        if scheme:
            result["metrics"] = tagging_metrics(
                tokens, [s.tags for s in sentences], predicted,
                scheme=scheme if scheme != "tags" else self.scheme,
                known=self.vocabulary.is_known)
        elif not args.output:
            result["tagged"] = [list(zip(t, p)) for t, p in zip(tokens, predicted)]
        return result

    @classmethod
    def finetune_data_from_cli(cls, args):
        if not args.conll:
            raise InputError("model-zoo finetune needs --conll TRAIN_FILE (token and tag "
                             "columns). Received: no --conll")
        kwargs = {"data": args.conll, "val_data": args.val_conll, "test": args.test_conll,
                  "test_fraction": args.test_fraction}
        if args.crf:
            kwargs["crf"] = args.crf == "yes"
        return kwargs
