"""The translation task: `load(name).translate(["...", ...], beam_size=4)` on raw strings.

The checkpoint carries both SentencePiece models (assets `source.spm`, `target.spm`) and the
decoding settings, so a user passes plain sentences and gets plain sentences back.
"""

import dataclasses
import json
import os
import warnings

import numpy as np

from model_zoo import limits
from model_zoo.checkpoint import read_asset
from model_zoo.data.parallel_text import as_pairs, as_texts, read_parallel_tsv, seq2seq_dataset
from model_zoo.data.text import pad_rows, read_text_files
from model_zoo.errors import InputError
from model_zoo.fsutil import require_writable
from model_zoo.metrics.translation import translation_metrics
from model_zoo.models.copying import copy_model
from model_zoo.models.seq2seq import (
    LabelSmoothedCrossEntropy,
    SentencePieceTokenizer,
    Seq2SeqDecoder,
    with_target_vocabulary,
)
from model_zoo.optional import import_optional
from model_zoo.tasks.base import Task, register_task
from model_zoo.training.finetune import get_strategy

#: The comparison's second classical baseline (the source copied unchanged): a row named
#: "baseline (...)" is one of the baselines the fine-tuned model is judged against.
COPY_SOURCE = "baseline (copy source)"
SOURCE_ASSET, TARGET_ASSET = "source.spm", "target.spm"


