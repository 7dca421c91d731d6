"""Exports side by side: size, ops, latency per item and test-set quality of each format.

    python benchmarks/export_formats.py [--repeats 50] [--names forecast_lstm_airline ...]

For the published checkpoints named (by default one per task with a quality measure here),
writes the SavedModel, the TFLite model and its float16 and dynamic-range quantised variants,
then measures in this one run, on this CPU:
- size on disk and the TFLite op set the converter needed;
- latency of one item (batch of 1): the Python verb, the SavedModel signature, TFLite;
- the largest difference from the Python verb on the exporter's example batch;
- quality on the recipe's test split with each format, beside the Python verb's:
  accuracy (series and text classification), MASE (forecasting), ROC-AUC (anomaly
  detection), token accuracy (tagging: the Python verb and the TFLite models, which take the
  test sentences' own tokens), BLEU (translation: the verb and the SavedModel by the
  checkpoint's beam search, the TFLite models greedily), nats per character (the character
  LM, on `LM_POSITIONS` positions spread over the test plays, each after the 64 characters
  before it: the model on ids and the TFLite models; the SavedModel takes text), CER
  (speech, greedy, on the real Asterisk clips: the verb, the SavedModel's transcripts and the
  TFLite models' label ids spelled with the alphabet).
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.timing import median_seconds  # noqa: E402

DEFAULT_NAMES = ["classify_bigru_italypowerdemand", "forecast_lstm_airline",
                 "anomaly_lstmae_ucr135", "sentiment_bigru_rotten_tomatoes",
                 "tagging_bilstm_brown", "translation_bilstm_bible_en_es",
                 "charlm_lstm_shakespeare", "asr_crnn_synthetic_en"]
#: Positions of the test plays the character LM is scored on, and the context before each.
LM_POSITIONS, LM_CONTEXT = 2000, 64
VARIANTS = [("saved_model", None), ("tflite", None), ("tflite", "float16"),
            ("tflite", "dynamic_range")]


def folder_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
               for f in files)


def runner(folder, fmt):
    """`run(inputs) -> outputs` of one written export, in the format asked for."""
    from model_zoo.export import saved_model_runner, tflite_runner

    if fmt == "tflite":
        run = tflite_runner(os.path.join(folder, "model.tflite"))
        with open(os.path.join(folder, "export.json")) as f:
            run.ids = "inputs" in json.load(f)["tflite"]  # It has inputs of its own: ids.
        return run
    return saved_model_runner(folder)


# -- quality on the recipe's test split, through `run` (one item per call, as on a device) ----

def series_classification_quality(task, data, run):
    from model_zoo.metrics.series_classification import classification_metrics

    labels = []
    for series in data.test.series:
        out = run({"series": series[None].astype("float32"),
                   "lengths": np.array([len(series)], "int32")})
        labels.append(np.asarray(out["label"]).astype(bytes).astype(str)[0])
    return "accuracy", classification_metrics(data.test.labels, labels)["accuracy"]


def forecasting_quality(task, data, run):
    from model_zoo.data.timeseries import rolling_origins
    from model_zoo.metrics.forecasting import forecast_metrics, mase_scale

    values, span = data.values, task.history_needed
    origins = rolling_origins(values.size, data.test_size, task.horizon)
    forecasts = np.concatenate([run({"history": values[None, t - span:t].astype("float32")})
                                ["forecast"] for t in origins])
    truth = np.stack([values[t:t + task.horizon] for t in origins])
    scale = mase_scale(values[:origins[0]], task.season)
    return "mase", forecast_metrics(truth, forecasts, scale)["mase"]


def anomaly_detection_quality(task, data, run):
    from model_zoo.metrics.anomaly import anomaly_metrics

    scores = run({"series": data.values[None].astype("float32")})["scores"][0]
    start = data.test_start
    return "roc_auc", anomaly_metrics(data.labels[start:], scores[start:],
                                      task.threshold)["roc_auc"]


def text_classification_quality(task, data, run):
    texts, labels = data.test
    # A TFLite model of a text task takes the token ids (`run.ids`), the SavedModel the text.
    inputs = ([{"token_ids": ids[None].astype("int32")} for ids in task.encode(list(texts))]
              if getattr(run, "ids", False) else [{"texts": np.array([t])} for t in texts])
    predicted = np.array([int(np.asarray(run(x)["class_index"])[0]) for x in inputs])
    return "accuracy", float(np.mean(predicted == np.asarray(task._label_indices(labels))))


def tagging_quality(task, data, run):
    """Token accuracy on the test sentences' own tokens: the TFLite model takes them encoded
    (`run.ids`), the Python verb as token lists; the SavedModel takes raw sentences only, which
    it splits itself, so it gets no score here (its difference from the verb is the check's)."""
    from model_zoo.data.tagging import encode_sentences, pad_batch

    if getattr(run, "ids", False):
        def tags_of(tokens):
            ids, _ = pad_batch(encode_sentences(task.vocabulary, [(tokens, None)],
                                                with_tags=False), task.vocabulary.max_word_chars)
            out = np.asarray(run({"words": ids["words"].astype("int32"),
                                  "chars": ids["chars"].astype("int32")})["tags"])[0]
            return [t.decode() if isinstance(t, bytes) else str(t) for t in out[:len(tokens)]]
    elif getattr(run, "tokens", False):
        def tags_of(tokens):
            return [tag for _, tag in task.tag([tokens])[0]]
    else:
        return None
    right = total = 0
    for tokens, gold in data.test:
        predicted = tags_of(list(tokens))
        right += sum(p == g for p, g in zip(predicted, gold))
        total += len(gold)
    return "token accuracy", right / total


def translation_quality(task, data, run):
    from model_zoo.metrics.translation import translation_metrics

    pairs = data.split["test"]
    sources, references = [p.english for p in pairs], [p.spanish for p in pairs]
    limit = int(task.preprocessing["max_decode_length"])
    hypotheses = []
    for source in sources:
        if getattr(run, "ids", False):  # TFLite: SentencePiece ids in and out.
            ids = task.source_tokenizer.tokenize([source])[0][:limit] or [0]
            out = np.asarray(run({"token_ids": np.array([ids], "int32")})["translation_ids"])
            hypotheses.append(task.target_tokenizer.detokenize([out[0]])[0])
        else:
            text = np.asarray(run({"texts": np.array([source])})["translations"])[0]
            hypotheses.append(text.decode() if isinstance(text, bytes) else str(text))
    return "BLEU", translation_metrics(hypotheses, references)["bleu"]


def language_model_quality(task, data, run):
    """Nats per character on `LM_POSITIONS` test positions, through the TFLite model's token
    ids (the SavedModel, which takes text, gets no score here)."""
    if not getattr(run, "ids", False):
        return None
    stream = np.asarray(data.stream("test"))
    positions = np.linspace(LM_CONTEXT, len(stream) - 1, LM_POSITIONS).astype(int)
    nats = 0.0
    for i in positions:
        window = stream[i - LM_CONTEXT:i][None].astype("int32")
        p = np.asarray(run({"token_ids": window})["next_token_probabilities"])[0]
        nats -= np.log(max(float(p[stream[i]]), 1e-12))
    return "nats/char", nats / len(positions)


def speech_quality(task, data, run):
    """Greedy CER on the real clips: the verb's and the SavedModel's transcripts, the TFLite
    model's label ids spelled with the alphabet (as its card says)."""
    from model_zoo.metrics.speech import error_rates

    characters = task.alphabet.characters
    hypotheses, references = [], []
    for clip in data.real:
        wave = task.waveform(clip.path).astype("float32")
        out = run({"waveforms": wave[None], "lengths": np.array([len(wave)], "int32")})
        if "transcripts" in out:
            text = np.asarray(out["transcripts"])[0]
            text = text.decode() if isinstance(text, bytes) else str(text)
        else:
            ids = np.asarray(out["label_ids"])[0]
            text = " ".join("".join(characters[i - 1] for i in ids if i).split())
        hypotheses.append(text)
        references.append(clip.text)
    return "CER", error_rates(references, hypotheses)["cer"]


QUALITY = {"series_classification": series_classification_quality,
           "forecasting": forecasting_quality, "anomaly_detection": anomaly_detection_quality,
           "text_classification": text_classification_quality, "tagging": tagging_quality,
           "translation": translation_quality, "language_modeling": language_model_quality,
           "speech_recognition": speech_quality}


def python_runner(task):
    """The Python verb behind the export inputs (one item per call), for the same measures;
    None for the tasks measured through their exports only (size, latency, difference)."""
    if task.task_name == "series_classification":
        return lambda x: {"label": np.array([task.classify(x["series"][0, :x["lengths"][0]])])}
    if task.task_name == "text_classification":
        return lambda x: {"class_index": task.predict_proba(list(x["texts"])).argmax(1)}
    if task.task_name == "forecasting":
        return lambda x: {"forecast": task.forecast(x["history"][0])[None]}
    if task.task_name == "anomaly_detection":
        return lambda x: {"scores": task.score(x["series"][0].astype("float64"))[None]}
    if task.task_name == "tagging":
        def tag(x):
            return {"tags": np.array([[t for _, t in task.tag(list(x["sentences"]))[0]]])}
        tag.tokens = True  # `tagging_quality` hands it the test sentences' own tokens.
        return tag
    if task.task_name == "translation":
        return lambda x: {"translations": np.array(task.translate(list(x["texts"])))}
    if task.task_name == "language_modeling":
        def next_token(x):  # The network on the TFLite model's input: prompt ids.
            logits = np.asarray(task.model(x["token_ids"], training=False))[:, -1]
            e = np.exp(logits - logits.max(-1, keepdims=True))
            return {"next_token_probabilities": e / e.sum(-1, keepdims=True)}
        next_token.ids = True
        return next_token
    if task.task_name == "speech_recognition":
        def transcribe(x):
            wave = x["waveforms"][0, :x["lengths"][0]]
            return {"transcripts": np.array([task.transcribe(
                wave, sample_rate=task.features.sample_rate, decoder="greedy")]).ravel()}
        return transcribe
    return None


def measured(quality, task, data, run):
    """`"metric value"` of `quality`, or `-` for a task or format without a quality measure
    here."""
    result = quality(task, data, run) if quality is not None else None
    if result is None:
        return "-"
    metric, value = result
    return f"{metric} {value:.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per latency")
    parser.add_argument("--names", nargs="+", default=DEFAULT_NAMES,
                        help="published checkpoints to export")
    args = parser.parse_args()

    import model_zoo
    from model_zoo.export import serving_graph
    from model_zoo.training.recipe import get_recipe

    print(f"{'checkpoint':<34}{'format':<24}{'MB':>7}  {'ops':<30}{'ms/item':>9}"
          f"{'max diff':>11}  test quality")
    for name in args.names:
        task = model_zoo.load(name)
        quality, python = QUALITY.get(task.task_name), python_runner(task)
        data = (get_recipe(task.metadata.recipe).load_data(task.metadata.config["config"])
                if quality else None)
        options = ({"length": data.values.size} if task.task_name == "anomaly_detection" else
                   {"max_new_tokens": 1} if task.task_name == "language_modeling" else {})
        graph = serving_graph(task, **options)
        one = {k: v[:1] for k, v in graph.example.items()}
        # A TFLite model with inputs of its own (token ids) gets its own example.
        one_lite = {k: v[:1] for k, v in (graph.tflite or graph).example.items()}
        print(name)
        if python is not None:
            item = one_lite if getattr(python, "ids", False) else one
            print(f"{'':<34}{'python verb':<24}{'':>7}  {'':<30}"
                  f"{1e3 * median_seconds(lambda: python(item), args.repeats):>9.2f}{'':>11}  "
                  f"{measured(quality, task, data, python)}")
        with tempfile.TemporaryDirectory() as tmp:
            for fmt, quantize in VARIANTS:
                folder = os.path.join(tmp, f"{fmt}-{quantize}")
                card = task.export(folder, format=fmt, quantize=quantize, **options)
                run = runner(folder, fmt)
                size = (card["tflite"]["bytes"] if fmt == "tflite" else
                        folder_bytes(folder) - os.path.getsize(os.path.join(folder, "README.md")))
                diff = max(v.get("max_abs_difference", 0.0) for v in card["check"][fmt].values())
                item = one_lite if fmt == "tflite" else one
                ms = 1e3 * median_seconds(lambda: run(item), args.repeats)
                label = fmt + (f" {quantize}" if quantize else "")
                ops = card["tflite"]["ops"] if fmt == "tflite" else "TensorFlow"
                print(f"{'':<34}{label:<24}{size / 1e6:>7.2f}  {ops:<30}{ms:>9.2f}"
                      f"{diff:>11.2g}  {measured(quality, task, data, run)}")


if __name__ == "__main__":
    main()
