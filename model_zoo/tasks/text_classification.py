"""The text classification task: `load(name).predict(["a review", ...])` -> labels, probabilities."""

import copy
import functools
import os

import keras
import numpy as np

from model_zoo import limits
from model_zoo.checkpoint import read_asset
from model_zoo.data.text import (
    check_labelled,
    check_texts,
    length_batches,
    pad_rows,
    read_labelled_csv,
    token_batches,
)
from model_zoo.errors import InputError
from model_zoo.metrics.text import classification_metrics
from model_zoo.models.blending import network_of
from model_zoo.models.copying import copy_model
from model_zoo.models.text import replace_head, tokenizer_from_config
from model_zoo.models.text import ngram_blend as ngram_layers
from model_zoo.models.text import text_classifier as _layers  # noqa: F401  (custom layers)
from model_zoo.tasks.base import Task, register_task
from model_zoo.training.auto_strategy import check_strategy
from model_zoo.training.finetune import get_strategy


def encode(tokenizer, texts, max_length, truncation="head"):
    """Token ids of each text (at least one id: an empty text becomes `[UNK]`)."""
    from model_zoo.data.text import ragged_to_arrays

    return ragged_to_arrays(tokenizer.encode(texts, max_length, truncation,
                                             empty_id=tokenizer.unknown_id))


def labelled_data(data, text_column="text", label_column="label"):
    """`(texts, labels)` from a CSV path, a pandas DataFrame, a `(texts, labels)` pair or a dict."""
    if isinstance(data, (str, os.PathLike)):
        return read_labelled_csv(data, text_column, label_column)
    if hasattr(data, "columns"):  # a pandas DataFrame
        missing = [c for c in (text_column, label_column) if c not in data.columns]
        if missing:
            raise InputError(f"The DataFrame has no column {missing}. Its columns are "
                             f"{list(data.columns)}. Received: text_column={text_column!r}, "
                             f"label_column={label_column!r}")
        return check_labelled(data[text_column].tolist(), data[label_column].tolist())
    if isinstance(data, dict):
        data = (data.get("texts"), data.get("labels"))
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], str):
        texts, labels = data
        if texts is None or labels is None:
            raise InputError("Expected texts and labels. Received: a dict without 'texts' and "
                             "'labels'")
        return check_labelled(texts, labels)
    raise InputError(f"Expected a CSV path, a DataFrame, (texts, labels) or "
                     f"{{'texts': ..., 'labels': ...}}. Received: {type(data).__name__}")