@register_task("translation")
class Translator(Task):
    """A subword LSTM encoder-decoder with attention, translating raw sentences.

    Its preprocessing state holds the languages, the subword lengths it was trained on and the
    decoding settings (`beam_size`, `alpha`, the length guard `length_ratio`/`length_extra`/
    `max_decode_length`, `batch_size`). The tokenizers are assets of the checkpoint.

    Args:
        model: the Keras training model (`build_lstm_seq2seq`).
        preprocessing: the state described above.
        metadata, directory: as for every task.
        tokenizers: `(source, target)` `SentencePieceTokenizer`s; read from the checkpoint's
            assets when not given.

    Example:
    >>> translator = model_zoo.load("translation_bilstm_bible_en_es")
    >>> translator.translate(["God is love."], beam_size=4)
    ['Dios es amor.']
    """

    model_caches = ("_decoder",)

    def __init__(self, model, preprocessing, metadata=None, directory=None, tokenizers=None):
        super().__init__(model, preprocessing, metadata, directory)
        self._tokenizers = tokenizers
        self._decoder = None

    # -- preprocessing -----------------------------------------------------------------------

    @property
    def tokenizers(self):
        if self._tokenizers is None:
            if self.directory is None:
                raise InputError("This translator has no tokenizers: pass tokenizers=(source, "
                                 "target) or load it from a checkpoint. Received: None")
            self._tokenizers = tuple(
                SentencePieceTokenizer(read_asset(self.directory, name, binary=True))
                for name in (SOURCE_ASSET, TARGET_ASSET))
        return self._tokenizers

    @property
    def source_tokenizer(self):
        return self.tokenizers[0]

    @property
    def target_tokenizer(self):
        return self.tokenizers[1]

    def assets(self):
        return {SOURCE_ASSET: self.source_tokenizer.proto, TARGET_ASSET: self.target_tokenizer.proto}

    @property
    def decoder(self):
        if self._decoder is None:
            self._decoder = Seq2SeqDecoder(self.model)
        return self._decoder

    def _setting(self, key, value):
        return self.preprocessing[key] if value is None else value

    def length_guard(self, source_lengths):
        """Most target subwords to produce for sources of these lengths."""
        p = self.preprocessing
        guard = np.ceil(p["length_ratio"] * np.asarray(source_lengths) + p["length_extra"])
        return np.minimum(guard, p["max_decode_length"]).astype("int64")

    # -- translation ---------------------------------------------------------------------------

    def _translate_ids(self, texts, beam_size, alpha, batch_size, return_attention):
        ids = self.source_tokenizer.tokenize(texts)
        limit = self.preprocessing["max_decode_length"]
        ids = [row[:limit] for row in ids]  # The guard also bounds what is read.
        order = np.argsort([len(r) for r in ids], kind="stable")  # Batches of similar length.
        outputs, maps = [None] * len(ids), [None] * len(ids)
        for start in range(0, len(ids), batch_size):
            index = order[start:start + batch_size]
            rows = [ids[i] for i in index]
            source = pad_rows(rows)
            tokens, attention = self.decoder.decode(
                source, self.length_guard([len(r) for r in rows]), beam_size=beam_size,
                alpha=alpha, return_attention=return_attention)
            for j, i in enumerate(index):
                outputs[i] = tokens[j]
                if return_attention:
                    maps[i] = attention[j]
        return ids, outputs, maps

    def translate(self, texts, beam_size=None, alpha=None, batch_size=None):
        """Translates raw sentences.

        Args:
            texts: a string or a list of strings.
            beam_size: hypotheses kept per sentence; 1 is greedy search (default: the
                checkpoint's setting).
            alpha: length-normalisation strength of beam search (default: the checkpoint's).
            batch_size: sentences decoded together.

        Returns:
            A string for a string, a list of strings for a list.

        Each sentence must have some words; at most 10,000 sentences of 20,000 characters per
        call (see `model_zoo.limits`).
        """
        texts, single = as_texts(texts)
        limits.check_texts(texts, "sentence")
        beam_size = limits.positive_int(self._setting("beam_size", beam_size), "beam_size")
        if not texts:
            return []
        _, outputs, _ = self._translate_ids(texts, beam_size, self._setting("alpha", alpha),
                                            int(self._setting("batch_size", batch_size)), False)
        result = self.target_tokenizer.detokenize(outputs)
        return result[0] if single else result

    predict = translate

    def attention(self, text, beam_size=1):
        """The translation of one sentence with its attention weights.

        Returns:
            `{"translation", "source_pieces", "target_pieces", "weights"}`; `weights` is a
            `(target pieces, source pieces)` array whose rows sum to 1.
        """
        texts, _ = as_texts(text)
        if len(texts) != 1:
            raise InputError(f"Attention is drawn for one sentence. Received: {len(texts)}")
        limits.check_texts(texts, "sentence")
        beam_size = limits.positive_int(beam_size, "beam_size")
        ids, outputs, maps = self._translate_ids(texts, beam_size, self.preprocessing["alpha"],
                                                 1, True)
        return {"translation": self.target_tokenizer.detokenize(outputs)[0],
                "source_pieces": self.source_tokenizer.pieces(ids[0]),
                "target_pieces": self.target_tokenizer.pieces(outputs[0]),
                "weights": maps[0]}

    def plot_attention(self, text, path, beam_size=1):
        """Draws the attention weights of one translation into the image file `path`."""
        check_plot_path(path)
        matplotlib = import_optional("matplotlib", "train", "Drawing attention weights")

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        result = self.attention(text, beam_size=beam_size)
        weights = result["weights"]
        if weights is None or not np.size(weights):
            raise InputError(f"The translation of this sentence is empty: nothing to draw. "
                             f"Received: {text!r}")
        rows, cols = weights.shape
        fig, ax = plt.subplots(figsize=(max(4, 0.35 * cols + 2), max(3, 0.3 * rows + 2)))
        ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(cols), result["source_pieces"], rotation=90, fontsize=8)
        ax.set_yticks(range(rows), result["target_pieces"], fontsize=8)
        ax.set_xlabel("source subwords")
        ax.set_ylabel("output subwords")
        ax.set_title(result["translation"][:90], fontsize=9)
        fig.tight_layout()
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return result

    def predict_example(self):
        texts = ["In the beginning God created the heavens and the earth.", "God is love."]
        out = self.translate(texts, beam_size=2)
        assert all(isinstance(t, str) for t in out)
        return out, (len(texts),)

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, sources, references, beam_size=None, alpha=None):
        """sacreBLEU BLEU and chrF (with signatures) of the translations of `sources`."""
        sources, _ = as_texts(sources)
        references, _ = as_texts(references)
        with limits.override(texts=None, text_chars=None):  # A test set is as large as it is.
            hypotheses = self.translate(sources, beam_size=beam_size, alpha=alpha)
        return {**translation_metrics(hypotheses, references), "hypotheses": hypotheses}

    # -- fine-tuning -----------------------------------------------------------------------------

    def finetune(self, data, epochs=5, val_fraction=0.1, batch_size=32, strategy="full",
                 learning_rate=None, label_smoothing=0.1, max_length=None, seed=0, verbose=0,
                 test=None, test_fraction=0.1, target_vocabulary="keep", target_language=None):
        """Adapts the translator to a user's sentence pairs.

        By default the subword vocabularies stay those of the checkpoint (words unseen before
        are spelled with known pieces), so the network keeps its shape and starts from the
        published weights. For another target language, `target_vocabulary="new"` trains a
        target vocabulary on the user's targets and gives the network a new target embedding
        and output layer, keeping the encoder (and the decoder's LSTMs and attention). BLEU (greedy) on the validation pairs is measured before and after. First a
        test part of the pairs is held out (or `test` is given), never trained on: there the
        fine-tuned model is compared with the model before fine-tuning and the classical
        baselines (`finetune_metrics["comparison"]`, see `comparison_rows`).

        Args:
            data: a TSV path (`source<TAB>target` per line) or a list of `(source, target)`.
            epochs: training epochs.
            val_fraction: share of the pairs (at least one) held out for early stopping and
                the before/after BLEU.
            batch_size: pairs per batch.
            strategy: `"full"` (default: every layer, small learning rate),
                `"gradual_unfreezing"`, or a strategy object (`model_zoo.training.finetune`).
            learning_rate: peak learning rate (default: the strategy's).
            label_smoothing: as in training.
            max_length: leave out training pairs longer than this many subwords (default:
                the checkpoint's training limit). How many were left out is in
                `finetune_metrics["dropped_long_pairs"]` and a warning; if it is most of them,
                an `InputError` says so instead of training on what remains.
            seed: random seed of the split, shuffling and dropout.
            test: pairs never trained on (a TSV path or a list of `(source, target)`), on
                which the fine-tuned model, this model (zero-shot) and the classical baselines
                (the target of the nearest training source by TF-IDF cosine, and copying the
                source) are compared by BLEU, decoding as `evaluate` does
                (`finetune_metrics["comparison"]`). At most 500 pairs (the limit
                `finetune_test_pairs`, see `model_zoo.limits`: translating is slow).
            test_fraction: without `test`, the share of the pairs (at least one, at most
                `finetune_test_pairs`) held out at random for the comparison before the
                validation pairs are drawn (0: no comparison).
            target_vocabulary: `"keep"` (default) the checkpoint's target vocabulary, `"new"`
                a SentencePiece vocabulary of at most 2,000 pieces (fewer if the checkpoint's
                is smaller) trained on the targets of the training and validation pairs (never
                the test part), or a positive int, its size. Needs `sentencepiece` (the
                `train` extra).
            target_language: the new target language's code, for the metadata (default: the
                checkpoint's).

        Returns:
            A new `Translator`, with `.finetune_metrics`.
        """
        from model_zoo.comparison import check_fraction

        test_fraction = check_fraction(test_fraction)
        pairs = as_pairs(data)
        held = None
        if test is not None:
            held = as_pairs(test)
            limits.check("finetune_test_pairs", len(held), "The test set")
            rule = "the given test pairs"
        elif test_fraction and len(pairs) > 1:
            most = limits.get("finetune_test_pairs")
            n_test = max(1, int(round(test_fraction * len(pairs))))
            n_test = min(n_test, int(most)) if most else n_test
            order = np.random.default_rng(seed).permutation(len(pairs))
            held = [pairs[i] for i in order[:n_test]]
            pairs = [pairs[i] for i in sorted(order[n_test:])]
            rule = (f"{test_fraction:.0%} of the pairs"
                    + (f" (at most {int(most)})" if most else "") + f", at random (seed {seed})")
        tuned = self._finetune(pairs, epochs, val_fraction, batch_size, strategy,
                               learning_rate, label_smoothing, max_length, seed, verbose,
                               held_out=len(held or ()),
                               target_vocabulary=target_vocabulary,
                               target_language=target_language)
        if held is not None:
            m = tuned.finetune_metrics
            self.compare_finetuned(tuned, pairs, held, {
                "rule": rule, "train": m["train_pairs"], "validation": m["val_pairs"],
                "test": len(held), "unit": "pairs"})
        return tuned

    comparison_metric = "bleu"

    def comparison_rows(self, tuned, train, test):
        """`evaluate` (BLEU and chrF, the checkpoint's decoding) on the held-out pairs of the
        fine-tuned model and of this one (same tokenizers), and of the classical baselines
        fitted on every pair the fine-tune saw: retrieving the target of the nearest training
        source (the "baseline" row) and copying the source ("baseline (copy source)", strong
        where names, numbers and code pass through unchanged). Both are classical baselines:
        the fine-tuned model is judged against the stronger of them on the test pairs."""
        from model_zoo.models.seq2seq import baselines

        sources, references = [s for s, _ in test], [t for _, t in test]

        def scores(metrics):  # Without the translations themselves: they are not a metric.
            return {k: v for k, v in metrics.items() if k != "hypotheses"}

        rows = {"fine-tuned": scores(tuned.evaluate(sources, references)),
                "zero-shot": scores(self.evaluate(sources, references)),
                "baseline": translation_metrics(
                    baselines.nearest_pair(train).translate(sources), references),
                COPY_SOURCE: translation_metrics(baselines.copy_source(sources), references)}
        settings = tuned.preprocessing
        decoding = f"beam {settings['beam_size']}, alpha {settings['alpha']}"
        models = {"fine-tuned": f"{self.name} fine-tuned ({decoding})",
                  "zero-shot": f"{self.name} ({decoding})", "baseline": baselines.DESCRIPTION,
                  COPY_SOURCE: baselines.COPY_DESCRIPTION}
        return rows, models, {}

    def _finetune(self, pairs, epochs, val_fraction, batch_size, strategy, learning_rate,
                  label_smoothing, max_length, seed, verbose, held_out=0,
                  target_vocabulary="keep", target_language=None):
        """`finetune` on the pairs left after the test part (`held_out` of them) was taken."""
        import keras

        new_size = _new_target_vocabulary_size(target_vocabulary,
                                               self.target_tokenizer.vocabulary_size)
        if target_language is not None and (not isinstance(target_language, str)
                                             or not target_language.strip()):
            raise InputError(f"`target_language` must be a language code such as 'fr'. "
                             f"Received: target_language={target_language!r}")
        if len(pairs) < 2:
            raise InputError(f"Fine-tuning needs at least 2 sentence pairs (one to validate)"
                             + (f" besides the {held_out} held out for the comparison (pass "
                                f"more pairs, or test_fraction=0)" if held_out else "")
                             + f". Received: {len(pairs)}")
        keras.utils.set_random_seed(seed)
        order = np.random.default_rng(seed).permutation(len(pairs))
        n_val = min(max(1, int(round(val_fraction * len(pairs)))), len(pairs) - 1)
        val = [pairs[i] for i in order[:n_val]]
        train = [pairs[i] for i in order[n_val:]]
        limit = max_length or self.preprocessing["max_source_length"]
        target_tokenizer, start = self.target_tokenizer, self.model
        if new_size:  # Trained on training and validation targets: the test part is apart.
            target_tokenizer = SentencePieceTokenizer.train([t for _, t in pairs], new_size)
            start = with_target_vocabulary(self.model, target_tokenizer.vocabulary_size)
        src = self.source_tokenizer.tokenize([s for s, _ in train])
        tgt = target_tokenizer.tokenize([t for _, t in train])
        kept = [i for i in range(len(train)) if 0 < len(src[i]) <= limit
                and 0 < len(tgt[i]) <= limit]
        dropped = len(train) - len(kept)
        if 2 * dropped > len(train):
            raise InputError(
                f"{dropped} of the {len(train)} training pairs have a side longer than {limit} "
                f"subwords (or an empty side) and would be left out; most of the data would go "
                f"unused. Pass a larger max_length, or split long pairs into sentences. "
                f"Received: max_length={limit}")
        if dropped:
            warnings.warn(f"Left out {dropped} of {len(train)} training pairs with a side "
                          f"longer than {limit} subwords (or empty); pass a larger max_length "
                          f"to keep them.", stacklevel=3)
        train_ds = seq2seq_dataset([src[i] for i in kept], [tgt[i] for i in kept], batch_size,
                                   shuffle=True, seed=seed)
        val_src = self.source_tokenizer.tokenize([s for s, _ in val])
        val_tgt = target_tokenizer.tokenize([t for _, t in val])
        val_ds = seq2seq_dataset(val_src, val_tgt, batch_size)

        model = copy_model(start)
        preprocessing = json.loads(json.dumps(self.preprocessing))
        if target_language is not None:
            preprocessing["target_language"] = target_language.strip()
        tuned = Translator(model, preprocessing, self.metadata,
                           tokenizers=(self.source_tokenizer, target_tokenizer))
        sources, references = [s for s, _ in val], [t for _, t in val]
        before = self.evaluate(sources, references, beam_size=1)
        strategy = get_strategy(strategy)
        if learning_rate is not None and hasattr(strategy, "learning_rate"):
            strategy = dataclasses.replace(strategy, learning_rate=learning_rate)
        history = strategy.fit(model, train_ds, val_ds,
                               loss=LabelSmoothedCrossEntropy(label_smoothing), epochs=epochs,
                               verbose=verbose)
        after = tuned.evaluate(sources, references, beam_size=1)
        tuned.finetune_metrics = {
            "val_bleu_greedy_before": before["bleu"], "val_bleu_greedy_after": after["bleu"],
            "val_chrf_greedy_before": before["chrf"], "val_chrf_greedy_after": after["chrf"],
            "bleu_signature": after["bleu_signature"], "train_pairs": len(kept),
            "dropped_long_pairs": dropped, "max_length": int(limit), "val_pairs": len(val),
            "stages": len(history["stages"]),
            "target_vocabulary": ({"new": True, "size": target_tokenizer.vocabulary_size,
                                   "trained_on": f"the targets of the {len(pairs)} training "
                                                 f"and validation pairs"}
                                  if new_size else {"new": False})}
        return tuned

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a sentence in {task.preprocessing[source_language]} (a string), or "
                    "{{\"text\": \"...\", \"beam_size\": n}} (default beam size "
                    "{task.preprocessing[beam_size]}; 1: greedy, faster)",
        "prediction": "its translation into {task.preprocessing[target_language]} (a string)"}

    def serve_instances(self, instances):
        """`translate` once per distinct beam size, on all the sentences that have it."""
        texts, settings = self.serving_instances(instances, "text", {"beam_size": int})
        return self.run_grouped(self.translate, texts, settings)

    # -- command line ------------------------------------------------------------------------------

    def predict_cli(self, args):
        texts = _texts_from_cli(args.text, args.file)
        return {"model": self.name,
                "translations": self.translate(texts, beam_size=args.beam_size)}

    @classmethod
    def finetune_data_from_cli(cls, args):
        if not args.tsv:
            raise InputError("Fine-tuning a translator needs --tsv PAIRS.tsv. Received: none")
        read_parallel_tsv(args.tsv)  # Fail on a malformed line before any model is loaded.
        if args.test:
            read_parallel_tsv(args.test)
        vocabulary = args.target_vocabulary
        vocabulary = int(vocabulary) if vocabulary.isdigit() else vocabulary
        _new_target_vocabulary_size(vocabulary, 2000)  # Checked before the model loads.
        return {"data": args.tsv, "test": args.test, "test_fraction": args.test_fraction,
                "target_vocabulary": vocabulary,
                "target_language": args.target_language}


