"""`model-zoo serve`: TensorFlow Serving's REST API over the task verbs (`model_zoo.serving`).

One server, in a thread of this process on 127.0.0.1 and a free port, serves a small published
checkpoint of every task; it stops by itself at the end of the module (or after
`MAX_SECONDS`). Every task's answer over HTTP is the Python verb's on the same input
(`CASES`: a task without a case fails `test_every_task_has_a_case`), bad requests get JSON
errors with 4xx codes, concurrent requests are batched, and the command line serves and stops
on SIGTERM.
"""

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import model_zoo
from model_zoo import serving

SERIES = [round(100 + 10 * np.sin(t / 3) + 0.05 * t, 3) for t in range(80)]
CLIP = [round(0.3 * np.sin(t / 5) * np.sin(np.pi * t / 2400) ** 2, 5) for t in range(2400)]
CLIP_16K = [round(0.3 * np.sin(t / 9), 5) for t in range(4000)]
MAX_SECONDS = 600  # The server stops by itself after this long, whatever happens here.
MAX_BODY_MB = 0.5
MAX_INSTANCES = 16


def _float32(values):
    return np.asarray(values, "float32")


# -- one case per task: (checkpoint, instances, the same predictions from the Python verbs) ----

CASES = {
    "forecasting": (
        "forecast_lstm_airline", [SERIES, {"history": SERIES[:50], "horizon": 3}],
        lambda m: [m.forecast(SERIES).tolist(), m.forecast(SERIES[:50], horizon=3).tolist()]),
    "anomaly_detection": (
        "anomaly_lstmae_ucr135", [SERIES, {"series": SERIES, "threshold": 0.5,
                                           "normalize": "series"}],
        lambda m: [{"scores": m.score(SERIES).tolist(), "flags": m.detect(SERIES).tolist(),
                    "threshold": m.threshold},
                   {"scores": m.score(SERIES, normalize="series").tolist(),
                    "flags": m.detect(SERIES, threshold=0.5, normalize="series").tolist(),
                    "threshold": 0.5}]),
    "series_classification": (
        "classify_bigru_italypowerdemand", [SERIES[:24], [[v] for v in SERIES[30:40]]],
        lambda m: [{"label": m.classes[int(np.argmax(p))],
                    "probabilities": dict(zip(m.classes, p.tolist()))}
                   for p in m.predict_proba([np.array(SERIES[:24]),
                                             np.array(SERIES[30:40])[:, None]])]),
    "text_classification": (
        "sentiment_bigru_rotten_tomatoes", ["A wonderful, moving film.", "Dull and too long."],
        lambda m: m.predict(["A wonderful, moving film.", "Dull and too long."])),
    "tagging": (
        "tagging_bilstm_brown", ["The jury praised the city.", ["Time", "flies", "."]],
        lambda m: [[list(pair) for pair in sentence] for sentence in
                   m.tag(["The jury praised the city.", ["Time", "flies", "."]])]),
    "language_modeling": (
        "charlm_lstm_shakespeare", [{"prompt": "ROMEO.", "max_chars": 8, "temperature": 0},
                                    {"prompt": "JULIET.", "max_chars": 8, "seed": 3}],
        lambda m: [m.generate("ROMEO.", max_chars=8, temperature=0),
                   m.generate("JULIET.", max_chars=8, seed=3)]),
    "translation": (
        "translation_bilstm_bible_en_es", ["God is love.", {"text": "Jesus wept.",
                                                            "beam_size": 1}],
        lambda m: [m.translate("God is love."), m.translate("Jesus wept.", beam_size=1)]),
    "speech_recognition": (
        "asr_crnn_synthetic_en", [CLIP, {"samples": CLIP_16K, "sample_rate": 16000}],
        lambda m: [m.transcribe(_float32(CLIP), sample_rate=m.features.sample_rate),
                   m.transcribe(_float32(CLIP_16K), sample_rate=16000)]),
}


@pytest.fixture(scope="module")
def models():
    return {name: model_zoo.load(name) for name, _, _ in CASES.values()}


@pytest.fixture(scope="module")
def server(models):
    background = serving.BackgroundServer(
        models, host="127.0.0.1", port=0, max_seconds=MAX_SECONDS, max_batch=64,
        batch_wait_ms=20, max_body_mb=MAX_BODY_MB, max_instances=MAX_INSTANCES).start()
    yield background
    started = time.perf_counter()
    assert background.stop(timeout=15), "the server did not stop"
    assert time.perf_counter() - started < 15


def request(server, path, payload=None, data=None, method=None):
    """`(status, JSON body)` of one request to the server."""
    if payload is not None:
        data = json.dumps(payload).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_every_task_has_a_case():
    from model_zoo.tasks.base import registered_tasks

    assert set(CASES) == set(registered_tasks())
    for task, (name, _, _) in CASES.items():
        assert model_zoo.info(name)["task"] == task


