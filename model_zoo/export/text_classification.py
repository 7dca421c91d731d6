"""Text classifiers as graphs: a batch of raw strings -> class probabilities and labels.

The SavedModel runs the tokenizer's own TensorFlow Text code (`TextTokenizer.encode`: Unicode
normalisation, HTML stripping, lower-casing, WordPiece or characters, truncation) before the
Keras model. TFLite's builtin ops do not hold those string ops, so the TFLite model takes the
token ids of one text and the export writes the tokenizer's vocabulary and settings beside it.
"""

import json

import numpy as np

from model_zoo.data.text import pad_rows
from model_zoo.export.base import ServingGraph, exporter


def example_texts(max_length):
    """Texts that exercise the preprocessing: case, HTML, accents, full-width letters, a text
    past `max_length` tokens (its head and tail disagree), one with no known word and one
    that is only a tag (no tokens left: the `[UNK]` row)."""
    middle = " ".join(["the plot meanders along"] * max_length)
    return np.array([
        "A wonderful film, moving and FUNNY.",
        "<p>Dull,<br />and far too long.</p> Le café était très mauvais...",
        "Ｆｉｎｅ， ｂｕｔ ｎｏｔ ｇｒｅａｔ.",
        f"The opening is dreadful and boring. {middle} But the ending is brilliant!",
        "🎬🍿 ✨",
        "<br />",
    ])


@exporter("text_classification")
def text_classification_graph(task):
    """The classifier's `predict_proba` and `classify` over a batch of raw strings, in
    TensorFlow ops (with TensorFlow Text's).

    The SavedModel takes the texts as they are; its TFLite alternative (`ServingGraph.tflite`)
    takes the token ids of one text, as `TextClassifier.encode` gives them.

    Args:
        task: a `TextClassifier`.
    """
    import tensorflow as tf

    tokenizer, labels = task.tokenizer, task.labels
    max_length = task.max_length
    truncation = task.preprocessing.get("truncation", "head")

    def classify_ids(token_ids):
        probabilities = task.model(token_ids, training=False)
        index = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities, "class_index": index,
                "label": tf.gather(tf.constant(labels), index)}

    def classify(texts):
        if tokenizer.normalization != "NFKC":  # `check_texts` NFKC-normalises every text.
            import tensorflow_text as tf_text

            texts = tf_text.normalize_utf8(texts, "NFKC")
        ids = tokenizer.encode(texts, max_length, truncation, empty_id=tokenizer.unknown_id)
        return classify_ids(ids.to_tensor(default_value=tokenizer.pad_id))

    texts = example_texts(max_length)
    probabilities = task.predict_proba(list(texts))
    expected = {"probabilities": probabilities,
                "class_index": probabilities.argmax(1).astype("int32"),
                "label": np.array([labels[i] for i in probabilities.argmax(1)])}
    outputs = {"probabilities": f"float32 [batch, {len(labels)}]: class probabilities, "
                                f"columns in the order of `label`'s classes {labels}",
               "class_index": "int32 [batch]: the most probable class's column",
               "label": "string [batch]: the most probable class"}
    steps = _preprocessing_steps(tokenizer, max_length, truncation)
    # The verb's own ids of the example (padded: the model masks id 0), for the TFLite model.
    ids = pad_rows(task.encode(list(texts)), pad_id=tokenizer.pad_id)
    assets = {"preprocessing.json": json.dumps(task.preprocessing, indent=2) + "\n",
              **tokenizer.assets()}
    lite = ServingGraph(
        classify_ids,
        inputs={"token_ids": (tf.TensorSpec([None, None], tf.int32, name="token_ids"),
                              "the token ids of one text, as the SavedModel's preprocessing "
                              "makes them (see below); 0 pads and is ignored")},
        outputs=outputs, example={"token_ids": ids}, expected=expected,
        tolerance={"probabilities": 1e-4},
        notes=["TFLite's builtin ops do not hold TensorFlow Text's string ops (Unicode "
               "normalisation, case folding, WordPiece; the converter passes them only as "
               "TensorFlow ops, which the TFLite runtimes lack), so the caller tokenizes: "
               + steps,
               "`preprocessing.json` holds the tokenizer's settings, the labels, `max_length` "
               "and `truncation`" + (f"; `{', '.join(tokenizer.assets())}` the vocabulary, "
                                     "one token a line, line k (from 0) being id k"
                                     if tokenizer.assets() else
                                     "; its `vocabulary` lists the tokens, entry k being "
                                     "id k") + "."],
        assets=assets)
    return ServingGraph(
        classify,
        inputs={"texts": (tf.TensorSpec([None], tf.string, name="texts"),
                          "a batch of raw texts (UTF-8), of any length")},
        outputs=outputs,
        example={"texts": texts}, expected=expected,
        tolerance={"probabilities": 1e-4},
        notes=[f"The graph tokenizes as the Python verb does: {steps}",
               "Unlike the Python verb, it does not refuse empty texts (they are read as one "
               "unknown token) nor texts past `model_zoo.limits` (10,000 texts, 20,000 "
               "characters each)."],
        requires=["tensorflow_text"],
        resources=tokenizer.resources(),
        tflite=lite)


def _preprocessing_steps(tokenizer, max_length, truncation):
    """The tokenization `TextTokenizer.encode` does, in words (for the card)."""
    config = tokenizer.get_config()
    steps = ["Unicode NFKC normalisation"]
    if config.get("normalization") not in (None, "NFKC"):
        steps.append(f"{config['normalization']} normalisation")
    if config.get("strip_html"):
        steps.append("HTML tags replaced by a space")
    if config["type"] == "wordpiece":
        steps.append(("lower-casing and accent stripping, " if config.get("lowercase") else "")
                     + "BERT word splitting (punctuation apart) and WordPiece (`##` "
                     "continues a word; an unknown word is `[UNK]`, id 1)")
    else:
        steps.append("one id per character (an unknown character is id 1)")
    kept = {"head": f"the first {max_length}",
            "tail": f"the last {max_length}",
            "head_tail": f"the first {max_length // 4} and the last "
                         f"{max_length - max_length // 4}"}[truncation]
    steps.append(f"at most {max_length} tokens kept per text ({kept}); a text without "
                 "tokens is the one token `[UNK]` (id 1)")
    return "; ".join(steps) + "."
