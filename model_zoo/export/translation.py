"""Translators as graphs: a batch of raw sentences -> their translations, by beam search.

The SavedModel tokenizes each sentence with the checkpoint's source SentencePiece model
(TensorFlow Text's `SentencepieceTokenizer`, the very op `Translator.translate` runs), encodes
the batch once and decodes in a `tf.while_loop` of the decoder's own compiled step, up to the
verb's length guard, then detokenizes with the target model: by beam search
(`Seq2SeqDecoder.beam_tensors`) with the checkpoint's beam size and length penalty, which is
`translate(texts)`, or with `beam_size=` fixed at export (1: greedy,
`Seq2SeqDecoder.greedy_tensors`). The TFLite model decodes greedily (the beam search's
float64 scores and scatters are not TFLite's): it takes the source ids of one sentence and
returns the translation's ids; both SentencePiece models are written beside it.
"""

import numpy as np

from model_zoo.errors import InputError
from model_zoo.export.base import ServingGraph, exporter
from model_zoo.models.seq2seq.sentencepiece_tokenizer import BOS_ID, EOS_ID, PAD_ID


def example_sentences():
    """Sentences of different lengths, an unknown symbol, accents and digits."""
    return np.array(["God is love.", "In the beginning God created the heavens and the earth.",
                     "And he said unto them, Go ye into all the world 🌍!",
                     "Blessed are the poor in spirit: for theirs is the kingdom of heaven.",
                     "Ｔｈｅ café, 12 men."])


#: The largest beam an export takes (the verb takes any; a graph's loop holds every beam).
MAX_EXPORT_BEAM = 32