@pytest.mark.filterwarnings("ignore:.*score above the threshold")  # `detect` on a plain series
@pytest.mark.parametrize("task", sorted(CASES))
def test_served_predictions_are_the_verbs(server, models, task):
    name, instances, expected = CASES[task]
    status, body = request(server, f"/v1/models/{name}:predict", {"instances": instances})
    assert status == 200, body
    assert body == {"predictions": json.loads(json.dumps(expected(models[name])))}


def test_status_and_metadata_of_every_model(server, models):
    for name, task in models.items():
        status, body = request(server, f"/v1/models/{name}")
        assert status == 200 and body == {"model_version_status": [{
            "version": str(task.metadata.version), "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]}
        assert request(server, f"/v1/models/{name}/versions/{task.metadata.version}")[0] == 200
        status, body = request(server, f"/v1/models/{name}/metadata")
        assert status == 200
        assert body["model_spec"]["name"] == name
        assert body["metadata"]["checkpoint"] == json.loads(json.dumps(
            task.metadata.to_dict(), default=str))
        described = body["metadata"]["serving"]
        assert described["task"] == task.task_name
        assert described["instance"] and "{task" not in described["instance"]
        assert described["prediction"] and "{task" not in described["prediction"]
    rate = models["asr_crnn_synthetic_en"].features.sample_rate
    body = request(server, "/v1/models/asr_crnn_synthetic_en/metadata")[1]
    assert f"{rate} Hz" in body["metadata"]["serving"]["instance"]


FORECASTER, CLASSIFIER = "forecast_lstm_airline", "classify_bigru_italypowerdemand"
BAD_REQUESTS = [
    # (path, body bytes or a JSON payload, status, part of the error)
    (f"/v1/models/{FORECASTER}:predict", b'{"instances": [1', 400, "not JSON"),
    (f"/v1/models/{FORECASTER}:predict", [SERIES], 400, "JSON object with \"instances\""),
    (f"/v1/models/{FORECASTER}:predict", {"inputs": [SERIES]}, 400, "columnar \"inputs\""),
    (f"/v1/models/{FORECASTER}:predict", {"instances": SERIES[0]}, 400,
     "\"instances\" must be a non-empty list"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": []}, 400, "non-empty list"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": ["/etc/passwd"]}, 400,
     "Instance 1 must be a non-empty list of numbers"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": [SERIES, [1, None]]}, 400,
     "Instance 2 must be a non-empty list of numbers"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": [{"history": SERIES, "horizon": "3"}]},
     400, "`horizon` must be an integer"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": [{"series": SERIES}]}, 400,
     "it must hold 'history'"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": [SERIES[:5]]}, 400, "Instance 1:"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": [{"history": SERIES,
                                                         "horizon": 10 ** 6}]},
     400, "MODEL_ZOO_MAX_HORIZON"),
    (f"/v1/models/{CLASSIFIER}:predict", {"instances": [[[1, 2], [3]]]}, 400,
     "equal-length rows"),
    (f"/v1/models/{CLASSIFIER}:predict", {"instances": [[[1.0, 2.0]] * 5]}, 400, "channel"),
    ("/v1/models/sentiment_bigru_rotten_tomatoes:predict", {"instances": ["Good.", 7]}, 400,
     "is not a string"),
    ("/v1/models/sentiment_bigru_rotten_tomatoes:predict", {"instances": [" "]}, 400,
     "is empty"),
    (f"/v1/models/{FORECASTER}:predict", {"instances": [SERIES] * (MAX_INSTANCES + 1)}, 400,
     "Too many instances"),
    (f"/v1/models/{FORECASTER}:predict",
     {"instances": [[1.0] * int(MAX_BODY_MB * 2 ** 20 / 4)]}, 413, "--max-body-mb"),
    ("/v1/models/no_such_model:predict", {"instances": [SERIES]}, 404, "no_such_model"),
    (f"/v1/models/{FORECASTER}/versions/7:predict", {"instances": [SERIES]}, 404, "version"),
    (f"/v1/models/{FORECASTER}:classify", {"instances": [SERIES]}, 404, ":predict (POST)"),
    ("/v1/models/no_such_model", None, 404, "no_such_model"),
]


@pytest.mark.parametrize("path, body, status, message", BAD_REQUESTS,
                         ids=[f"{c[2]} {c[3]}"[:50] for c in BAD_REQUESTS])
def test_bad_requests_get_json_errors(server, path, body, status, message):
    if isinstance(body, bytes):
        got, answer = request(server, path, data=body, method="POST")
    else:
        got, answer = request(server, path, payload=body)
    assert got == status, answer
    assert list(answer) == ["error"] and message in answer["error"], answer
    assert request(server, f"/v1/models/{FORECASTER}")[0] == 200  # Still serving.


def test_an_input_past_a_limit_is_refused_before_the_model_runs(server, monkeypatch):
    detector = server.server.models["anomaly_lstmae_ucr135"].task
    monkeypatch.setenv("MODEL_ZOO_MAX_SERIES_VALUES", "70")
    monkeypatch.setattr(detector, "_scaled_scores", lambda *a: pytest.fail("the model ran"))
    status, answer = request(server, "/v1/models/anomaly_lstmae_ucr135:predict",
                             {"instances": [SERIES]})
    assert status == 400 and "MODEL_ZOO_MAX_SERIES_VALUES" in answer["error"], answer


def test_a_model_failure_is_a_500_and_the_server_keeps_serving(server, monkeypatch):
    task = server.server.models[FORECASTER].task

    def fail(instances):
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(task, "serve_instances", fail)
    status, answer = request(server, f"/v1/models/{FORECASTER}:predict", {"instances": [SERIES]})
    assert status == 500 and "RuntimeError: out of cheese" in answer["error"]
    monkeypatch.undo()
    assert request(server, f"/v1/models/{FORECASTER}:predict",
                   {"instances": [SERIES]})[0] == 200


TEXTS = ["A wonderful, moving film.", "Dull and far too long.", "The actors shine.",
         "I fell asleep twice.", "A triumph.", "Not worth the ticket.", "Funny and warm.",
         "A mess from start to finish."]


def _concurrently(server, path, payloads):
    """The `(status, body)` of each payload, all sent at once from threads of their own."""
    barrier = threading.Barrier(len(payloads))

    def send(payload):
        barrier.wait()
        return request(server, path, payload)

    with concurrent.futures.ThreadPoolExecutor(len(payloads)) as pool:
        return list(pool.map(send, payloads))


def test_concurrent_requests_are_batched(server, models):
    name = "sentiment_bigru_rotten_tomatoes"
    served = server.server.models[name]
    calls, requests = served.calls, served.requests
    answers = _concurrently(server, f"/v1/models/{name}:predict",
                            [{"instances": [text]} for text in TEXTS])
    assert [status for status, _ in answers] == [200] * len(TEXTS), answers
    for text, (_, body) in zip(TEXTS, answers):  # Each request gets its own answer.
        (prediction,) = body["predictions"]
        (alone,) = models[name].predict([text])
        assert prediction["label"] == alone["label"]
        for label, p in alone["probabilities"].items():
            assert prediction["probabilities"][label] == pytest.approx(p, abs=1e-5)
    assert served.requests - requests == len(TEXTS)
    assert served.calls - calls < len(TEXTS)  # Gathered into fewer model calls.


def test_a_bad_request_in_a_batch_fails_alone(server):
    payloads = [{"instances": [text]} for text in TEXTS]
    payloads[3] = {"instances": [""]}
    answers = _concurrently(server, "/v1/models/sentiment_bigru_rotten_tomatoes:predict",
                            payloads)
    assert [status for status, _ in answers] == [200] * 3 + [400] + [200] * 4, answers
    assert "is empty" in answers[3][1]["error"]


def test_a_folder_is_served_under_its_metadata_name(tiny_forecaster_dir):
    assert list(serving.load_models([tiny_forecaster_dir])) == ["forecast_lstm_tiny"]
    with pytest.raises(model_zoo.errors.InputError, match="would be served under the name"):
        serving.load_models([tiny_forecaster_dir, tiny_forecaster_dir])


def test_without_aiohttp_the_error_says_what_to_install(monkeypatch, capsys):
    from model_zoo.cli import main

    monkeypatch.setattr(serving, "web", None)
    assert main(["serve", FORECASTER]) == 2
    err = capsys.readouterr().err
    assert "pip install 'model-zoo[serve]'" in err and err.count("\n") == 1


def test_the_command_serves_and_stops_on_sigterm(tmp_path):
    command = [sys.executable, "-m", "model_zoo.cli", "serve", FORECASTER, "--port", "0",
               "--max-seconds", "120"]
    stderr = open(tmp_path / "stderr", "w+")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        for line in process.stdout:  # Until it is ready (or exits).
            lines.append(line)
            if line.startswith("ready: "):
                break
        assert lines and lines[-1].startswith("ready: "), (lines, stderr.seek(0), stderr.read())
        url = lines[-1].split()[1]
        req = urllib.request.Request(f"{url}/v1/models/{FORECASTER}:predict",
                                     data=json.dumps({"instances": [SERIES]}).encode())
        with urllib.request.urlopen(req, timeout=60) as response:
            assert len(json.loads(response.read())["predictions"][0]) == 12
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        stderr.close()
    assert process.returncode == 0
    assert f"stopped {FORECASTER}: 1 requests answered (1 instances) in 1 model calls" in out
