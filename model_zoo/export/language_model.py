"""Language models as graphs: a batch of prompts -> next-token probabilities and a greedy
continuation.

The SavedModel tokenizes each prompt as `LanguageModel.generate` does (the tokenizer's own
TensorFlow code; an empty prompt is a new line, or a new document for a subword model), reads
the next-token distribution after it from the Keras model, and continues it greedily for
`max_new_tokens` tokens (fixed at export) in a `tf.while_loop` of the sampler's own compiled
step (`StatefulSampler.advance`: the prompt is fed token by token, then the argmax is fed
back), which is `generate(prompts, max_chars=max_new_tokens, temperature=0)`. Sampling
(temperature, top-k, top-p) is not in the graph: it needs random numbers the caller would
want to control. The TFLite model takes the ids of one prompt and returns the same numbers;
the tokenizer's settings (and vocabulary) are written beside it.
"""

import json

import numpy as np

from model_zoo.errors import InputError
from model_zoo.export.base import ServingGraph, exporter

#: Tokens the export's greedy continuation has when `max_new_tokens` is not given.
DEFAULT_NEW_TOKENS = 32


def example_prompts(tokenizer):
    """Prompts of different lengths: empty (a new line or document), case, accents, full-width
    letters, an unknown symbol, HTML (a subword model strips tags)."""
    return np.array(["ROMEO.\nWhat say you, my lord?\n", "", "To be, or not to be",
                     "Ｔｈｅ café was <br /> très good 🎬",
                     "This movie was one of the best I have seen this year, and"])