@exporter("translation")
def translation_graph(task, beam_size=None):
    """The translator's `translate` over a batch of raw strings, in TensorFlow ops (with
    TensorFlow Text's SentencePiece).

    Args:
        task: a `Translator`.
        beam_size: the SavedModel's beam, fixed at export (default: the checkpoint's, as
            `translate`; 1: greedy search). The TFLite model decodes greedily.
    """
    import tensorflow as tf

    source_tokenizer, target_tokenizer = task.tokenizers
    p = task.preprocessing
    limit = int(p["max_decode_length"])
    decoder = task.decoder
    beam = int(p["beam_size"]) if beam_size is None else beam_size
    if (isinstance(beam, bool) or not isinstance(beam, (int, np.integer))
            or not 1 <= beam <= MAX_EXPORT_BEAM):
        raise InputError(f"`beam_size` must be an integer from 1 to {MAX_EXPORT_BEAM}. "
                         f"Received: beam_size={beam_size!r}")
    alpha = float(p["alpha"])

    def translate_ids(source, lengths, beam):
        # `Translator.length_guard`, at least 1 as in `Seq2SeqDecoder.decode`.
        guard = tf.math.ceil(float(p["length_ratio"]) * tf.cast(lengths, tf.float32)
                             + float(p["length_extra"]))
        guard = tf.maximum(tf.cast(tf.minimum(guard, float(limit)), tf.int32), 1)
        ids, score = (decoder.greedy_tensors(source, guard, limit) if beam == 1 else
                      decoder.beam_tensors(source, guard, limit, beam, alpha))
        return {"translation_ids": ids, "log_probability": score}

    def lite_function(token_ids):
        return translate_ids(token_ids[:, :limit], tf.minimum(tf.shape(token_ids)[1:2], limit),
                             1)

    def function(texts):
        ids = source_tokenizer.tf_tokenizer.tokenize(texts)[:, :limit]  # As `_translate_ids`.
        source = ids.to_tensor(default_value=PAD_ID)  # At least one column (no sentences,
        source = tf.pad(source, [[0, 0], [0, tf.maximum(1 - tf.shape(source)[1], 0)]])  # "").
        out = translate_ids(source, tf.cast(ids.row_lengths(), tf.int32), beam)
        kept = out["translation_ids"] > EOS_ID  # `detokenize` skips the special ids.
        out["translations"] = target_tokenizer.tf_tokenizer.detokenize(
            tf.ragged.boolean_mask(out["translation_ids"], kept))
        return out

    texts = example_sentences()

    def expected_for(beam):  # What `translate(texts, beam_size=beam)` decodes, as ids.
        sources, outputs, _ = task._translate_ids(list(texts), beam, alpha,
                                                  int(p["batch_size"]), False)
        ids = np.zeros((len(texts), max([len(o) for o in outputs] + [0])), "int32")
        for k, row in enumerate(outputs):
            ids[k, :len(row)] = row
        return sources, outputs, {
            "translation_ids": ids,
            "log_probability": _log_probability(decoder, task, sources, outputs)}

    sources, outputs, greedy = expected_for(1)  # The TFLite model's, and beam 1's.
    best = outputs if beam == 1 else None
    expected = greedy
    if beam > 1:
        _, best, expected = expected_for(beam)
    translations = task.target_tokenizer.detokenize(best)  # As `translate` ends.
    tolerance = {"translation_ids": 0, "log_probability": 1e-3}
    described = {
        "translation_ids": "int32 [batch, longest]: the translation's target SentencePiece "
                           "ids (without start and end ids), right-padded with 0",
        "log_probability": "float32 [batch]: the model's log-probability of the translation "
                           "(its pieces and its end, unless the length guard stopped it)"}
    lite = ServingGraph(
        lite_function,
        inputs={"token_ids": (tf.TensorSpec([None, None], tf.int32, name="token_ids"),
                              "the source SentencePiece ids of one sentence (`source.spm`, "
                              f"no start or end id; at most {limit} are read)")},
        outputs=described,
        example={"token_ids": np.array([sources[0]], "int32")},
        expected={k: v[:1, :len(outputs[0])] if v.ndim == 2 else v[:1]
                  for k, v in greedy.items()},
        tolerance=tolerance,
        notes=["TFLite's builtin ops do not hold SentencePiece, so the caller tokenizes with "
               "`source.spm` and detokenizes `translation_ids` with `target.spm` (the "
               "checkpoint's SentencePiece models, beside it; ids 0-3 are padding, unknown, "
               "start and end: skip them)."],
        assets=task.assets())
    return ServingGraph(
        function,
        inputs={"texts": (tf.TensorSpec([None], tf.string, name="texts"),
                          f"a batch of sentences in {p['source_language']} (UTF-8)")},
        outputs={"translations": f"string [batch]: the translations into "
                                 f"{p['target_language']}, as `translate(texts, "
                                 f"beam_size={beam})`", **described},
        example={"texts": texts},
        expected={"translations": np.array(translations), **expected},
        tolerance=tolerance,
        notes=[(f"The graph decodes by beam search, beam {beam} and length penalty alpha "
                f"{alpha}, as `translate(texts, beam_size={beam})`" if beam > 1 else
                "The graph decodes greedily, as `translate(texts, beam_size=1)`")
               + f" (the checkpoint's default beam: {p['beam_size']}); the TFLite model "
                 "decodes greedily.",
               f"As the verb, it reads at most {limit} source pieces and stops a translation "
               f"at min({p['length_ratio']} x source pieces + {p['length_extra']}, {limit}) "
               "pieces.",
               "Unlike the Python verb, it does not refuse empty sentences nor sentences past "
               "`model_zoo.limits` (10,000 sentences, 20,000 characters each)."],
        requires=["tensorflow_text"],
        resources=[source_tokenizer.tf_tokenizer, target_tokenizer.tf_tokenizer],
        options={"beam_size": beam},
        tflite=lite)


def _log_probability(decoder, task, sources, outputs):
    """The model's log-probability of each of `outputs` (the end id included where the
    translation ended before its length guard), by teacher forcing (`step_logits`)."""
    guards = task.length_guard([len(s) for s in sources])
    scores = []
    for source, row, guard in zip(sources, outputs, guards):
        targets = list(row) + ([EOS_ID] if len(row) < max(guard, 1) else [])
        if not targets:
            scores.append(0.0)
            continue
        log_probs = decoder.step_logits(np.array([source or [PAD_ID]], "int32"),
                                        np.array([[BOS_ID] + targets[:-1]], "int32"))[0]
        scores.append(float(sum(log_probs[t, i] for t, i in enumerate(targets))))
    return np.array(scores, "float32")
