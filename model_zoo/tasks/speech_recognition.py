"""The speech recognition task: `load(name).transcribe(path_or_waveform)`.

The checkpoint stores the whole front end as JSON (`AudioFeatures`: sample rate, STFT and mel
settings, the checks), the character alphabet, the language and the decoder, so that any file
(WAV, OGG, FLAC; any channel count) or waveform at any sample rate is read, mixed to mono,
resampled and featurised exactly as in training.
"""

import json
import os

import keras
import numpy as np

from model_zoo import limits
from model_zoo.checkpoint import read_asset
from model_zoo.data.audio import (
    Augmentation,
    AudioError,
    AudioFeatures,
    from_int16,
    load_waveform,
    speech_dataset,
    to_int16,
)
from model_zoo.data.speech_corpus import Utterance, folder_corpus
from model_zoo.data.speech_text import CharAlphabet, normalize_transcript
from model_zoo.errors import InputError
from model_zoo.metrics.speech import error_rates
from model_zoo.models.copying import copy_model
from model_zoo.models.speech import (
    CharNgramLM,
    ctc_beam_search_decode,
    ctc_greedy_decode,
    ctc_prefix_beam_search,
)
from model_zoo.tasks.base import Task, register_task
from model_zoo.tasks.cli_arguments import SPEECH_DECODERS as DECODERS
from model_zoo.training.finetune import GradualUnfreezing, get_strategy

LM_ASSET = "char_lm.json.gz"


def _is_waveform(x):
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fiu"
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, (str, bytes)):
        return True  # a framework tensor
    return isinstance(x, (list, tuple)) and bool(x) and isinstance(x[0], (int, float, np.number))