@exporter("language_modeling")
def language_model_graph(task, max_new_tokens=None):
    """The language model's next-token distribution after each prompt and its greedy
    continuation, over a batch of raw strings, in TensorFlow ops (with TensorFlow Text's).

    Args:
        task: a `LanguageModel`.
        max_new_tokens: the length of the greedy continuation (characters for a character
            model, tokens for a subword model), fixed in the graph; default 32.
    """
    import tensorflow as tf

    steps = DEFAULT_NEW_TOKENS if max_new_tokens is None else max_new_tokens
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not (
            1 <= steps <= 1000):
        raise InputError(f"`max_new_tokens` must be an integer from 1 to 1000. Received: "
                         f"max_new_tokens={max_new_tokens!r}")
    steps = int(steps)
    tokenizer = task.tokenizer
    character = tokenizer.kind == "character"
    prompts = example_prompts(tokenizer)
    # The verb first: it builds the sampler whose `advance` step the graph runs.
    continuations = task.generate(list(prompts), max_chars=steps, temperature=0.0)
    sampler = task._sampler
    starts = [task._start_ids(p) for p in prompts]
    probabilities = np.stack([_softmax(np.asarray(task.model(
        np.array([ids], "int32"), training=False))[0, -1]) for ids in starts])
    new_ids = np.array(sampler.generate(starts, steps, temperature=0.0), "int32")

    def continue_ids(token_ids, lengths):
        """`(next-token probabilities, greedy continuation ids)` of right-padded prompts."""
        batch = tf.shape(token_ids)[0]
        logits = task.model(token_ids, training=False)
        last = tf.gather(logits, lengths - 1, axis=1, batch_dims=1)
        total = tf.maximum(tf.reduce_max(lengths), 1) + steps - 1  # (No prompts: 1.)
        forced = tf.pad(token_ids, [[0, 0], [0, total + 1 - tf.shape(token_ids)[1]]])
        states = [[tf.zeros([batch, size]) for size in (
            cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size])]
            for cell in sampler.cells]

        def body(t, tokens, states, out):
            logits, states = sampler.advance(tokens, states)  # As `generate` at temperature 0.
            tokens = tf.where(t + 1 < lengths, forced[:, t + 1],
                              tf.argmax(logits, axis=-1, output_type=tf.int32))
            # Token t + 1 of the stream is new token t + 1 - length of its row (if in range).
            out += tf.one_hot(t + 1 - lengths, steps, dtype=tf.int32) * tokens[:, None]
            return t + 1, tokens, states, out

        _, _, _, out = tf.while_loop(
            lambda t, *_: t < total, body,
            (tf.constant(0), forced[:, 0], states, tf.zeros([batch, steps], tf.int32)))
        return tf.nn.softmax(last, axis=-1), out

    def lite_function(token_ids):
        probabilities, ids = continue_ids(token_ids, tf.shape(token_ids)[1:2])
        return {"next_token_probabilities": probabilities, "continuation_ids": ids}

    def function(texts):
        if character:  # `_start_ids`: an empty prompt is a new line.
            ids = tokenizer.tokenize(tf.where(texts == "", "\n", texts))
        else:  # A new document: `[END]`, then the prompt's tokens.
            ids = tokenizer.tokenize(texts)
            ids = tf.concat([tf.fill(tf.stack([tf.shape(texts)[0], 1]), tokenizer.end_id),
                             ids], axis=1)
        ids_tensor = ids.to_tensor(default_value=0)  # At least one column (no prompts).
        ids_tensor = tf.pad(ids_tensor, [[0, 0], [0, tf.maximum(1 - tf.shape(ids_tensor)[1], 0)]])
        probabilities, new = continue_ids(ids_tensor,
                                          tf.cast(ids.row_lengths(), tf.int32))
        return {"next_token_probabilities": probabilities, "continuation_ids": new,
                "continuation": tokenizer.detokenize_tensor(new)}

    unit = "character" if character else "token"
    outputs = {"next_token_probabilities": f"float32 [batch, {tokenizer.vocabulary_size}]: "
                                           f"the model's distribution of the {unit} after the "
                                           f"prompt (column k: {unit} id k)",
               "continuation_ids": f"int32 [batch, {steps}]: the greedy continuation's ids"}
    lite_outputs = dict(outputs)
    outputs["continuation"] = (f"string [batch]: the greedy continuation ({steps} {unit}s), "
                               f"as `generate(prompts, max_chars={steps}, temperature=0)`")
    tolerance = {"next_token_probabilities": 1e-4, "continuation_ids": 0}
    expected = {"next_token_probabilities": probabilities, "continuation_ids": new_ids}
    lite = ServingGraph(
        lite_function,
        inputs={"token_ids": (tf.TensorSpec([None, None], tf.int32, name="token_ids"),
                              "the ids of one prompt, as the SavedModel's tokenization makes "
                              "them (see below); at least one")},
        outputs=lite_outputs,
        example={"token_ids": np.array([starts[0]], "int32")},  # One prompt per call.
        expected={k: v[:1] for k, v in expected.items()}, tolerance=tolerance,
        notes=["TFLite's builtin ops do not hold TensorFlow Text's string ops, so the caller "
               "tokenizes: " + _tokenization(tokenizer),
               "`preprocessing.json` holds the model's preprocessing state, the tokenizer's "
               "settings among it" + ("; its `vocabulary` lists the characters, entry k "
                                      "being id k" if character else
                                      "; `vocab.txt` the vocabulary, one token a line, line k "
                                      "(from 0) being id k") + ": the continuation's ids are "
               "read with it."],
        assets={"preprocessing.json": json.dumps(task.preprocessing, indent=2,
                                                 ensure_ascii=False) + "\n",
                **tokenizer.assets()})
    return ServingGraph(
        function,
        inputs={"texts": (tf.TensorSpec([None], tf.string, name="texts"),
                          "a batch of prompts (UTF-8); an empty one starts a new "
                          + ("line" if character else "document"))},
        outputs=outputs,
        example={"texts": prompts},
        expected={**expected, "continuation": np.array(continuations)},
        tolerance=tolerance, options={"max_new_tokens": steps},
        notes=[f"The graph tokenizes as the Python verb does: {_tokenization(tokenizer)}",
               f"The continuation is greedy (the most probable {unit} each step, among those "
               "`generate` may write: not padding, the unknown id"
               + ("" if character else " or `[START]`") + ") and "
               f"`max_new_tokens={steps}` long, fixed at export; `generate` samples by "
               "default (temperature 1, top-k, top-p and a seed): sampling is not in the graph.",
               "Unlike the Python verb, it does not refuse prompts past `model_zoo.limits`."],
        requires=["tensorflow_text"],
        resources=tokenizer.resources(),
        tflite=lite)


def _softmax(logits):
    logits = np.asarray(logits, "float64")
    e = np.exp(logits - logits.max())
    return (e / e.sum()).astype("float32")


def _tokenization(tokenizer):
    """`LanguageModel._start_ids`, in words (for the card)."""
    config = tokenizer.get_config()
    if config["type"] == "character":
        return ("Unicode NFKC normalisation, then one id per character (an unknown character "
                "is id 1); an empty prompt is a new line.")
    return ("`[END]` (the previous document's end), then Unicode NFKC normalisation"
            + (", HTML tags replaced by a space" if config.get("strip_html") else "")
            + (", lower-casing and accent stripping" if config.get("lowercase") else "")
            + ", BERT word splitting and WordPiece (an unknown word is `[UNK]`, id 1).")
