"""Speech recognition from synthetic voices to real telephone speech: log-mel, CNN + BiGRU, CTC.

    model-zoo train speech_recognition --publish

No transcribed English speech corpus can be had on these machines, so the acoustic model
learns from speech synthesised here (espeak-ng's accents and voice variants, flite and festival
voices, at random rates and pitches; with `--set voices=...` also Piper, RHVoice, Pico and
MBROLA voices, and with `--set real_train=...` a few minutes of real English speech from game
and toy packages: `bash scripts/setup_speech_extras.sh --non-free` installs them) and is tested
on REAL recordings it never heard: the Asterisk PBX prompts, 8 kHz telephone audio of one
professional speaker. A second test set is synthetic speech from voices held out of training.

| split | what | voices |
|---|---|---|
| train | `train_utterances` synthetic clips, minus the validation share | espeak-ng (7 accents x ~80 variants), flite kal/kal16/awb/slt, festival slt_hts/kal |
| validation | `val_fraction` of them, drawn at random (early stopping) | the same voices |
| test_synthetic | `test_utterances` clips | held out: flite rms, festival ked, espeak-ng en-029 |
| test (real) | every Asterisk English prompt with spoken words (553 clips, 0.4 h) | Allison Smith, recorded |

The synthetic text is phone-menu prompts (templates), numbers and digit strings, random runs of
the words of the Asterisk transcripts (their vocabulary, never their sentences) and lines of
Shakespeare's plays. Everything is resampled to 8 kHz. During training every clip is sped up
or slowed down, padded with silence, mixed with white/pink/brown noise and SpecAugment-masked,
with fresh draws every epoch. The checkpoint also carries a character 6-gram language model
that its beam search fuses in (`"beam_search_lm"`, the default decoder), fitted on the same text
sources and weighted by CER on the synthetic validation clips.
"""

import collections
import os

import keras
import numpy as np

from model_zoo.data.audio import Augmentation, AudioFeatures, from_int16, speech_dataset
from model_zoo.data.real_speech import REAL_SPEECH_SETS, real_speech_set
from model_zoo.data.speech_corpus import (
    ENGINES,
    HELD_OUT_VOICES,
    asterisk_corpus,
    corpus_texts,
    load_waveforms,
    parse_voice_mix,
    synthesize_corpus,
)
from model_zoo.data.speech_text import ENGLISH_ALPHABET, CharAlphabet
from model_zoo.errors import InputError
from model_zoo.metrics.speech import error_rates
from model_zoo.models.speech import CharNgramLM, build_ctc_recognizer
from model_zoo.tasks.cli_arguments import DEFAULT_SPEECH_MODEL as DEFAULT_MODEL
from model_zoo.tasks.speech_recognition import SpeechRecognizer
from model_zoo.training import fit as training
from model_zoo.training.plots import pyplot, save_figure
from model_zoo.training.recipe import Recipe, register_recipe

DEFAULTS = {
    "train_utterances": 8000,
    "test_utterances": 400,
    "val_fraction": 0.05,
    "corpus_seed": 0,
    "sample_rate": 8000,
    "num_mel_bins": 40,
    "epochs": 10,
    "warmup_epochs": 1,
    "batch_size": 16,
    "patience": 3,
    "augment": True,
    # Vocal-tract-length warp of the training clips' spectra (0: none; see Augmentation).
    "freq_warp": 0.0,
    # Chance that a training clip passes a simulated telephone line (band-pass 200-400 to
    # 3000-3600 Hz, then 8-bit mu-law; `audio.telephone_channel`), as the real test clips did.
    "telephone": 0.0,
    # A registered checkpoint (e.g. "asr_crnn_synthetic_en@2") whose network weights start the
    # training instead of a random initialisation ("": from scratch; see runner.start_from).
    "init_from": "",
    # With init_from: copy only the layers whose names and shapes match (e.g. `depth` one more
    # than the base's: its new top recurrent layer starts from random weights).
    "init_partial": False,
    "decoder": "greedy",
    "beam_width": 16,
    # The synthetic training voices: "" is espeak-ng 0.4, flite 0.35, festival 0.25; e.g.
    # "espeak:0.2,flite:0.15,festival:0.1,piper:0.25,rhvoice:0.15,pico:0.1,mbrola:0.05" after
    # `bash scripts/setup_speech_extras.sh --non-free` (`speech_corpus.ENGINES`). The synthetic
    # test split is spoken by the same held-out voices whatever the mix.
    "voices": "",
    # Real English speech added to training (`model_zoo.data.real_speech`: comma-separated set
    # names, "" none), each clip `real_repeat` times an epoch. A set trained on is never tested.
    "real_train": "",
    "real_repeat": 1,
    # Real sets measured besides the Asterisk test set ("all": every set not trained on).
    "real_test": "",
    "synthetic_test": True,
    "real_limit": 0,
    # The character language model fused into beam search (0: none); its text is drawn from
    # the corpus's own sources with another seed, its weights chosen on synthetic validation.
    "lm_order": 6,
    "lm_texts": 100_000,
    "lm_seed": 1,
}
LM_ALPHAS = (0.25, 0.5, 0.75, 1.0)
LM_BETAS = (0.0, 1.0, 2.0)