@register_task("speech_recognition")
class SpeechRecognizer(Task):
    """Speech to text with a CTC acoustic model over characters.

    Its preprocessing state: `features` (the `AudioFeatures` front end), `alphabet` (the
    characters; output 0 is the CTC blank), `language` (how transcripts are normalised),
    `decoder` (`"greedy"`, `"beam_search"` or `"beam_search_lm"`), `beam_width`, and, for a
    recogniser with a character language model (`with_language_model`), `language_model`: the
    asset holding it and the fusion weights `alpha` and `beta`.

    Example:
    >>> asr = model_zoo.load("asr_crnn_synthetic_en")
    >>> asr.transcribe("call.wav")                       # a file: WAV, OGG or FLAC
    'please enter your password'
    >>> asr.transcribe(samples, sample_rate=44100)       # a waveform at any rate
    >>> asr.transcribe(["a.wav", "b.ogg"], decoder="beam_search")   # a list: a list back
    """

    @property
    def features(self):
        return AudioFeatures.from_dict(self.preprocessing["features"])

    @property
    def alphabet(self):
        return CharAlphabet(self.preprocessing["alphabet"])

    @property
    def language(self):
        return self.preprocessing.get("language", "en")

    @property
    def language_model(self):
        """The `CharNgramLM` that `"beam_search_lm"` fuses in, or None."""
        if "language_model" not in self.preprocessing:
            return None
        if getattr(self, "_lm", None) is None:
            self._lm = CharNgramLM.from_bytes(read_asset(
                self.directory, self.preprocessing["language_model"]["asset"], binary=True))
        return self._lm

    def with_language_model(self, lm, alpha=0.5, beta=1.0, decoder="beam_search_lm"):
        """This recogniser with a character language model fused into its beam search.

        Args:
            lm: a `CharNgramLM` over this model's alphabet (e.g. `CharNgramLM.fit(texts,
                asr.alphabet.characters)`), or None to remove it.
            alpha: weight of the language model's log-probabilities.
            beta: bonus per output character (nats).
            decoder: the default decoder of the result.

        Returns:
            A new `SpeechRecognizer` (same network) whose `save` stores the language model as
            an asset, so `load` brings it back.
        """
        preprocessing = json.loads(json.dumps(self.preprocessing))
        preprocessing.pop("language_model", None)
        if lm is None:
            preprocessing["decoder"] = "greedy" if decoder == "beam_search_lm" else decoder
            return SpeechRecognizer(self.model, preprocessing, self.metadata)
        if not isinstance(lm, CharNgramLM):
            raise InputError(f"`lm` must be a CharNgramLM. Received: {type(lm).__name__}")
        if lm.characters != self.alphabet.characters:
            raise InputError(f"The language model's characters must be the recogniser's "
                             f"alphabet {self.alphabet.characters!r}. Received: "
                             f"{lm.characters!r}")
        if decoder not in DECODERS:
            raise InputError(f"`decoder` must be one of {DECODERS}. Received: {decoder!r}")
        preprocessing["language_model"] = {"asset": LM_ASSET, "order": lm.order,
                                           "alpha": float(alpha), "beta": float(beta)}
        preprocessing["decoder"] = decoder
        tuned = SpeechRecognizer(self.model, preprocessing, self.metadata)
        tuned._lm = lm
        return tuned

    def tune_language_model(self, lm, logits, references, alphas=(0.25, 0.5, 0.75, 1.0),
                            betas=(0.0, 1.0, 2.0), beam_width=None):
        """Adds `lm` with the fusion weights that give the lowest CER on held-out clips.

        Args:
            lm: a `CharNgramLM` over this model's alphabet.
            logits: `(steps, classes)` arrays of the clips to choose on (`self.logits(...)`):
                validation clips, never the test set.
            references: their transcripts.
            alphas, betas: the grid of language-model weights and per-character bonuses.
            beam_width: prefixes kept (default: the checkpoint's).

        Returns:
            `(recogniser with the language model, grid)`: the grid lists
            `{"alpha", "beta", "cer", "wer"}` for every pair tried.
        """
        grid = []
        for alpha in alphas:
            for beta in betas:
                candidate = self.with_language_model(lm, alpha, beta)
                rates = error_rates(references, candidate.decode(logits, beam_width=beam_width))
                grid.append({"alpha": float(alpha), "beta": float(beta), "cer": rates["cer"],
                             "wer": rates["wer"]})
        best = min(grid, key=lambda r: (r["cer"], r["wer"]))
        return self.with_language_model(lm, best["alpha"], best["beta"]), grid

    def _fusion(self):
        """The language-model settings to carry over: weights and default decoder."""
        settings = self.preprocessing.get("language_model", {})
        return {"alpha": settings.get("alpha", 0.5), "beta": settings.get("beta", 1.0),
                "decoder": self.preprocessing.get("decoder", "greedy")}

    def assets(self):
        lm = self.language_model
        return {LM_ASSET: lm.to_bytes()} if lm is not None else {}

    # -- transcription ---------------------------------------------------------------------

    def waveform(self, audio, sample_rate=None):
        """The checked mono waveform at the model's rate that `transcribe` would hear."""
        features = self.features
        wave, what = load_waveform(audio, sample_rate, target_rate=features.sample_rate)
        return features.check(wave, what)

    def logits(self, waveforms):
        """CTC logits `(steps, classes)` of each checked waveform, one utterance at a time.

        One at a time, not padded into a batch: the backward RNN then never reads padding,
        so a clip's transcript does not depend on what else is in the call. Through the
        compiled predict function (`predict_on_batch`, traced for any length): calling the
        model eagerly runs every recurrent step in Python, about 100x slower on a CPU.
        """
        features = self.features
        out = []
        for wave in waveforms:
            frames = features(wave)[None]
            out.append(np.asarray(self.model.predict_on_batch(frames))[0])
        return out

    def decode(self, logits, decoder=None, beam_width=None, batch_size=64):
        """Transcripts of `(steps, classes)` logits of any lengths, decoded `batch_size` at a time.

        Each utterance is decoded up to its own length (the padding of a batch is never read),
        so the result is the same as decoding the utterances one by one.
        """
        decoder, beam_width = self._decoding(decoder, beam_width)
        alphabet = self.alphabet  # built once, not per utterance
        if decoder == "beam_search_lm":
            lm = self.language_model
            if lm is None:
                raise InputError(
                    f"{self.name} has no language model for 'beam_search_lm'; add one with "
                    "`with_language_model(CharNgramLM.fit(texts, ...))`. Received: "
                    f"decoder={decoder!r}")
            fusion = self.preprocessing["language_model"]
            return [" ".join(alphabet.decode(ctc_prefix_beam_search(
                x, alphabet.characters, lm, fusion["alpha"], fusion["beta"],
                beam_width)).split()) for x in logits]
        texts = []
        for start in range(0, len(logits), batch_size):
            chunk = logits[start:start + batch_size]
            lengths = np.array([len(x) for x in chunk], "int32")
            padded = np.zeros((len(chunk), lengths.max(), chunk[0].shape[-1]), "float32")
            for i, x in enumerate(chunk):
                padded[i, :len(x)] = x
            if decoder == "greedy":
                ids = ctc_greedy_decode(padded, lengths)
            else:
                ids = ctc_beam_search_decode(padded, lengths, beam_width=beam_width)
            texts.extend(" ".join(alphabet.decode(row).split()) for row in ids)
        return texts

    def _decoding(self, decoder, beam_width):
        """The checked `(decoder, beam_width)` to use, the checkpoint's where None."""
        decoder = decoder or self.preprocessing.get("decoder", "greedy")
        if decoder not in DECODERS:
            raise InputError(f"`decoder` must be one of {DECODERS}. Received: {decoder!r}")
        if beam_width is None:
            return decoder, self.preprocessing.get("beam_width", 16)
        return decoder, limits.positive_int(beam_width, "beam_width")

    def transcribe(self, audio, sample_rate=None, decoder=None, beam_width=None):
        """Transcribes speech.

        Args:
            audio: a file path (WAV, OGG/Vorbis, FLAC), or a waveform (a 1-D array, or
                `(samples, channels)`), or a list of these.
            sample_rate: the rate of waveform input in Hz (required for arrays; files carry
                theirs). Any rate: the audio is resampled to the model's.
            decoder: `"greedy"`, `"beam_search"` or `"beam_search_lm"` (with the
                checkpoint's character language model; see `with_language_model`). Default:
                the checkpoint's.
            beam_width: prefixes kept by beam search.

        Returns:
            The transcript (lowercase words), or a list of them for a list input.

        Raises:
            AudioError: for a missing, unreadable, empty, silent, too short or too long clip.
        """
        self._decoding(decoder, beam_width)  # Checked before any audio is read.
        single = isinstance(audio, (str, os.PathLike)) or _is_waveform(audio)
        if not single and (audio is None or isinstance(audio, (bytes, dict))
                           or not hasattr(audio, "__iter__")):
            raise InputError("`transcribe` takes an audio file path, a waveform, or a list of "
                             f"them. Received: {type(audio).__name__}")
        items = [audio] if single else list(audio)
        if not items:
            raise InputError("Nothing to transcribe: the list is empty. Received: []")
        waves = [self.waveform(a, sample_rate) for a in items]
        texts = self.decode(self.logits(waves), decoder, beam_width)
        return texts[0] if single else texts

    predict = transcribe

    def predict_example(self):
        """Two synthetic vowel-like clips at 16 kHz (not the model's rate): two transcripts."""
        rate = 16000
        clips = []
        for seconds, f0 in ((1.0, 120.0), (0.6, 210.0)):
            t = np.arange(int(seconds * rate)) / rate
            voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
            envelope = np.sin(np.pi * t / seconds) ** 2
            clips.append((0.3 * voiced * envelope).astype("float32"))
        return self.transcribe(clips, sample_rate=rate), (2,)

    # -- evaluation ---------------------------------------------------------------------------

    def _items(self, data, language=None):
        """Utterances from a folder/CSV path or a list of `(audio, text)` / `Utterance`."""
        language = language or self.language
        if isinstance(data, (str, os.PathLike)):
            return folder_corpus(data, language)
        items = []
        for i, entry in enumerate(data):
            if isinstance(entry, Utterance):
                items.append(entry)
                continue
            try:
                audio, text = entry
            except (TypeError, ValueError):
                raise InputError(
                    "Speech data is a folder, a CSV, or a list of (audio, transcript) pairs. "
                    f"Received: item {i} = {type(entry).__name__}"
                ) from None
            text = normalize_transcript(text, language)
            if text:
                items.append(Utterance(str(i), text, audio))
        if not items:
            raise InputError("No utterance with a non-empty transcript. Received: 0 usable items")
        return items

    def evaluate(self, data, limit=None, decoder=None, beam_width=None, sample_rate=None,
                 return_transcripts=False):
        """CER and WER (jiwer) of this model on labelled speech.

        Args:
            data: a folder or CSV (see `folder_corpus`), or a list of `(audio, transcript)`
                pairs or `Utterance`s (audio: a path, or a waveform at `sample_rate`).
            limit: only the first `limit` utterances.
            decoder, beam_width: as in `transcribe`.

        Returns:
            `{"cer", "wer", "utterances"}` (+ `"transcripts"`: `[(reference, hypothesis)]`).
        """
        items = self._items(data)[:limit] if limit else self._items(data)
        waves = [self.waveform(u.path, sample_rate) for u in items]
        return self._score(waves, [u.text for u in items], decoder, beam_width,
                           return_transcripts)

    def decoder_error_rates(self, waveforms, references, decoders=None, beam_width=None):
        """CER and WER of several decoders on the same clips, the network run once.

        Args:
            waveforms: float waveforms at the model's rate (`waveform` makes them).
            references: their transcripts.
            decoders: decoder names (see `transcribe`); default `"greedy"`, and
                `"beam_search_lm"` when the checkpoint has a language model.

        Returns:
            `{decoder: {"cer", "wer", "utterances"}}`.
        """
        if decoders is None:
            decoders = ["greedy"] + (["beam_search_lm"] if self.language_model is not None else [])
        logits = self.logits(waveforms)
        return {d: error_rates(references, self.decode(logits, d, beam_width)) for d in decoders}

    def _score(self, waves, references, decoder=None, beam_width=None, return_transcripts=False):
        hypotheses = self.decode(self.logits(waves), decoder, beam_width)
        result = error_rates(references, hypotheses)
        if return_transcripts:
            result["transcripts"] = list(zip(references, hypotheses))
        return result

    # -- fine-tuning ------------------------------------------------------------------------------

    def finetune(self, data, language=None, epochs=30, batch_size=16, val_fraction=0.1,
                 strategy=None, augment=True, seed=0, verbose=0):
        """Adapts the recogniser to new speakers or a new language; returns a new recogniser.

        Characters of the new transcripts that the alphabet lacks (accents, other letters) get
        new outputs: the output layer is rebuilt, with the old characters' weights kept and
        the new ones initialised small. The acoustic layers start from the published weights;
        by default the output layer is trained first, then the recurrent layers from the top,
        then the convolutional front end (`GradualUnfreezing`).

        Args:
            data: a folder of clips with a `.txt` beside each, a CSV of `path,text`, or a list
                of `(audio path, transcript)` pairs.
            language: the transcripts' language (num2words code, e.g. "nl"); default: the
                model's.
            epochs: total epochs.
            batch_size: utterances per batch.
            val_fraction: share of utterances held out (at random, fixed by `seed`) to measure
                CER before and after, and for early stopping.
            strategy: `"gradual_unfreezing"` (default), `"full"`, or a strategy object.
            augment: speed, noise and SpecAugment on the training clips.
            seed: the seed of the split, shuffling and augmentation.
        """
        language = language or self.language
        items = self._items(data, language)
        if len(items) < 4:
            raise InputError(f"Fine-tuning needs at least 4 transcribed clips. Received: "
                             f"{len(items)}")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(items))
        n_val = max(1, int(round(val_fraction * len(items))))
        val_items = [items[i] for i in sorted(order[:n_val])]
        train_items = [items[i] for i in sorted(order[n_val:])]
        alphabet = CharAlphabet.from_texts([u.text for u in items], base=self.alphabet.characters)
        preprocessing = json.loads(json.dumps(self.preprocessing))
        preprocessing.update(alphabet=alphabet.characters, language=language)
        model = extend_output_layer(self.model, self.alphabet.size, alphabet.size, seed)
        tuned = SpeechRecognizer(model, preprocessing, self.metadata)
        # The language model stays only while it still speaks the transcripts' language.
        keep_lm = language == self.language and alphabet.characters == self.alphabet.characters
        tuned = tuned.with_language_model(self.language_model if keep_lm else None,
                                          **self._fusion())
        features = tuned.features
        waves, train_items, skipped = tuned.readable(train_items)
        val_waves, val_items, skipped_val = tuned.readable(val_items)
        skipped += skipped_val
        labels = [alphabet.encode(u.text) for u in train_items]
        val_labels = [alphabet.encode(u.text) for u in val_items]
        # The validation clips are read once (above); CER is measured on what training reads.
        val_float = [from_int16(w) for w in val_waves]
        val_texts = [u.text for u in val_items]
        before = tuned._score(val_float, val_texts)["cer"]
        keras.utils.set_random_seed(seed)
        train = speech_dataset(waves, labels, features, batch_size,
                               Augmentation() if augment else None, shuffle=True, seed=seed)
        val = speech_dataset(val_waves, val_labels, features, batch_size)
        if strategy is None:
            strategy = GradualUnfreezing(learning_rate=1e-3, epochs_per_stage=1, patience=6)
        history = get_strategy(strategy).fit(model, train, val, loss=keras.losses.CTC(),
                                             epochs=epochs, groups=recognizer_groups(model),
                                             verbose=verbose)
        after = tuned._score(val_float, val_texts)
        tuned.finetune_metrics = {"val_cer_before": before, "val_cer_after": after["cer"],
                                  "val_wer_after": after["wer"],
                                  "train_utterances": len(train_items),
                                  "val_utterances": len(val_items),
                                  "new_characters": "".join(sorted(
                                      set(alphabet.characters) - set(self.alphabet.characters))),
                                  "skipped_clips": skipped,
                                  "stages": len(history["stages"])}
        return tuned

    def readable(self, items):
        """`(int16 waveforms, items, skipped)`: the clips that can be heard, and the others.

        A data set of many clips may hold a few broken, empty or silent ones; they are left
        out (and listed as `{"id", "error"}`) rather than failing the whole run. If none is
        usable, that is an error.
        """
        waves, kept, skipped = [], [], []
        for u in items:
            try:
                waves.append(to_int16(self.waveform(u.path)))
                kept.append(u)
            except AudioError as e:
                skipped.append({"id": u.id, "error": str(e)})
        if not kept:
            raise AudioError(f"None of the {len(items)} clips is usable audio. Received: "
                             f"{skipped[:3]}")
        if skipped:
            import warnings

            warnings.warn(f"Left out {len(skipped)} unusable clips, e.g. {skipped[0]['error']}",
                          stacklevel=2)
        return waves, kept, skipped

    # -- serving ---------------------------------------------------------------------------------

    serving_signature = {
        "instance": "a clip: a list of samples (numbers from -1 to 1, mono) at the model's rate "
                    "of {task.features.sample_rate} Hz, or {{\"samples\": [...], "
                    "\"sample_rate\": hz}} at any rate (resampled); at most "
                    "{task.features.max_seconds:g} s",
        "prediction": "the transcript (a string, lowercase words)"}

    def serve_instances(self, instances):
        """`transcribe` once per distinct sample rate, on all the clips at that rate."""
        clips, settings = self.serving_instances(instances, "samples", {"sample_rate": int})
        rate = self.features.sample_rate
        waves = [self.serving_values(x, k).astype("float32") for k, x in enumerate(clips)]
        return self.run_grouped(self.transcribe, waves,
                                [{"sample_rate": rate, **given} for given in settings])

    # -- command line ------------------------------------------------------------------------------

    def predict_cli(self, args):
        if not args.files:
            raise InputError("Give at least one audio file to transcribe. Received: no files")
        texts = self.transcribe(list(args.files), decoder=args.decoder, beam_width=args.beam_width)
        return {"model": self.name,
                "transcripts": [{"file": f, "text": t} for f, t in zip(args.files, texts)]}

    @classmethod
    def finetune_data_from_cli(cls, args):
        if not args.data:
            raise InputError("`model-zoo finetune` for speech needs --data FOLDER_OR_CSV. "
                             "Received: no --data")
        return {"data": args.data, "language": args.language}


