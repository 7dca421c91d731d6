"""Speech recognisers as graphs: a batch of waveforms -> CTC transcripts, greedy and beam.

The graph holds the recogniser's own front end (`AudioFeatures.frames`: STFT, log-mel,
per-utterance normalisation, all `tf.signal` / TensorFlow ops), runs the acoustic model on
each clip alone (up to its length: the bidirectional layers never read another clip's
padding) and decodes the best path (`ctc_greedy_frames`) into text, and by CTC beam search
(`tf.nn.ctc_beam_search_decoder`, the op `transcribe(..., decoder="beam_search")` runs through
Keras). TFLite's builtin ops hold all of the greedy path but the last step (joining characters
into strings), so the TFLite model returns the per-frame label ids and probabilities, and the
alphabet is written beside it. The character language model's fusion (`beam_search_lm`) is a
Python prefix beam search over an n-gram model, which no TensorFlow op does: not in the graph.
"""

import json

import numpy as np

from model_zoo.errors import InputError
from model_zoo.export.base import ServingGraph, exporter
from model_zoo.models.speech import ctc_greedy_frames
from model_zoo.tasks.cli_arguments import EXPORT_SAMPLE_FORMATS as SAMPLE_FORMATS

ALPHABET_FILE = "alphabet.json"


def example_clips(sample_rate):
    """Three vowel-like clips (harmonics of a glottal pitch under a smooth envelope; the
    longest gives the published recogniser a non-empty transcript) of different lengths, at
    `sample_rate`: `(waveforms right-padded with 0, lengths)`."""
    clips = []
    for seconds, f0 in ((1.0, 120.0), (0.6, 210.0), (0.35, 160.0)):
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
        envelope = np.sin(np.pi * t / seconds) ** 2
        clips.append((0.3 * voiced * envelope).astype("float32"))
    lengths = np.array([len(c) for c in clips], "int32")
    waveforms = np.zeros((len(clips), lengths.max()), "float32")
    for i, clip in enumerate(clips):
        waveforms[i, :len(clip)] = clip
    return waveforms, lengths


def padded_probabilities(logits):
    """`(batch, max steps, classes)` softmax of `(steps, classes)` logits, 0 past each clip's
    steps, and the steps: `(probabilities, steps)`."""
    steps = np.array([len(x) for x in logits], "int32")
    out = np.zeros((len(logits), steps.max(), logits[0].shape[-1]), "float32")
    for i, x in enumerate(logits):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        out[i, :len(x)] = e / e.sum(axis=-1, keepdims=True)
    return out, steps