# ## 1. Data
#
# The synthetic corpus is built once per config and cached (`model_zoo.data.speech_corpus`);
# the Asterisk clips are read from the Debian packages. Nothing is synthesised until it is
# needed, so a quick re-measurement on a few real clips reads only those.


def set_names(value, exclude=()):
    """The real set names of a `real_train` / `real_test` setting ("all": every one not in
    `exclude`), each checked."""
    if value == "all":
        return [name for name in REAL_SPEECH_SETS if name not in exclude]
    names = [n.strip() for n in str(value or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in REAL_SPEECH_SETS]
    if unknown:
        raise InputError(f"Unknown real speech set(s) {unknown}: expected names of "
                         f"{sorted(REAL_SPEECH_SETS)}, comma-separated. Received: {value!r}")
    return names


class SpeechData:
    """The synthetic corpus (lazily built), the real Asterisk test set and other real sets."""

    def __init__(self, config):
        self.config = config
        self.features = AudioFeatures(sample_rate=config["sample_rate"],
                                      num_mel_bins=config["num_mel_bins"])
        self.alphabet = CharAlphabet(ENGLISH_ALPHABET)
        self.real = asterisk_corpus()
        # Checked for installed engines only when clips are synthesised (`check_voices`).
        self.voices = parse_voice_mix(config["voices"], installed=False)
        self.real_train = set_names(config["real_train"])
        self.real_test = set_names(config["real_test"], exclude=self.real_train)
        both = sorted(set(self.real_train) & set(self.real_test))
        if both:
            raise InputError(f"A real speech set cannot be both trained and tested on. "
                             f"Received: {both} in real_train and real_test")
        self._corpus = None

    @property
    def corpus(self):
        if self._corpus is None:
            c = self.config
            self._corpus = synthesize_corpus(c["train_utterances"], c["test_utterances"],
                                             c["val_fraction"], c["corpus_seed"],
                                             c["sample_rate"], voices=c["voices"])
        return self._corpus

    def split(self, name):
        """`(int16 waveforms, label ids, texts)` of a synthetic split."""
        waves, texts, _ = self.corpus.subset(name)
        return waves, [self.alphabet.encode(t) for t in texts], texts

    def real_set(self, name):
        """`(int16 waveforms, texts)` of a real set at the model's rate."""
        items = real_speech_set(name)
        return load_waveforms(items, self.config["sample_rate"]), [u.text for u in items]

    def datasets(self, batch_size, augment=True, seed=0, freq_warp=0.0, telephone=0.0):
        waves, labels, _ = self.split("train")
        for name in self.real_train:
            real_waves, texts = self.real_set(name)
            repeat = int(self.config["real_repeat"])
            waves = list(waves) + real_waves * repeat
            labels = list(labels) + [self.alphabet.encode(t) for t in texts] * repeat
        val_waves, val_labels, _ = self.split("val")
        augmentation = (Augmentation(freq_warp=freq_warp, telephone=telephone) if augment
                        else None)
        train = speech_dataset(waves, labels, self.features, batch_size, augmentation,
                               shuffle=True, seed=seed)
        val = speech_dataset(val_waves, val_labels, self.features, batch_size)
        return train, val


def load_data(config):
    return SpeechData(config)


# ## 2. Model
#
# `build_model(keras_tuner.HyperParameters())` builds the model of `@1` to `@3`: two strided
# 2-D convolutions of 16 channels (time / 3, mels / 4), two bidirectional GRU layers of 128
# units, a softmax over 28 characters + the CTC blank: 0.54 M parameters (2.2 MB). `@4` is the
# same with `depth=3` (0.84 M), grown from `@3` (`init_partial`), and the default `@5` has
# `depth=4` (1.13 M), grown from `@4`. On this machine's shared CPU the 2-D convolutions
# dominate the cost; 16 channels train 1.5x faster than 32.


def build_model(hp, config=None):
    config = {**DEFAULTS, **(config or {})}
    hp.Float("learning_rate", 1e-4, 3e-3, sampling="log", default=1.5e-3)
    return build_ctc_recognizer(
        num_mel_bins=config["num_mel_bins"],
        alphabet_size=len(ENGLISH_ALPHABET) + 1,
        conv_channels=hp.Choice("conv_channels", [16, 32, 48], default=16),
        subsample=hp.Choice("subsample", [2, 3, 4], default=3),
        cell=hp.Choice("cell", ["gru", "lstm"], default="gru"),
        units=hp.Int("units", 64, 256, step=32, default=128),
        depth=hp.Int("depth", 1, 4, default=2),
        dropout=hp.Float("dropout", 0.0, 0.4, step=0.05, default=0.15),
        name="ctc_recognizer",
    )


# ## 3. Training
#
# CTC loss, Adam with cosine decay (optionally after warm-up epochs), gradient clipping, early
# stopping on the synthetic validation clips (the real recordings are never looked at before
# the test). The defaults make ten passes over the 4.3 h of training speech (4,750 steps of 16
# clips, the first epoch a linear warm-up): 55 minutes on one core of a shared 2-core CPU
# (0.62-0.79 s per step); more epochs are a `--set epochs=N` away. `init_from` continues a
# published checkpoint instead of starting from random weights: the published `@3` is `@2`
# (20 epochs on the seed-0 clips) continued for 15 epochs on new clips (`corpus_seed=1`), and
# `@4` is `@3` grown by a recurrent layer, trained 15 epochs on other new clips (`corpus_seed=2`),
# and `@5` is `@4` grown by another, trained 12 epochs on new clips again (`corpus_seed=3`).


def fit(model, data, config, hp, callbacks=(), epochs=None, verbose=2, **kwargs):
    train, val = data.datasets(config["batch_size"], config["augment"],
                               freq_warp=config["freq_warp"], telephone=config["telephone"])
    return training.fit(model, train, val, loss=keras.losses.CTC(),
                        epochs=epochs or config["epochs"], learning_rate=hp.get("learning_rate"),
                        patience=config["patience"], warmup_epochs=config["warmup_epochs"],
                        callbacks=callbacks,
                        verbose=verbose)


def preprocessing(data, config):
    """What the checkpoint stores beside the network: features, alphabet, decoder settings."""
    return {"features": data.features.to_dict(), "alphabet": data.alphabet.characters,
            "language": "en", "decoder": config["decoder"], "beam_width": config["beam_width"]}


# ## 4. The decoder's language model
#
# A character 6-gram (interpolated Kneser-Ney) fitted on `lm_texts` transcripts from the same
# text sources as the training speech, with another seed: it has read the Asterisk vocabulary
# (as the acoustic model has) but no real test sentence. Its weight and per-character bonus are
# chosen by CER on the synthetic validation clips; the checkpoint stores it as an asset and
# decodes with it by default (`"beam_search_lm"`).


def make_task(model, data, config):
    task = SpeechRecognizer(model, preprocessing(data, config))
    if not config.get("lm_order"):
        return task
    texts = corpus_texts(config["lm_texts"], seed=config["lm_seed"])
    lm = CharNgramLM.fit(texts, data.alphabet.characters, order=config["lm_order"])
    waves, _, references = data.split("val")
    logits = task.logits([from_int16(w) for w in waves])
    task, grid = task.tune_language_model(lm, logits, references, LM_ALPHAS, LM_BETAS)
    task.preprocessing["language_model"].update(
        texts=config["lm_texts"], seed=config["lm_seed"],
        chosen_on="synthetic validation clips, lowest CER", grid=grid)
    return task


# ## 5. Evaluation
#
# CER and WER (jiwer, over the whole set) on the real Asterisk recordings, with the greedy and
# the beam-search decoder and, when the checkpoint has one, with the language model; and on the
# held-out synthetic voices. The quick re-measurement (`limit`) reads the first real clips only.


def evaluate(task, data, config, limit=None):
    with_lm = task.language_model is not None
    clips = data.real[:config["real_limit"]] if config.get("real_limit") else data.real
    clips = clips[:limit] if limit else clips
    # The network runs once; every decoder reads its logits.
    logits = task.logits([task.waveform(u.path) for u in clips])
    references = [u.text for u in clips]
    greedy = task.decode(logits, "greedy")
    real = error_rates(references, greedy)
    metrics = {"cer": real["cer"], "wer": real["wer"]}
    if with_lm:
        fused = error_rates(references, task.decode(logits, "beam_search_lm"))
        metrics.update(cer_lm=fused["cer"], wer_lm=fused["wer"])
    if limit:
        return metrics
    beam = error_rates(references, task.decode(logits, "beam_search"))
    metrics.update(cer_beam=beam["cer"], wer_beam=beam["wer"], real_utterances=real["utterances"])
    if config.get("synthetic_test", True):
        waves, _, texts = data.split("test")
        synthetic = task.decoder_error_rates([from_int16(w) for w in waves], texts)
        greedy_rates = synthetic["greedy"]
        metrics.update(synthetic_cer=greedy_rates["cer"], synthetic_wer=greedy_rates["wer"],
                       synthetic_utterances=greedy_rates["utterances"])
        if "beam_search_lm" in synthetic:
            fused = synthetic["beam_search_lm"]
            metrics.update(synthetic_cer_lm=fused["cer"], synthetic_wer_lm=fused["wer"])
    for name in data.real_test:
        real_waves, texts = data.real_set(name)
        rates = task.decoder_error_rates([from_int16(w) for w in real_waves], texts)
        metrics[f"real_{name}_cer"] = rates["greedy"]["cer"]
        metrics[f"real_{name}_wer"] = rates["greedy"]["wer"]
        if "beam_search_lm" in rates:
            metrics[f"real_{name}_cer_lm"] = rates["beam_search_lm"]["cer"]
            metrics[f"real_{name}_wer_lm"] = rates["beam_search_lm"]["wer"]
    evaluate.last_transcripts = list(zip(references, greedy))
    return metrics


def baselines(data, config):
    """No classical recogniser runs here; the recipe README compares configurations instead."""
    return {}


def plot_errors(task, data, config, metrics, out_dir):
    """Per-clip CER on the real recordings against clip length."""
    import jiwer

    plt = pyplot()

    pairs = getattr(evaluate, "last_transcripts", None)
    if not pairs:
        return []
    cers = [jiwer.cer(r, h) for r, h in pairs]
    lengths = [len(r) for r, _ in pairs]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter(lengths, np.minimum(cers, 1.5), s=6, alpha=0.5)
    ax.set_xlabel("reference length (characters)")
    ax.set_ylabel("CER (clipped at 1.5)")
    ax.set_title(f"Asterisk real speech: CER {metrics['test']['cer']:.3f}")
    ax.grid(alpha=0.3)
    return [save_figure(fig, os.path.join(out_dir, "asterisk_cer.png"))]


# ## Model card notes (the checkpoint's "Intended use and limitations"; see
# `model_zoo.checkpoint.fill_card_notes`: templates over the run's test metrics)

CARD_NOTES = {
    "intended_use": (
        "Experiments with transcribing short, clearly read English prompts (like telephone "
        "voice-menu recordings) to characters, and a base for fine-tuning on a speaker or "
        "language of your own with transcribed clips (`asr.finetune`). Not for dictation, "
        "captioning or any use that needs accurate transcripts."),
    "limitations": [
        "Trained mostly on synthetic voices; the metadata's `dataset.voices` and "
        "`dataset.real_sets` say which voices and which real speech (none before version 6). "
        "The real test speaker was never used in training or model selection.",
        "The goal is at most 10% CER on the real recordings; this checkpoint: {test[cer]:.1%} "
        "CER ({test[wer]:.1%} WER) greedy on {test[real_utterances]} clips of one professional "
        "speaker at 8 kHz, against {test[synthetic_cer]:.1%} on unseen synthetic voices.",
        "With its character language model in the beam search: {test[cer_lm]:.1%} CER, "
        "{test[wer_lm]:.1%} WER on the real clips. The LM's text holds the test prompts' words "
        "(never their sentences): its gain is that of a closed vocabulary, smaller on open "
        "speech. That beam search is Python, about 0.16 s per clip on one core; "
        "`decoder=\"greedy\"` when speed matters.",
        "On a second real voice, the Warzone 2100 tutorial (37 clips, 1.8 minutes, never trained "
        "on): {test[real_warzone_tutorial_cer]:.1%} CER greedy, "
        "{test[real_warzone_tutorial_cer_lm]:.1%} with the language model (goal: below 40%).",
        "One real speaker and a few minutes of other real voices (see the recipe README) are "
        "all the real speech it was measured on: other speakers, noisy calls and wide-band "
        "audio are untested.",
    ],
}


# ## 6. Registration


@register_recipe
class SpeechRecognitionRecipe(Recipe):
    name = "speech_recognition"
    task = "speech_recognition"
    architecture = "crnn_ctc"
    description = ("Log-mel + 2-D conv + bidirectional GRU + CTC over characters, trained on "
                   "synthetic voices, tested on real 8 kHz telephone speech.")
    card_notes = CARD_NOTES
    license = "Apache-2.0"
    defaults = DEFAULTS
    smoke = {"train_utterances": 24, "test_utterances": 4, "val_fraction": 0.2, "epochs": 1,
             "batch_size": 8, "units": 16, "depth": 1, "conv_channels": 16, "real_limit": 12,
             "lm_order": 3, "lm_texts": 200}
    objective = "val_loss"
    sample_size = 8

    def checkpoint_name(self, config):
        return DEFAULT_MODEL

    def describe(self, config):
        how = "its matching layers copied from" if config.get("init_partial") else \
            "continued from"
        start = (f", {how} {config['init_from']} (trained on other synthetic utterances)"
                 if config.get("init_from") else "")
        return (f"English speech recogniser (characters, CTC) at {config['sample_rate']} Hz, "
                f"trained on {config['train_utterances']} synthetic utterances{start}; tested "
                f"on the real Asterisk prompts.")

    load_data = staticmethod(load_data)
    build_model = staticmethod(build_model)
    fit = staticmethod(fit)
    preprocessing = staticmethod(preprocessing)
    make_task = staticmethod(make_task)
    evaluate = staticmethod(evaluate)
    baselines = staticmethod(baselines)
    plots = staticmethod(plot_errors)

    @staticmethod
    def dataset_info(data, config):
        c = data.corpus
        trained = collections.Counter(v.group for v, s in zip(c.voices, c.splits) if s != "test")
        engines = {name: {"weight": weight, "licence": ENGINES[name].licence,
                          "clips_by_voice": {g: n for g, n in sorted(trained.items())
                                             if g.startswith(name + ":")}}
                   for name, weight in data.voices.items()}
        real = {name: {"package": REAL_SPEECH_SETS[name].apt_package,
                       "licence": REAL_SPEECH_SETS[name].licence,
                       "clips": len(real_speech_set(name))}
                for name in data.real_train + data.real_test}
        return {
            "name": "synthetic English speech (train) + Asterisk core sounds en (real test)",
            "source": ("synthesised here with " + ", ".join(sorted(data.voices))
                       + " (model_zoo.data.speech_corpus); Debian asterisk-core-sounds-en-wav"
                       + ("; real speech from model_zoo.data.real_speech" if real else "")),
            "license": "synthetic: generated; Asterisk sounds: CC-BY-SA-3.0"
                       + "".join(f"; {n}: {r['licence']}" for n, r in real.items()),
            "voices": engines,
            "real_sets": {"train": {n: real[n] for n in data.real_train},
                          "train_repeat": int(config["real_repeat"]),
                          "test": {n: real[n] for n in data.real_test}},
            "hours": {"train": round(c.hours("train"), 3), "val": round(c.hours("val"), 3),
                      "test_synthetic": round(c.hours("test"), 3)},
            "split": {"train": c.splits.count("train"), "validation": c.splits.count("val"),
                      "test_synthetic": c.splits.count("test"),
                      "test_real": len(data.real),
                      "held_out_voices": list(HELD_OUT_VOICES),
                      "corpus_seed": config["corpus_seed"],
                      "real_test": "every Asterisk English prompt with spoken words, sorted "
                                   "by id; the sample is the first 8"},
        }