def recognizer_groups(model):
    """Layer groups for gradual unfreezing: the convolutional front end, each recurrent layer,
    then the output layer."""
    weighted = [layer for layer in model.layers if layer.weights]
    head = [layer for layer in weighted if layer.name == "ctc_logits"]
    recurrent = [layer for layer in weighted if isinstance(layer, keras.layers.Bidirectional)]
    front = [layer for layer in weighted if layer not in head and layer not in recurrent]
    return [g for g in [front] + [[r] for r in recurrent] + [head] if g]


def extend_output_layer(model, old_size, new_size, seed=0):
    """A copy of `model` whose `ctc_logits` layer has `new_size` outputs.

    The first `old_size` outputs (the blank and the old characters) keep their weights; new
    characters start with small random weights and a low bias, so the copy first behaves like
    the original.
    """
    clone = copy_model(model)
    if new_size == old_size:
        return clone
    head = clone.get_layer("ctc_logits")
    kernel, bias = head.get_weights()
    rng = np.random.default_rng(seed)
    new_kernel = np.concatenate(
        [kernel, rng.normal(0, 0.01, (kernel.shape[0], new_size - old_size))], axis=1)
    new_bias = np.concatenate([bias, np.full(new_size - old_size, bias[1:].min())])
    x = head.input
    outputs = keras.layers.Dense(new_size, name="ctc_logits")(x)
    new_model = keras.Model(clone.input, outputs, name=clone.name)
    new_model.get_layer("ctc_logits").set_weights([new_kernel.astype("float32"),
                                                   new_bias.astype("float32")])
    return new_model


def transcribe_command(args):
    """`model-zoo transcribe FILES...` (arguments: `cli_arguments.VERBS`)."""
    from model_zoo.api import load
    from model_zoo.tasks.cli_arguments import emit

    task = load(args.model)
    if not isinstance(task, SpeechRecognizer):
        raise InputError(f"{args.model} is not a speech recognition model. "
                         f"Received: task {task.task_name!r}")
    failed = 0
    results = []
    for path in args.files:
        try:
            text = task.transcribe(path, decoder=args.decoder,
                                   beam_width=args.beam_width)
            results.append({"file": path, "text": text})
        except AudioError as e:
            failed += 1
            results.append({"file": path, "error": str(e)})
    emit(results, args, lambda results: [
        f"{r['file']}\t{r.get('text', 'ERROR: ' + r.get('error', ''))}" for r in results])
    return 2 if failed else 0