def _new_target_vocabulary_size(option, current):
    """The size of a new target vocabulary for `target_vocabulary=option`; 0 to keep it."""
    if isinstance(option, str) and option in ("keep", "new"):
        return 0 if option == "keep" else min(2000, current)
    if isinstance(option, int) and not isinstance(option, bool) and option >= 8:
        return option
    raise InputError(f"`target_vocabulary` must be 'keep', 'new' or a vocabulary size (an int "
                     f">= 8). Received: target_vocabulary={option!r}")


def check_plot_path(path):
    """Raises InputError unless an image can be written to `path` (checked before any work)."""
    import_optional("matplotlib", "train", "Drawing attention weights")
    from matplotlib.backend_bases import FigureCanvasBase

    extension = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if extension and extension not in formats:
        raise InputError(f"The plot's file name must end with an image format matplotlib "
                         f"writes: {', '.join(formats)}. Received: {os.fspath(path)!r}")
    return require_writable(path, "attention plot")


def _texts_from_cli(texts, path):
    """The sentences given on the command line, then those of `path` (one per line)."""
    texts = list(texts)
    if path:
        if not os.path.isfile(path):
            raise InputError(f"No such file of sentences. Received: {path}")
        texts += [line.strip() for line in read_text_files(path)[0].splitlines()
                  if line.strip()]
    if not texts:
        raise InputError("Give sentences to translate (as arguments, --text or --file). "
                         "Received: none")
    return texts


def translate_command(args):
    """`model-zoo translate SENTENCES` (arguments: `cli_arguments.VERBS`)."""
    from model_zoo.api import load
    from model_zoo.tasks.cli_arguments import emit

    texts = _texts_from_cli(args.text, args.file)
    if args.plot:
        check_plot_path(args.plot)  # Before translating: a long run must not fail at its end.
    translator = load(args.model)
    if not isinstance(translator, Translator):
        raise InputError(f"{args.model} is not a translation model. "
                         f"Received: task={translator.task_name}")
    translations = translator.translate(texts, beam_size=args.beam_size)
    if args.plot:
        translator.plot_attention(texts[0], args.plot, beam_size=args.beam_size or 1)
    emit({"model": translator.name, "translations": translations, "plot": args.plot}, args,
         lambda result: result["translations"]
         + ([f"attention plot: {result['plot']}"] if result["plot"] else []))
    return 0
