"""The language-modelling task: `load(name).generate(prompt, ...)`, scoring, and LM transfer.

A `LanguageModel` wraps an LSTM language model over characters or WordPiece tokens. It
generates text with stateful, batched, compiled step-by-step decoding (`StatefulSampler`),
scores text in nats per token, adapts to new text (`finetune` on plain text files) and turns
into a classifier of the user's labels with ULMFiT (`finetune` on labelled data).
"""

import copy
import functools

import keras
import numpy as np

from model_zoo import limits
from model_zoo.checkpoint import read_asset
from model_zoo.data.text import check_texts, normalize_text, read_text_files, stream_windows
from model_zoo.errors import InputError
from model_zoo.metrics.text import cross_entropy_sum, language_model_metrics
from model_zoo.models.copying import copy_model
from model_zoo.models.text import StatefulSampler, build_text_classifier, tokenizer_from_config
from model_zoo.models.step_functions import compile_function
from model_zoo.models.text.lstm_language_model import (
    check_sampling,
    recurrent_layers,
    transfer_encoder,
)
from model_zoo.tasks.base import Task, register_task
from model_zoo.tasks.text_classification import TextClassifier, labelled_data
from model_zoo.training.finetune import get_strategy

#: Epochs of `finetune` on plain text, unless given (see its docstring).
TEXT_EPOCHS = 5


def encode_stream(tokenizer, texts):
    """One id stream of `texts` with `tokenizer` (subword documents end with `[END]`)."""
    if tokenizer.kind == "character":
        return np.concatenate([tokenizer.encode_text(normalize_text(t)) for t in texts])
    from model_zoo.data.text import ragged_to_arrays

    rows = ragged_to_arrays(tokenizer.tokenize(list(texts)))
    end = np.array([tokenizer.end_id], dtype="int32")
    return np.concatenate([piece for row in rows for piece in (row, end)])


def score_stream(call, stream, seq_length, context, limit=None, batch_size=32):
    """Total nats and count of the ids of `stream` scored by `call(ids) -> logits`.

    Windows of `seq_length` scored ids, each read after the `context` ids before it (not
    scored), so every scored id but the very first ones has `context` ids of left context.
    `limit` scores only the first `limit` windows.
    """
    stream = np.asarray(stream)
    seq = seq_length
    starts = list(range(1, stream.size, seq))
    if limit:
        starts = starts[:limit]
    nats, count = 0.0, 0
    for k in range(0, len(starts), batch_size):
        rows, targets, masks = [], [], []
        for s in starts[k:k + batch_size]:
            lo = max(0, s - 1 - context)
            x = stream[lo:min(s - 1 + seq, stream.size - 1)]
            y = stream[lo + 1:lo + 1 + x.size]
            scored = np.arange(x.size) >= (s - 1 - lo)
            rows.append(x), targets.append(y), masks.append(scored)
        width = max(r.size for r in rows)
        x = np.zeros((len(rows), width), "int32")
        y = np.zeros_like(x)
        m = np.zeros(x.shape, bool)
        for j, (r, t, s) in enumerate(zip(rows, targets, masks)):
            x[j, :r.size], y[j, :t.size], m[j, :s.size] = r, t, s
        logits = keras.ops.convert_to_numpy(call(x))
        nats += cross_entropy_sum(logits[m], y[m])
        count += int(m.sum())
    return nats, count