def stratified_holdout(labels, fraction, seed):
    """Indices `(train, validation)`: `fraction` of each class (at least one) held out."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    train, val = [], []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_val = max(1, int(round(fraction * members.size))) if members.size > 1 else 0
        val.extend(members[:n_val])
        train.extend(members[n_val:])
    return np.sort(train), np.sort(val)


@register_task("text_classification")
class TextClassifier(Task):
    """Classifies raw strings: sentiment, topics, anything with labels.

    Its preprocessing state holds the `tokenizer` config (vocabulary in `assets/`), the
    `labels`, `max_length` (tokens read per text) and `truncation`.

    Args:
        model, preprocessing, metadata, directory: see `Task`.
        tokenizer: the tokenizer object, when not read from a checkpoint folder.

    The verbs are those of `SeriesClassifier` too: `classify` gives label strings,
    `predict_proba` probabilities (columns in the order of `labels`); `predict` gives both,
    one dict per text.

    Example:
    >>> classifier = model_zoo.load("sentiment_bigru_imdb")
    >>> classifier.classify("A wonderful, moving film.")
    'positive'
    >>> classifier.classify(["A wonderful, moving film.", "Dull and far too long."])
    ['positive', 'negative']
    >>> classifier.predict(["A wonderful, moving film.", "Dull and far too long."])
    [{'label': 'positive', 'probabilities': {'negative': 0.03, 'positive': 0.97}}, ...]
    """

    def __init__(self, model, preprocessing, metadata=None, directory=None, tokenizer=None):
        super().__init__(model, preprocessing, metadata, directory)
        self._tokenizer = tokenizer

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = tokenizer_from_config(
                self.preprocessing["tokenizer"],
                functools.partial(read_asset, self.directory))
        return self._tokenizer

    @property
    def labels(self):
        return list(self.preprocessing["labels"])

    @property
    def max_length(self):
        return int(self.preprocessing.get("max_length", 256))

    def assets(self):
        return self.tokenizer.assets()

    def encode(self, texts):
        return encode(self.tokenizer, texts, self.max_length,
                      self.preprocessing.get("truncation", "head"))

    # -- prediction --------------------------------------------------------------------------

    def predict_proba(self, texts, batch_size=64):
        """Class probabilities, `(len(texts), len(labels))`, columns in the order of `labels`;
        `(len(labels),)` for one string.

        Each text must have some words; at most 10,000 texts of 20,000 characters per call
        (see `model_zoo.limits`).
        """
        if isinstance(texts, str):
            return self._texts_probabilities([texts], batch_size)[0]
        return self._texts_probabilities(texts, batch_size)

    def _texts_probabilities(self, texts, batch_size=64):
        sequences = self.encode(limits.check_texts(check_texts(texts)))
        return self._probabilities(sequences, batch_size)

    def _probabilities(self, sequences, batch_size=64):
        """Probabilities of id sequences, batched by length, returned in the input order."""
        probabilities = np.empty((len(sequences), len(self.labels)), dtype="float64")
        for index in length_batches([len(s) for s in sequences], batch_size):
            # Widths rounded up to 32 bound the shapes the compiled predict function sees.
            x = pad_rows([sequences[i] for i in index], multiple=32)
            probabilities[index] = keras.ops.convert_to_numpy(self.model.predict_on_batch(x))
        return probabilities

    def predict(self, texts, batch_size=64):
        """Labels and probabilities of raw strings.

        Args:
            texts: a list of strings (any length; the first `max_length` tokens are read).

        Returns:
            One `{"label": str, "probabilities": {label: float}}` per text.
        """
        probabilities = self._texts_probabilities(texts, batch_size)
        labels = self.labels
        return [{"label": labels[int(np.argmax(p))],
                 "probabilities": {name: float(v) for name, v in zip(labels, p)}}
                for p in probabilities]

    def classify(self, texts, batch_size=64):
        """The predicted label of one string, or the list of labels of a list of strings
        (as `SeriesClassifier.classify`; `predict` also gives the probabilities)."""
        probabilities = self.predict_proba(texts, batch_size)
        labels = self.labels
        if probabilities.ndim == 1:
            return labels[int(np.argmax(probabilities))]
        return [labels[int(k)] for k in probabilities.argmax(axis=1)]

    def predict_example(self):
        texts = ["A wonderful film, moving and funny.", "Dull, and far too long.", "Fine."]
        out = self.predict(texts)
        return np.array([[p["probabilities"][name] for name in self.labels] for p in out]), (
            len(texts), len(self.labels))

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, texts, labels, batch_size=64):
        """Accuracy and F1 on labelled texts (labels as names, or as class indices).

        Returns:
            `{"accuracy", "f1", "f1_label", "macro_f1", "f1_per_class": {label: f1}}`.
            `f1` is the number recipes record: with two labels the F1 of the second label
            (`f1_label`, e.g. `"positive"`), with more the macro F1 (`f1_label` is then
            `"macro"`). `f1_per_class` gives every label's own F1.
        """
        y = self._label_indices(labels)
        probabilities = self._probabilities(self.encode(check_texts(texts)), batch_size)
        return classification_metrics(y, probabilities.argmax(axis=1), len(self.labels),
                                      names=self.labels)

    def _label_indices(self, labels):
        names = self.labels
        index = {name: k for k, name in enumerate(names)}
        out = []
        for label in labels:
            if isinstance(label, (int, np.integer)) and 0 <= label < len(names):
                out.append(int(label))
            elif str(label) in index:
                out.append(index[str(label)])
            else:
                raise InputError(f"Unknown label; this model's labels are {names}. "
                                 f"Received: {label!r}")
        return np.array(out, dtype="int32")

    # -- fine-tuning ------------------------------------------------------------------------------

    def finetune(self, data, text_column="text", label_column="label", epochs=4,
                 strategy="auto", validation=None, val_fraction=0.1, batch_size=32, seed=0,
                 verbose=0, test=None, test_fraction=0.2, ngram_blend=True):
        """Adapts the classifier to labelled texts; returns a new `TextClassifier`.

        Labels can be any strings, any number of classes. If they are not exactly this model's
        labels, the head is replaced by a new one for the new labels (sorted); the embedding
        and recurrent layers start from the published weights (or from random weights, when
        `strategy="auto"` finds that better on validation). Then, with validation texts, a
        logistic regression on the sublinear tf-idf 1-2 grams of the training texts (the
        classical baseline's model, on the classifier's own tokens) is pooled with the
        network's probabilities (`ngram_blend`; `model_zoo.models.blending`): a log-linear
        pool whose two exponents and class biases minimise the log-loss on the validation
        texts; on small data sets the baseline is often right where the network is not, and
        on large ones the two still err on different texts.

        Args:
            data: a CSV path (with `text_column` and `label_column`), a pandas DataFrame,
                `(texts, labels)` or `{"texts": ..., "labels": ...}`.
            text_column, label_column: the columns of a CSV file or DataFrame.
            epochs: epochs over all stages.
            strategy: `"auto"` (default) trains every candidate, gradual unfreezing
                (`"gradual_unfreezing"`: the head first, then the layers below one by one,
                with smaller learning rates lower down), `"full"` and the same architecture
                from random weights (`"random"`), and keeps the one with the best accuracy on
                the validation texts (a tie goes to the earlier one; the test part is never
                looked at); so it takes about three times as long as one strategy. The scores
                and the choice are in `finetune_metrics["strategy"]`. Without validation
                texts (`val_fraction=0`, or one text per label) it trains
                `"gradual_unfreezing"` and says so there. Or one strategy:
                `"gradual_unfreezing"`, `"ulmfit"`, `"full"` or a strategy object.
            validation: labelled data (same forms as `data`) for early stopping and choosing
                the strategy; by default `val_fraction` of each class is held out of `data`.
            batch_size: texts per batch.
            seed: random seed of the hold-outs, shuffling and dropout.
            test: labelled data (same forms as `data`) never trained on, on which the
                fine-tuned model, the zero-shot model (when the labels are the model's) and
                TF-IDF + logistic regression (fitted on `data`) are compared
                (`finetune_metrics["comparison"]`); by default `test_fraction` of each class
                is held out of `data` first (0: no comparison).
            ngram_blend: blend the n-gram logistic regression in (see above; inside the Keras
                model: `model_zoo.models.text.ngram_blend`); the fitted pool is in
                `finetune_metrics["ngram_blend"]`. False: the network alone.
        """
        from model_zoo.comparison import check_fraction

        check_strategy(strategy)
        test_fraction = check_fraction(test_fraction)
        if val_fraction:
            val_fraction = check_fraction(val_fraction, "val_fraction")
        texts, labels = labelled_data(data, text_column, label_column)
        if validation is not None:
            val_texts, val_labels = labelled_data(validation, text_column, label_column)
        else:
            val_texts = val_labels = None
        compare = test is not None
        if test is not None:
            test_texts, test_labels = labelled_data(test, text_column, label_column)
            rule = "the given test data"
        elif test_fraction:
            keep, held = stratified_holdout(labels, test_fraction, seed)
            compare = len(held) > 0  # None when every label has a single text.
            test_texts, test_labels = [texts[i] for i in held], [labels[i] for i in held]
            texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
            rule = f"{test_fraction:.0%} of each label, stratified (seed {seed})"
        if test is not None:  # Checked before training: the model can only say these labels.
            unknown = sorted(set(test_labels) - set(labels) - set(val_labels or []))
            if unknown:
                raise InputError(f"The test data has labels the training data lacks, which the "
                                 f"fine-tuned model cannot predict: {unknown[:10]}. Received: "
                                 f"{len(unknown)} unknown labels")
        if val_texts is not None:
            n_val, on = len(val_texts), "the given validation texts"
        else:
            n_val = len(stratified_holdout(labels, val_fraction, seed)[1]) if val_fraction else 0
            on = f"{val_fraction or 0:.0%} of each label of the training part (seed {seed})"
        tuned = self.finetune_with_strategy(
            strategy,
            lambda start, s: start._finetune(texts, labels, val_texts, val_labels, epochs, s,
                                             val_fraction, batch_size, seed, verbose),
            (lambda t: t.finetune_metrics["val_accuracy_after"]) if n_val else None,
            metric="val_accuracy", higher_is_better=True, on=f"{on}: {n_val} texts",
            seed=seed)
        if ngram_blend and n_val:
            tuned = tuned.with_ngram_blend(
                *tuned._split(texts, labels, val_texts, val_labels, val_fraction, seed))
        if compare:
            m = tuned.finetune_metrics
            self.compare_finetuned(
                tuned, (texts + list(val_texts or []), labels + list(val_labels or [])),
                (test_texts, test_labels),
                {"rule": rule, "train": m["train_texts"], "validation": m["val_texts"],
                 "test": len(test_texts), "unit": "texts"})
        return tuned

    comparison_metric = "accuracy"

    def comparison_rows(self, tuned, train, test):
        """`evaluate` on the held-out texts of the fine-tuned model, of this model when its
        labels are the fine-tuned ones, and of TF-IDF + logistic regression fitted on all the
        texts the fine-tune saw (training and validation)."""
        from model_zoo.models.text import baselines

        test_texts, test_labels = test
        rows = {"fine-tuned": tuned.evaluate(test_texts, test_labels)}
        models = {"fine-tuned": f"{self.name} fine-tuned", "baseline": baselines.DESCRIPTION}
        skipped = {}
        if tuned.labels == self.labels:
            rows["zero-shot"] = self.evaluate(test_texts, test_labels)
            models["zero-shot"] = self.name
        else:
            skipped["zero-shot"] = (f"its labels {self.labels} are not the fine-tuned "
                                    f"{tuned.labels}")
        predicted = baselines.tfidf_logistic_regression(*train).predict(test_texts)
        rows["baseline"] = classification_metrics(tuned._label_indices(test_labels),
                                                  tuned._label_indices(predicted),
                                                  len(tuned.labels), names=tuned.labels)
        return rows, models, skipped

    def _finetune(self, texts, labels, val_texts, val_labels, epochs, strategy, val_fraction,
                  batch_size, seed, verbose):
        if not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise InputError(f"`epochs` must be a positive integer. Received: {epochs!r}")
        keras.utils.set_random_seed(seed)
        names = sorted(set(labels) | set(val_labels or []))
        model = copy_model(network_of(self.model))  # a blended model's network: blended anew
        new_head = names != self.labels
        if new_head:
            model = replace_head(model, len(names))
        preprocessing = copy.deepcopy(self.preprocessing)
        preprocessing["labels"] = names
        tuned = TextClassifier(model, preprocessing, self.metadata, self.directory,
                               tokenizer=self.tokenizer)
        sequences, y, val_sequences, val_y = tuned._split(texts, labels, val_texts, val_labels,
                                                          val_fraction, seed)
        train = token_batches(sequences, y, batch_size, shuffle=True, seed=seed)
        val = token_batches(val_sequences, val_y, batch_size) if len(val_y) else None
        before = (classification_metrics(val_y, self._probabilities(val_sequences).argmax(1),
                                          len(names))["accuracy"]
                  if len(val_y) and not new_head else None)
        history = get_strategy(strategy).fit(model, train, val,
                                             loss="sparse_categorical_crossentropy",
                                             epochs=int(epochs), metrics=["accuracy"],
                                             verbose=verbose)
        tuned.finetune_metrics = {
            "labels": names, "new_head": new_head, "train_texts": len(y),
            "val_texts": int(len(val_y)), "stages": len(history["stages"]),
            "val_accuracy_before": before,
            "val_accuracy_after": (classification_metrics(
                val_y, tuned._probabilities(val_sequences).argmax(1), len(names))["accuracy"]
                if len(val_y) else None)}
        return tuned

    def _split(self, texts, labels, val_texts, val_labels, val_fraction, seed):
        """`(sequences, y, val_sequences, val_y)`: ids and label indices of the training and
        validation texts (`val_fraction` of each label of `texts` when none are given)."""
        y = self._label_indices(labels)
        sequences = self.encode(texts)
        if val_texts is not None:
            return sequences, y, self.encode(val_texts), self._label_indices(val_labels)
        train_idx, val_idx = stratified_holdout(y, val_fraction, seed) if val_fraction else (
            np.arange(len(y)), np.array([], dtype=int))
        return ([sequences[i] for i in train_idx], y[train_idx],
                [sequences[i] for i in val_idx], y[val_idx])

    def with_ngram_blend(self, sequences, y, val_sequences, val_y):
        """This classifier with a logistic regression on the tf-idf weighted 1-2 grams of its
        tokens, fitted on `sequences` (token id rows) and `y` (label indices), pooled with its
        probabilities by the log-linear blend fitted on `val_sequences`, `val_y`
        (`model_zoo.models.blending.fit_log_linear_pool`; the geometric mean without
        validation texts). The fit is in `finetune_metrics["ngram_blend"]`. `finetune` and the
        sentiment recipe call it after training."""
        from model_zoo.models import blending

        ngrams = ngram_layers.fit_ngram_classifier(
            pad_rows(sequences), y, self.tokenizer.vocabulary_size, len(self.labels))
        network = classical = None
        if len(val_y):
            network = self._probabilities(val_sequences)
            classical = np.concatenate([keras.ops.convert_to_numpy(ngrams(pad_rows(
                val_sequences[i:i + 64], multiple=32)))
                for i in range(0, len(val_sequences), 64)])
        blend, record = blending.fit_log_linear_pool(
            network, classical, val_y,
            "logistic regression (C=4) on the sublinear tf-idf 1-2 grams (min_df 2, at most "
            f"{ngram_layers.MAX_FEATURES:,}) of the classifier's tokens, fitted on the {len(y)} "
            "training texts")
        tuned = TextClassifier(blending.blended_model(self.model, ngrams, blend),
                               self.preprocessing, self.metadata, self.directory,
                               tokenizer=self.tokenizer)
        tuned.finetune_metrics = {**getattr(self, "finetune_metrics", {}), "ngram_blend": record}
        return tuned

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a text (a string)",
        "prediction": "{{\"label\": one of {task.labels}, \"probabilities\": {{label: "
                      "probability}}}}"}

    def serve_instances(self, instances):
        """`predict` of all the instances in one call."""
        return self.predict(instances)

    # -- command line ------------------------------------------------------------------------------

    def predict_cli(self, args):
        texts = list(args.text)
        if args.input:
            from model_zoo.data.text import read_text_files

            texts += [line for line in read_text_files(args.input)[0].splitlines()
                      if line.strip()]
        if args.csv:
            from model_zoo.data.text import read_csv_columns

            texts += read_csv_columns(args.csv, [args.text_column],
                                      ["--text-column"])[args.text_column]
        if not texts:
            raise InputError("Give texts to classify with --text, --input FILE or --csv FILE. "
                             "Received: no texts")
        predictions = self.predict(texts)
        return {"model": self.name, "labels": self.labels,
                "predictions": [{"text": t[:80], **p} for t, p in zip(texts, predictions)]}

    @classmethod
    def finetune_data_from_cli(cls, args):
        if not args.csv:
            raise InputError("`model-zoo finetune` of a classifier needs --csv FILE with "
                             "--text-column and --label-column. Received: no --csv")
        kwargs = {"data": args.csv, "text_column": args.text_column,
                  "label_column": args.label_column, "batch_size": args.batch_size,
                  "seed": args.seed, "ngram_blend": not args.no_ngram_blend}
        if args.test_fraction is not None:
            kwargs["test_fraction"] = args.test_fraction
        return kwargs