@exporter("speech_recognition")
def speech_recognition_graph(task, sample_format="float32"):
    """The recogniser's `transcribe(..., decoder="greedy")` over a batch of waveforms at the
    model's sample rate, in TensorFlow ops.

    The SavedModel returns the transcripts; its TFLite alternative (`ServingGraph.tflite`)
    takes the same waveforms (one clip per call) and returns the per-frame label ids and
    probabilities, with the alphabet written beside it (TFLite has no builtin string joins).

    Args:
        task: a `SpeechRecognizer`.
        sample_format: `"float32"` (samples from -1 to 1) or `"int16"` (PCM as in a WAV
            file, read as `sample / 32768`), the dtype of the `waveforms` input.
    """
    import tensorflow as tf

    if sample_format not in SAMPLE_FORMATS:
        raise InputError(f"`sample_format` must be one of {list(SAMPLE_FORMATS)}. Received: "
                         f"sample_format={sample_format!r}")
    pcm = sample_format == "int16"
    features, model = task.features, task.model
    characters = task.alphabet.characters
    rate = features.sample_rate

    def clip_logits(waveform):  # One clip (1-D, unpadded): as `SpeechRecognizer.logits`.
        return model(features.frames(waveform)[None], training=False)[0]

    strides = time_strides(model)

    def output_steps(samples):  # Of a clip of `samples` (a tensor): STFT frames, subsampled.
        steps = tf.maximum(1 + (samples - features.frame_length) // features.frame_step, 0)
        for stride in strides:  # "same" convolutions: ceil.
            steps = -(-steps // stride)
        return steps

    def clip_frames(waveforms, lengths):  # -> (padded logits, steps) of each clip
        if pcm:
            waveforms = tf.cast(waveforms, tf.float32) / 32768.0
        lengths = tf.clip_by_value(lengths, 0, tf.shape(waveforms)[1])
        # Every row is padded to the steps of the padded width: the same for any batch of it.
        width = output_steps(tf.shape(waveforms)[1])

        def one(args):
            waveform, length = args
            x = clip_logits(waveform[:length])
            return tf.pad(x, [[0, width - tf.shape(x)[0]], [0, 0]]), tf.shape(x)[0]

        if waveforms.shape[0] == 1:  # TFLite's fixed batch: no loop over clips.
            logits, steps = one((waveforms[0], lengths[0]))
            logits, steps = logits[None], steps[None]
        else:  # Each clip alone: the backward layers never read padding.
            logits, steps = tf.map_fn(
                one, (waveforms, lengths),
                fn_output_signature=(tf.TensorSpec([None, len(characters) + 1], tf.float32),
                                     tf.TensorSpec([], tf.int32)))
        return logits, steps

    def recognize_frames(logits, steps):
        valid = tf.sequence_mask(steps, tf.shape(logits)[1], tf.float32)[..., None]
        return {"probabilities": tf.nn.softmax(logits) * valid,
                "label_ids": ctc_greedy_frames(logits, steps), "steps": steps}

    def recognize(waveforms, lengths):
        return recognize_frames(*clip_frames(waveforms, lengths))

    _, beam_width = task._decoding("beam_search", None)

    def spell(ids):  # Character ids (0: nothing) -> text, as the verb's `" ".join(split())`.
        text = tf.strings.reduce_join(tf.gather(tf.constant(["", *characters]), ids), axis=1)
        return tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))

    def beam_search_ids(logits, steps):
        # As Keras's `ctc_decode(strategy="beam_search", mask_index=0)`: the blank moved to
        # the last column, where TensorFlow's decoder wants it, and the ids shifted back.
        x = tf.transpose(logits, (1, 0, 2))
        x = tf.concat([x[..., 1:], x[..., :1]], axis=-1)
        decoded, _ = tf.nn.ctc_beam_search_decoder(x, steps, beam_width=beam_width,
                                                   top_paths=1)
        return tf.sparse.to_dense(decoded[0], default_value=-1) + 1

    def transcribe(waveforms, lengths):
        logits, steps = clip_frames(waveforms, lengths)
        out = recognize_frames(logits, steps)
        return {"transcripts": spell(out["label_ids"]),
                "beam_search_transcripts": spell(beam_search_ids(logits, steps)),
                **out}

    waveforms, lengths = example_clips(rate)
    if pcm:  # The verb reads what the graph reads: the PCM samples over 32768.
        waveforms = np.clip(np.round(waveforms * 32768.0), -32768, 32767).astype("int16")
    clips = [(w[:n] / 32768.0).astype("float32") if pcm else w[:n]
             for w, n in zip(waveforms, lengths)]
    waves = [task.waveform(c, rate) for c in clips]
    logits = task.logits(waves)
    probabilities, steps = padded_probabilities(logits)
    label_ids = ctc_greedy_frames(tf.constant(probabilities), tf.constant(steps)).numpy()
    # `transcribe(clips, sample_rate=rate, decoder=...)` is `decode` of these logits.
    transcripts = np.array(task.decode(logits, "greedy"))
    beam_transcripts = np.array(task.decode(logits, "beam_search"))
    # The frame-wise ids must spell the verb's transcripts (its decoder is Keras's).
    spelled = [" ".join("".join(characters[i - 1] for i in row if i).split())
               for row in label_ids]
    if spelled != list(transcripts):
        raise RuntimeError(f"The frame-wise greedy decoding differs from the verb's on the "
                           f"example. Received: {spelled}, expected {list(transcripts)}")
    numbers = {"probabilities": probabilities, "label_ids": label_ids, "steps": steps}
    tolerance = {"probabilities": 1e-4}
    outputs = {
        "probabilities": f"float32 [batch, steps, {len(characters) + 1}]: per output frame "
                         f"(one per {task_steps_ms(task)} ms), the probabilities of the CTC "
                         "blank (column 0) and of each character of the alphabet (column k: "
                         "its k-th character); 0 past a clip's `steps`",
        "label_ids": "int32 [batch, steps]: the greedy (best path) decoding frame by frame: "
                     "the character id a frame emits, or 0 (blank, a repeat, padding)",
        "steps": "int32 [batch]: the output frames of each clip"}
    inputs = {"waveforms": (tf.TensorSpec([None, None], tf.int16 if pcm else tf.float32,
                                          name="waveforms"),
                            ("mono 16-bit PCM samples" if pcm else "mono samples from -1 to 1")
                            + f" at {rate} Hz (the model's rate), right-padded (with "
                            "anything) to the longest clip"),
              "lengths": (tf.TensorSpec([None], tf.int32, name="lengths"),
                          "the samples of each clip before padding")}
    steps_note = (f"To turn `label_ids` into text: drop the zeros of a row, map id k to the "
                  f"k-th character (from 1) of `characters` in `{ALPHABET_FILE}`, join, and "
                  "collapse runs of spaces (stripping the ends).")
    lite = ServingGraph(
        recognize, inputs=inputs, outputs=outputs,
        example={"waveforms": waveforms, "lengths": lengths}, expected=numbers,
        # TFLite's RFFT2D is less exact than TensorFlow's FFT: the normalised log-mel frames
        # differ by up to ~3e-3, the probabilities by up to ~1e-3 with `@5`, ~3.1e-3 with
        # `@6` from 16-bit PCM (labels: equal; `label_ids` are checked exactly).
        tolerance={"probabilities": 5e-3},
        notes=["TFLite's builtin ops hold the front end and the model but not the joining "
               "of characters into strings, so the TFLite model returns the greedy decoding's "
               "`label_ids` and the `probabilities`, not `transcripts`. " + steps_note,
               "Its STFT runs on TFLite's RFFT2D, a little less exact than TensorFlow's FFT: "
               "its probabilities are within 5e-3 of the SavedModel's on the example batch "
               "(the label ids equal), as the check below records."],
        assets={ALPHABET_FILE: alphabet_json(characters, rate)})
    return ServingGraph(
        transcribe, inputs=inputs,
        outputs={"transcripts": "string [batch]: the transcript of each clip (lowercase words), "
                                "as `transcribe(..., decoder=\"greedy\")`",
                 "beam_search_transcripts": "string [batch]: the transcripts by CTC beam "
                                            f"search (beam width {beam_width}), as "
                                            "`transcribe(..., decoder=\"beam_search\")`",
                 **outputs},
        example={"waveforms": waveforms, "lengths": lengths},
        expected={"transcripts": transcripts, "beam_search_transcripts": beam_transcripts,
                  **numbers}, tolerance=tolerance,
        options={"sample_format": sample_format},
        notes=[f"The waveforms must already be mono at {rate} Hz: the verb's file reading, "
               "channel mixing and resampling from other rates (`model_zoo.data.audio."
               "load_waveform`) are not in the graph.",
               "The graph decodes greedily (`transcripts`, as `decoder=\"greedy\"`) and by CTC "
               "beam search (`beam_search_transcripts`, as `decoder=\"beam_search\"`); the "
               "checkpoint's default decoder is "
               f"{task.preprocessing.get('decoder', 'greedy')!r}: the character language "
               "model's fusion (`beam_search_lm`, a Python prefix beam search over an n-gram "
               "model) is not in the graph (decode the `probabilities` outside it for that).",
               "Unlike the Python verb, it does not refuse empty, silent, non-finite, too short "
               f"(< {features.min_seconds:g} s) or too long clips: a clip shorter than one STFT "
               f"frame ({features.frame_length} samples) has no `steps` and an empty "
               "transcript."],
        tflite=lite)


def alphabet_json(characters, sample_rate):
    """The TFLite caller's alphabet file: the characters in output order (id k is the k-th,
    from 1; id 0 the CTC blank) and the sample rate."""
    return json.dumps({"characters": characters, "blank_id": 0,
                       "sample_rate": sample_rate}, indent=2, ensure_ascii=False) + "\n"


def time_strides(model):
    """The time strides of the recogniser's convolutions (its subsampling), in order."""
    return [int(layer.strides[0]) for layer in model.layers
            if isinstance(getattr(layer, "strides", None), tuple) and len(layer.strides) == 2]


def task_steps_ms(task):
    """Milliseconds per output frame of the recogniser: the hop times its subsampling."""
    features = task.features
    ms = 1000.0 * features.frame_step * np.prod(time_strides(task.model)) / features.sample_rate
    return f"{ms:g}"