def _lm_loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@register_task("language_modeling")
class LanguageModel(Task):
    """A character or subword LSTM language model.

    Its preprocessing state holds the `tokenizer` config, `seq_length` (training window) and
    `context` (ids of left context each scored window carries when evaluating).

    Args:
        model, preprocessing, metadata, directory: see `Task`.
        tokenizer: the tokenizer object, when not read from a checkpoint folder.

    Example:
    >>> lm = model_zoo.load("charlm_lstm_shakespeare")
    >>> lm.generate("ROMEO.\\n", max_chars=200, temperature=0.8, top_k=20, seed=1)
    """

    model_caches = ("_sampler", "_score")

    def __init__(self, model, preprocessing, metadata=None, directory=None, tokenizer=None):
        super().__init__(model, preprocessing, metadata, directory)
        self._tokenizer = tokenizer
        self._sampler = None
        self._score = None  # The compiled forward pass `evaluate` uses, built once.

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = tokenizer_from_config(
                self.preprocessing["tokenizer"], functools.partial(read_asset, self.directory))
        return self._tokenizer

    @property
    def unit(self):
        return "char" if self.tokenizer.kind == "character" else "token"

    def assets(self):
        return self.tokenizer.assets()

    def encode_stream(self, texts):
        """One id stream of `texts` (a subword model separates documents with `[END]`)."""
        return encode_stream(self.tokenizer, texts)

    # -- generation -------------------------------------------------------------------------------

    def _start_ids(self, prompt):
        tokenizer = self.tokenizer
        if tokenizer.kind == "character":
            ids = tokenizer.encode_text(normalize_text(prompt or "\n"))
            return ids.tolist()
        ids = tokenizer(([prompt] if prompt else [""]))[0]
        return [tokenizer.end_id] + [int(i) for i in ids if i]

    def generate(self, prompt="", max_chars=200, temperature=1.0, top_k=0, top_p=1.0,
                 seed=None, num_samples=1):
        """Continues `prompt` by sampling from the model, one compiled step per token.

        Args:
            prompt: a string, or a list of strings to continue as one batch. An empty prompt
                starts a new line (characters) or document (subwords).
            max_chars: characters to generate (tokens, for a subword model).
            temperature: divides the logits; 0 is greedy decoding.
            top_k: sample only among the k likeliest tokens (0: all).
            top_p: sample only among the likeliest tokens whose probability adds up to top_p
                (1.0: all).
            seed: the same seed gives the same text.
            num_samples: continuations per prompt.

        Returns:
            A string for one prompt and one sample, else a list (prompt-major).

        Limits (see `model_zoo.limits`): 10,000 characters per prompt, `max_chars` up to
        10,000, and 10,000 prompts x samples per call.
        """
        single = isinstance(prompt, str)
        prompts = [prompt] if single else check_texts(prompt, where="prompt")
        check_sampling(temperature, top_k, top_p, limits.positive_int(max_chars, "max_chars"))
        limits.check("generate_chars", max_chars, "`max_chars`")
        limits.check("texts", len(prompts) * limits.positive_int(num_samples, "num_samples"),
                     "The batch of prompts x samples")
        for k, text in enumerate(prompts):
            limits.check("prompt_chars", len(text), f"Prompt {k + 1}")
        if self._sampler is None:
            banned = [self.tokenizer.pad_id, self.tokenizer.unknown_id]
            if self.tokenizer.kind != "character":
                banned.append(self.tokenizer.start_id)
            self._sampler = StatefulSampler(self.model, banned_ids=banned)
        starts = [self._start_ids(p) for p in prompts for _ in range(num_samples)]
        new = self._sampler.generate(starts, int(max_chars), temperature, top_k, top_p, seed)
        texts = [self.tokenizer.detokenize(ids) for ids in new]
        return texts[0] if single and num_samples == 1 else texts

    predict = generate

    def generate_naive(self, prompt, max_chars, temperature=1.0, seed=None):
        """The slow reference decoder: runs the model on the whole prefix for every new token.

        Only for the benchmark (`benchmarks/char_generation.py`), which compares it with
        `generate`.
        """
        ids = self._start_ids(prompt)
        rng = np.random.default_rng(seed)
        call = compile_function(lambda x: self.model(x, training=False)[:, -1],
                                self.model.variables)
        start = len(ids)
        for _ in range(int(max_chars)):
            logits = keras.ops.convert_to_numpy(call(np.array([ids], dtype="int32")))[0]
            logits[[self.tokenizer.pad_id, self.tokenizer.unknown_id]] = -1e9
            logits = logits / max(temperature, 1e-6)
            ids.append(int(np.argmax(logits + rng.gumbel(size=logits.shape))))
        return self.tokenizer.detokenize(ids[start:])

    def predict_example(self):
        out = self.generate(["The ", ""], max_chars=16, temperature=0.8, top_k=10, seed=0)
        return out, (2,)

    # -- scoring -------------------------------------------------------------------------------

    def evaluate(self, texts, limit=None, batch_size=32):
        """Cross-entropy of the model on `texts`: nats and bits per char (or token).

        The id stream is cut into windows of `seq_length` scored ids, each read after the
        `context` ids before it (which are not scored), so every scored id has context.

        Args:
            texts: a string or a list of strings (joined into one stream).
            limit: score only the first `limit` windows (the registry's quick check).

        Returns:
            `{"nats_per_char", "bits_per_char", "perplexity", "chars"}` (`token` for a subword
            model) and how many of the scored characters were outside the model's alphabet
            (`out_of_alphabet_chars`, and their share `out_of_alphabet_share`; a subword
            model: `unknown_tokens`, `unknown_share`). Each of them was read, and scored,
            as the one unknown symbol.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self.evaluate_ids(self.encode_stream(check_texts(texts)), limit, batch_size)

    def evaluate_ids(self, stream, limit=None, batch_size=32):
        """`evaluate` on an id stream (see there)."""
        if self._score is None:
            self._score = compile_function(lambda x: self.model(x, training=False),
                                           self.model.variables)
        nats, count = score_stream(self._score, stream, int(self.preprocessing["seq_length"]),
                                   int(self.preprocessing["context"]), limit, batch_size)
        # The scored ids are stream[1:1 + count] (windows tile the stream from its 2nd id).
        unknown = int(np.count_nonzero(np.asarray(stream)[1:1 + count]
                                       == self.tokenizer.unknown_id))
        name = "out_of_alphabet" if self.unit == "char" else "unknown"
        return {**language_model_metrics(nats, count, self.unit),
                f"{name}_{self.unit}s": unknown, f"{name}_share": unknown / max(count, 1)}

    # -- adaptation and transfer ------------------------------------------------------------------

    def adapt(self, texts, epochs=1, strategy=None, val_fraction=0.05, batch_size=32, seed=0,
              verbose=0):
        """Fine-tunes the language model on `texts` (ULMFiT's second step); returns a new one."""
        texts = check_texts(texts)
        return self._adapt_stream(self.encode_stream(texts), len(texts), epochs, strategy,
                                  val_fraction, batch_size, seed, verbose)

    def _adapt_stream(self, stream, n_texts, epochs=1, strategy=None, val_fraction=0.05,
                      batch_size=32, seed=0, verbose=0):
        """`adapt` on the id stream of `n_texts` texts."""
        strategy = get_strategy(strategy or "ulmfit")
        if not hasattr(strategy, "adapt"):
            raise InputError(f"Adapting a language model needs a strategy with `adapt` "
                             f"(ulmfit). Received: {type(strategy).__name__}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise InputError(f"`epochs` must be a positive integer. Received: {epochs!r}")
        keras.utils.set_random_seed(seed)
        seq = int(self.preprocessing["seq_length"])
        if stream.size < 2 * (seq + 1):
            seq = max(8, stream.size // 4)
        split = int(stream.size * (1 - val_fraction)) if val_fraction else stream.size
        if stream.size - split < seq + 1:
            split = stream.size
        train = stream_windows(stream[:split], seq, batch_size, shuffle=True, seed=seed,
                               stride=seq)
        val = (stream_windows(stream[split:], seq, batch_size) if split < stream.size else None)
        model = copy_model(self.model)
        tuned = LanguageModel(model, copy.deepcopy(self.preprocessing), self.metadata,
                              self.directory, tokenizer=self.tokenizer)
        before = self._stream_nats(stream[split:]) if split < stream.size else None
        history = strategy.adapt(model, train, val, loss=_lm_loss(), epochs=int(epochs),
                                 verbose=verbose)
        tuned.finetune_metrics = {
            "texts": int(n_texts), f"train_{self.unit}s": int(split),
            f"val_{self.unit}s": int(stream.size - split), "epochs": int(epochs),
            f"val_nats_per_{self.unit}_before": before,
            f"val_nats_per_{self.unit}_after": (tuned._stream_nats(stream[split:])
                                               if split < stream.size else None),
            "stages": len(history["stages"])}
        return tuned

    def _stream_nats(self, stream):
        return self.evaluate_ids(stream)[f"nats_per_{self.unit}"]

    def classifier_model(self, num_classes, dropout=0.3, pooling=("last", "max", "mean")):
        """A classifier with this model's embedding and encoder shapes (weights not copied)."""
        layers = recurrent_layers(self.model)
        cells = {"lstm" if isinstance(layer, keras.layers.LSTM) else
                 "gru" if isinstance(layer, keras.layers.GRU) else type(layer).__name__
                 for layer in layers}  # the zoo's FastLSTM/FastGRU are LSTM/GRU subclasses
        if len(cells) != 1 or not cells <= {"lstm", "gru"}:
            raise InputError(f"Only LSTM or GRU language models transfer to a classifier. "
                             f"Received: {sorted(cells)}")
        embedding = self.model.get_layer("embedding")
        return build_text_classifier(
            vocabulary_size=embedding.input_dim, num_classes=num_classes,
            embedding_dim=embedding.output_dim, cell=cells.pop(),
            units=[layer.cell.units for layer in layers], bidirectional=False, dropout=dropout,
            embedding_dropout=0.1, pooling=pooling, name="ulmfit_classifier")

    def to_classifier(self, labels, max_length=None, truncation="head_tail", dropout=0.3):
        """A `TextClassifier` for `labels`: this model's encoder weights, a new random head."""
        labels = sorted({str(label) for label in labels})
        if len(labels) < 2:
            raise InputError(f"A classifier needs at least two labels. Received: {labels}")
        model = self.classifier_model(len(labels), dropout)
        transfer_encoder(self.model, model)
        preprocessing = {"tokenizer": self.tokenizer.get_config(), "labels": labels,
                         "max_length": int(max_length or self.preprocessing.get(
                             "classifier_max_length", 256)),
                         "truncation": truncation}
        return TextClassifier(model, preprocessing, self.metadata, self.directory,
                              tokenizer=self.tokenizer)

    def finetune(self, data, text_column="text", label_column="label", epochs=None,
                 strategy=None, lm_epochs=1, validation=None, batch_size=32, seed=0,
                 verbose=0, test=None, test_fraction=None):
        """Adapts the language model to new text, or turns it into a classifier (ULMFiT).

        Either way a test part is held out of the user's data first (or given as `test`),
        never trained on (nor read by the adaptation), and the fine-tuned model is compared
        there with the model before fine-tuning and a classical baseline fitted on the rest
        (`finetune_metrics["comparison"]`, see `comparison_rows`).

        Args:
            data: plain text: a `.txt` path, a list of paths, or `{"texts": [...]}` gives a
                new `LanguageModel` adapted to that text. Labelled data (a CSV path with
                `text_column` and `label_column`, a DataFrame, `(texts, labels)` or
                `{"texts", "labels"}`) gives a `TextClassifier` of those labels: the language
                model is first adapted to the texts for `lm_epochs`, then its encoder gets a
                new head and is fine-tuned with gradual unfreezing.
            epochs: epochs of the classifier (default 6) or of the adaptation (default 5:
                on 270k characters of tweets and of food reviews, 1 epoch left the adapted
                model behind a character 5-gram, 1.79 and 1.56 nats/char against 1.56 and
                1.47, and 5 put it ahead, 1.53 and 1.37; the best validation epoch is kept).
            strategy: `"ulmfit"` (default) or an `ULMFiT` object.
            lm_epochs: adaptation epochs before a classifier is built (0: none).
            validation: labelled data for the classifier's early stopping (default: 10% of
                each class held out).
            test: data never trained on, of the same kind as `data` (plain text: a path, a
                list of paths or `{"texts": [...]}`; labelled data: as `data`), on which the
                comparison is made. Plain text: the fine-tuned model, the model before
                fine-tuning and an n-gram model of the training text, in nats per char (or
                token) as `evaluate` counts them. Labelled data: accuracy of the classifier
                and of TF-IDF + logistic regression (as `TextClassifier.finetune`).
            test_fraction: without `test`, the share held out for the comparison (0: none):
                by default the last 10% of a plain text's ids (characters or tokens, by
                position: the end of the last file), or 20% of each label of labelled data.
        """
        from model_zoo.comparison import check_fraction

        if epochs is not None:
            limits.positive_int(epochs, "epochs")
        strategy = get_strategy(strategy or "ulmfit")
        plain = _plain_texts(data)
        if plain is not None:
            test_fraction = check_fraction(0.1 if test_fraction is None else test_fraction)
            return self._finetune_text(plain, epochs or TEXT_EPOCHS, strategy, batch_size,
                                       seed, verbose, test, test_fraction)
        test_fraction = check_fraction(0.2 if test_fraction is None else test_fraction)
        return self._finetune_classifier(data, text_column, label_column, epochs, strategy,
                                         lm_epochs, validation, batch_size, seed, verbose,
                                         test, test_fraction)

    def _finetune_text(self, texts, epochs, strategy, batch_size, seed, verbose, test,
                       test_fraction):
        """`finetune` on plain text: holds out the end (or reads `test`), adapts, compares."""
        stream = self.encode_stream(texts)
        unit = self.unit
        held = None
        if test is not None:
            test_texts = _plain_texts(test)
            if test_texts is None:
                raise InputError("`test` of a language model adapted to plain text is plain "
                                 "text too: a .txt path, a list of paths or {'texts': [...]}. "
                                 f"Received: {type(test).__name__}")
            held = self.encode_stream(test_texts)
            rule = "the given test text"
        elif test_fraction:
            size = int(round(test_fraction * stream.size))
            held, stream = stream[stream.size - size:], stream[:stream.size - size]
            rule = f"the last {test_fraction:.0%} of the text ({unit}s), by position"
        if held is not None and held.size < 2:
            raise InputError(f"The held-out test text must have at least 2 {unit}s (one to "
                             f"read, one to predict); pass more text, a larger test_fraction, "
                             f"or test_fraction=0. Received: {held.size} {unit}s")
        if test is None and held is not None and stream.size < 2:
            raise InputError(f"After holding out the test part, {stream.size} {unit}s are left "
                             f"to train on. Pass more text or a smaller test_fraction. "
                             f"Received: test_fraction={test_fraction}")
        tuned = self._adapt_stream(stream, len(texts), epochs=epochs, strategy=strategy,
                                   batch_size=batch_size, seed=seed, verbose=verbose)
        if held is not None:
            m = tuned.finetune_metrics
            self.compare_finetuned(tuned, stream, held, {
                "rule": rule, "train": m[f"train_{unit}s"], "validation": m[f"val_{unit}s"],
                "test": int(held.size), "unit": f"{unit}s"})
        return tuned

    @property
    def comparison_metric(self):
        """`evaluate`'s nats per char (per token, for a subword model): lower is better."""
        return f"nats_per_{self.unit}"

    comparison_higher_is_better = False

    def comparison_rows(self, tuned, train, test):
        """`evaluate_ids` of the fine-tuned model and of this one on the held-out id stream
        `test`, and the classical n-gram baseline (`ngram_baseline.baseline_nats`: a
        Kneser-Ney character 5-gram, or a Witten-Bell token 3-gram) fitted on `train`, the ids
        the adaptation read (training and validation). All three score the same ids, `test[1:]`,
        each after the ids before it in `test`."""
        from model_zoo.models.text import ngram_baseline

        unit = self.unit
        rows = {"fine-tuned": tuned.evaluate_ids(test), "zero-shot": self.evaluate_ids(test)}
        nats, count = ngram_baseline.baseline_nats(train, test, unit,
                                                   self.tokenizer.vocabulary_size)
        unknown = {k: v for k, v in rows["fine-tuned"].items()  # the same ids: the same counts
                   if k.startswith(("out_of_alphabet", "unknown"))}
        rows["baseline"] = {**language_model_metrics(nats, count, unit), **unknown}
        models = {"fine-tuned": f"{self.name} adapted to the text", "zero-shot": self.name,
                  "baseline": ngram_baseline.describe(unit)}
        return rows, models, {}

    def _finetune_classifier(self, data, text_column, label_column, epochs, strategy,
                             lm_epochs, validation, batch_size, seed, verbose, test,
                             test_fraction):
        """`finetune` on labelled data (ULMFiT); the test part is held out before the language
        model is adapted, so that neither step reads it."""
        from model_zoo import comparison
        from model_zoo.tasks.text_classification import stratified_holdout

        texts, labels = labelled_data(data, text_column, label_column)
        test_texts = test_labels = None
        if test is not None:
            test_texts, test_labels = labelled_data(test, text_column, label_column)
            rule = "the given test data"
        elif test_fraction:
            keep, held = stratified_holdout(labels, test_fraction, seed)
            if len(held):  # None when every label has a single text.
                test_texts, test_labels = [texts[i] for i in held], [labels[i] for i in held]
                texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
                rule = f"{test_fraction:.0%} of each label, stratified (seed {seed})"
        lm = self
        if lm_epochs:
            lm = self.adapt(texts, epochs=lm_epochs, strategy=strategy, batch_size=batch_size,
                            seed=seed, verbose=verbose)
        classifier = lm.to_classifier(labels)
        tuned = classifier.finetune(
            (texts, labels), epochs=epochs or 6, strategy=strategy, validation=validation,
            batch_size=batch_size, seed=seed, verbose=verbose,
            test=None if test_texts is None else (test_texts, test_labels), test_fraction=0)
        record = tuned.finetune_metrics.get("comparison")
        if record:  # The classifier's "zero-shot" row would be its random new head.
            rows = {k: v for k, v in record["rows"].items() if k != "zero-shot"}
            models = {k: v for k, v in record["models"].items() if k != "zero-shot"}
            models["fine-tuned"] = (
                f"{self.name}'s architecture trained from random weights (ULMFiT)"
                if self.random_init else f"ULMFiT classifier on {self.name}'s encoder")
            skipped = {**record["skipped"], "zero-shot": "a language model has no classifier "
                       "head before fine-tuning: there is no zero-shot classifier"}
            tuned.finetune_metrics["comparison"] = comparison.build(
                rows, record["metric"], record["higher_is_better"],
                {**record["split"], "rule": rule}, models, skipped)
        tuned.finetune_metrics["language_model_adaptation"] = getattr(lm, "finetune_metrics",
                                                                      None)
        tuned.finetune_metrics["transfer"] = f"ULMFiT from {self.name}"
        return tuned

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a prompt (a string), or {{\"prompt\": \"...\", \"max_chars\": n, "
                    "\"temperature\": t, \"top_k\": k, \"top_p\": p, \"seed\": s}} (`generate`'s "
                    "settings and defaults: 200 {task.unit}s, temperature 1; a seeded instance "
                    "is generated on its own, so its text is `generate(prompt, seed=s)`'s)",
        "prediction": "the continuation (a string, without the prompt)"}

    def serve_instances(self, instances):
        """`generate` once per distinct settings, on all the prompts that have them."""
        prompts, settings = self.serving_instances(instances, "prompt", {
            "max_chars": int, "temperature": float, "top_k": int, "top_p": float, "seed": int})
        return self.run_grouped(self.generate, prompts, settings,
                                alone=lambda given: "seed" in given)

    # -- command line ------------------------------------------------------------------------------

    def predict_cli(self, args):
        return _run_generation(self, args)

    @classmethod
    def finetune_data_from_cli(cls, args):
        if args.csv and args.text_file:
            raise InputError("Give either --csv (labelled texts: a classifier) or --text-file "
                             "(plain text: an adapted language model), not both. Received: both")
        held_out = {"test": args.test, "test_fraction": args.test_fraction}
        if args.csv:
            return {"data": args.csv, "text_column": args.text_column,
                    "label_column": args.label_column, "lm_epochs": args.lm_epochs,
                    "seed": args.seed if args.seed is not None else 0, **held_out}
        if args.text_file:
            return {"data": list(args.text_file),
                    "seed": args.seed if args.seed is not None else 0, **held_out}
        raise InputError("`model-zoo finetune` of a language model needs --text-file FILE "
                         "(adapt it) or --csv FILE --text-column T --label-column L (a "
                         "classifier). Received: neither")


def _plain_texts(data):
    """The texts of plain-text input (paths or `{"texts": [...]}`), or None for labelled data."""
    import os

    if isinstance(data, dict) and "labels" not in data and "texts" in data:
        return check_texts(data["texts"])
    paths = [data] if isinstance(data, (str, os.PathLike)) else data
    if isinstance(paths, (list, tuple)) and paths and all(
            isinstance(p, (str, os.PathLike)) for p in paths):
        if all(not os.fspath(p).lower().endswith(".csv") for p in paths) and all(
                os.path.splitext(os.fspath(p))[1] or os.path.exists(p) for p in paths):
            return read_text_files(paths)
    return None


def _run_generation(lm, args):
    prompts = args.prompt or [""]
    texts = lm.generate(prompts, max_chars=args.max_chars, temperature=args.temperature,
                        top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                        num_samples=args.num_samples)
    return {"model": lm.name, "samples": [{"prompt": p, "text": t} for p, t in zip(
        [p for p in prompts for _ in range(args.num_samples)], texts)]}


def generate_command(args):
    """`model-zoo generate NAME` (arguments: `cli_arguments.VERBS`)."""
    from model_zoo.api import load
    from model_zoo.tasks.cli_arguments import emit

    lm = load(args.name)
    if not isinstance(lm, LanguageModel):
        raise InputError(f"`model-zoo generate` needs a language model; {args.name} is a "
                         f"{lm.task_name} model. Received: {args.name}")
    emit(_run_generation(lm, args), args, lambda result: "\n\n".join(
        sample["prompt"] + sample["text"] for sample in result["samples"]))
    return 0
