"""`pip install model-zoo` (no extras) loads every published task and runs its verbs.

A fresh virtual environment with the built wheel's core install loads and predicts once per
task in tests/test_packaging.py (about 90 s); here, to cover every verb cheaply, the core install
is imitated: a subprocess refuses to import any module of an installed distribution outside
the closure of pyproject.toml's core `dependencies` (those requirements and, recursively, what
the installed distributions declare they require: what pip would install). Everything the
extras brought in (scikit-learn, matplotlib, sacrebleu, statsmodels, scipy, jax, aiohttp, ...)
raises ModuleNotFoundError there, as in a core install. Both lists are read from pyproject.toml
and the installed metadata, so a new dependency or extra is covered without editing this file.

In that subprocess, for one published checkpoint of every task (a new task is covered for
free): `model_zoo.load` and the task's verbs on small raw inputs (CSV files, WAV files, text,
arrays), plus `model-zoo predict` and a checkpoint loaded from a URL (the download cache).
Every core dependency must be imported on the way (the core holds nothing those do not need),
and a blocked extra's package must give one error naming it and its extra.
"""

import ast
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from model_zoo.errors import MissingDependencyError, ModelZooError
from model_zoo.optional import import_optional, pip_name
from model_zoo.registry import default_registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "pyproject.toml"), "rb") as _f:
    PROJECT = tomllib.load(_f)["project"]
SELF = canonicalize_name(PROJECT["name"])
# The project's own import packages (model_zoo, the recipes and checkpoints it ships).
OWN = {"model_zoo", "model_zoo_recipes", "model_zoo_checkpoints"}


def extra_requirements(extra, seen=None):
    """An extra's requirement strings, self-references (`model-zoo[train]`) expanded."""
    seen = set() if seen is None else seen
    if extra in seen:
        return []
    seen.add(extra)
    out = []
    for text in PROJECT["optional-dependencies"][extra]:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == SELF:
            for inner in sorted(requirement.extras):
                out += extra_requirements(inner, seen)
        else:
            out.append(text)
    return out


def closure(requirements):
    """Canonical names of the installed distributions `requirements` pull in, recursively."""
    names, todo, done = set(), [Requirement(r) for r in requirements], set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in done:
            continue
        done.add(key)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # Not installed here (another platform's, say): nothing to block either.
        names.add(name)
        environments = [{"extra": e} for e in ("", *requirement.extras)]
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate(env) for env in environments):
                todo.append(sub)
    return names


CORE = closure(PROJECT["dependencies"])


@functools.lru_cache(maxsize=1)
def module_owners():
    """`{top-level import name: {canonical names of the distributions that install it}}`."""
    owners = {}
    for top, dists in importlib.metadata.packages_distributions().items():
        name = re.split(r"[/.]", top)[0]
        owners.setdefault(name, set()).update(canonicalize_name(d) for d in dists)
    return owners


def core_blocked_modules():
    """Top-level import names of every installed distribution outside the core closure."""
    return sorted(name for name, dists in module_owners().items()
                  if name not in OWN and not dists & (CORE | {SELF}))


def _newest_per_task():
    registry, chosen = default_registry(), {}
    for name in registry.names():
        entry = registry.get(name)  # The newest version.
        chosen.setdefault(entry.metadata.task, entry.metadata.full_name)
    return chosen


CHECKPOINTS = _newest_per_task()

# Runs in a fresh interpreter: argv[1] is a JSON file {"blocked", "checkpoints", "tmp"}.
PROBE = r'''
import importlib.abc, json, os, sys, traceback
spec = json.load(open(sys.argv[1]))
BLOCKED = set(spec["blocked"])


class CoreInstall(importlib.abc.MetaPathFinder):
    """Modules of distributions outside the core install are not there."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the core install)",
                                      name=name)
        return None


sys.meta_path.insert(0, CoreInstall())
import wave
import numpy as np
import model_zoo
tmp = spec["tmp"]


def summary(out):
    if isinstance(out, str):
        return {"type": "str"}
    if isinstance(out, list):
        return {"type": "list", "len": len(out), "items": sorted({type(x).__name__ for x in out})}
    return {"type": type(out).__name__, "shape": list(np.shape(out)),
            "finite": bool(np.isfinite(np.asarray(out, dtype="float64")).all())}


def write_wav(path, seconds, f0, rate, width):
    t = np.arange(int(seconds * rate)) / rate
    clip = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    clip = 0.3 * clip * np.sin(np.pi * t / seconds) ** 2
    dtype = {2: "<i2", 4: "<i4"}[width]
    with wave.open(path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(width), w.setframerate(rate)
        w.writeframes((clip * (2 ** (8 * width - 1) - 1)).astype(dtype).tobytes())
    return path


def forecasting(task):
    import pandas as pd
    t = np.arange(task.history_needed + 10, dtype="float64")
    series = pd.Series(10.0 + np.sin(2 * np.pi * t / task.season) + 0.01 * t)
    return {"forecast": summary(task.forecast(series, horizon=5))}


def anomaly_detection(task):
    n = 3 * task.span
    values = task.scaler.unscale(np.sin(2 * np.pi * np.arange(n) / max(task.span // 2, 2)))
    path = os.path.join(tmp, "series.csv")
    with open(path, "w") as f:
        f.write("value\n" + "\n".join(str(float(v)) for v in values) + "\n")
    return {"n": n, "score": summary(task.score(path, column="value")),
            "detect": summary(task.detect(list(values)))}


def speech_recognition(task):
    # 16-bit PCM goes through TensorFlow, 32-bit PCM through soundfile.
    files = [write_wav(os.path.join(tmp, "a.wav"), 1.0, 120.0, 16000, 2),
             write_wav(os.path.join(tmp, "b.wav"), 0.8, 210.0, 22050, 4)]
    t = np.arange(8000) / 8000
    return {"files": summary(task.transcribe(files)),
            "array": summary(task.transcribe(0.3 * np.sin(2 * np.pi * 150 * t),
                                             sample_rate=8000))}


def text_classification(task):
    label = task.classify("A moving, beautifully acted film.")
    return {"classify": summary(label), "known": label in task.labels,
            "labels": len(task.labels),
            "predict_proba": summary(task.predict_proba(["Wonderful.", "Dull and long."]))}


def tagging(task):
    pairs = task.tag("The jury praised the city.")
    return {"tag": summary(pairs), "known": all(tag in task.tags for _, tag in pairs)}


def translation(task):
    return {"one": summary(task.translate("God is love.")),
            "two": summary(task.translate(["God is love.", "The Lord is my shepherd."],
                                          beam_size=2))}


def language_modeling(task):
    return {"generate": summary(task.generate("The ", max_chars=12, seed=0)),
            "batch": summary(task.generate(["The ", ""], max_chars=8, top_k=5, seed=1))}


def series_classification(task):
    rng = np.random.default_rng(0)
    label = task.classify(rng.normal(size=(20, task.channels)))
    return {"classify": summary(label), "known": label in task.classes,
            "classes": len(task.classes),
            "predict_proba": summary(task.predict_proba(
                [rng.normal(size=(n, task.channels)) for n in (9, 14)]))}


report = {"tasks": {}}
for task_name, name in spec["checkpoints"].items():
    try:
        task = model_zoo.load(name)
        verbs = globals().get(task_name)
        if verbs is None:  # A task new since this file was written: its own example input.
            out, shape = task.predict_example()
            result = {"example": summary(out), "expected_shape": list(shape)}
        else:
            result = verbs(task)
        report["tasks"][task_name] = {"ok": True, **result}
    except BaseException:
        report["tasks"][task_name] = {"ok": False, "error": traceback.format_exc()[-3000:]}


def check(key, fn):
    try:
        report[key] = {"ok": True, **fn()}
    except BaseException:
        report[key] = {"ok": False, "error": traceback.format_exc()[-3000:]}


def from_url():  # The download cache (and its progress bar).
    from model_zoo.registry import default_registry
    from model_zoo.registry.cache import pack
    name = spec["checkpoints"]["forecasting"]
    archive = os.path.join(tmp, "checkpoint.zip")
    sha = pack(default_registry().get(name).directory, archive)
    task = model_zoo.load("file://" + archive, sha256=sha)
    return {"name": task.metadata.full_name}


def cli():
    from model_zoo.cli import main
    name = spec["checkpoints"]["forecasting"]
    path = os.path.join(tmp, "history.csv")
    with open(path, "w") as f:
        f.write("y\n" + "\n".join(str(10.0 + (i % 12)) for i in range(400)) + "\n")
    return {"rc": main(["predict", name, "--csv", path, "--column", "y", "--horizon", "3"])}


def missing_extra():  # An extra's package, blocked: one clear error.
    from model_zoo.metrics.translation import translation_metrics
    try:
        translation_metrics(["el perro come"], ["el perro come"])
    except model_zoo.MissingDependencyError as e:
        return {"error": str(e), "import_error": isinstance(e, ImportError)}
    return {"error": None}


if "forecasting" in spec["checkpoints"]:
    check("from_url", from_url)
    check("cli", cli)
check("missing_extra", missing_extra)
report["modules"] = sorted({m.split(".")[0] for m in sys.modules})
print("REPORT " + json.dumps(report))
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("core_install")
    spec = tmp / "spec.json"
    spec.write_text(json.dumps({"blocked": core_blocked_modules(), "checkpoints": CHECKPOINTS,
                                "tmp": str(tmp)}))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MODEL_ZOO_HOME": str(tmp / "home"),
           "MODEL_ZOO_OFFLINE": "0"}
    result = subprocess.run([sys.executable, "-c", PROBE, str(spec)], capture_output=True,
                            text=True, cwd=str(tmp), env=env, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert result.returncode == 0 and lines, (result.stdout[-2000:], result.stderr[-3000:])
    return json.loads(lines[-1][len("REPORT "):])


def test_the_core_leaves_out_the_extras():
    blocked = set(core_blocked_modules())
    # The heavy training and data packages are not in the core closure.
    for module in ("sklearn", "scipy", "matplotlib", "sacrebleu", "keras_tuner", "statsmodels",
                   "jiwer", "seqeval", "num2words", "tensorboard", "sentencepiece", "aeon",
                   "aiohttp"):
        if importlib.util.find_spec(module) is not None:
            assert module in blocked, f"{module} is reachable from the core dependencies"
    for module in ("tensorflow", "keras", "tensorflow_text", "numpy", "pandas", "soundfile"):
        assert module not in blocked


def test_every_extra_but_all_and_dev_is_outside_the_core():
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    extras = set(PROJECT["optional-dependencies"])
    assert {"train", "recipes", "dev", "bench", "serve", "all"} <= extras
    for extra in extras:
        names = {canonicalize_name(Requirement(r).name) for r in extra_requirements(extra)}
        assert not names & core, f"[{extra}] repeats core dependencies: {names & core}"
    # `recipes` includes `train`; `all` includes every user-facing extra.
    assert set(extra_requirements("train")) <= set(extra_requirements("recipes"))
    for extra in ("recipes", "serve", "bench"):
        assert set(extra_requirements(extra)) <= set(extra_requirements("all"))


@pytest.mark.parametrize("task", sorted(CHECKPOINTS))
def test_core_install_loads_and_predicts(task, report):
    result = report["tasks"][task]
    assert result["ok"], f"{CHECKPOINTS[task]}:\n{result.get('error')}"
    array = {"type": "ndarray", "finite": True}
    if task == "forecasting":
        assert result["forecast"] == {**array, "shape": [5]}
    elif task == "anomaly_detection":
        assert result["score"] == {**array, "shape": [result["n"]]}
        assert result["detect"]["type"] == "ndarray"
        assert result["detect"]["shape"] == [result["n"]]
    elif task == "speech_recognition":
        assert result["files"] == {"type": "list", "len": 2, "items": ["str"]}
        assert result["array"] == {"type": "str"}
    elif task == "text_classification":
        assert result["classify"] == {"type": "str"} and result["known"]
        assert result["predict_proba"] == {**array, "shape": [2, result["labels"]]}
    elif task == "tagging":
        assert result["tag"] == {"type": "list", "len": 6, "items": ["tuple"]}
        assert result["known"]
    elif task == "translation":
        assert result["one"] == {"type": "str"}
        assert result["two"] == {"type": "list", "len": 2, "items": ["str"]}
    elif task == "language_modeling":
        assert result["generate"] == {"type": "str"}
        assert result["batch"] == {"type": "list", "len": 2, "items": ["str"]}
    elif task == "series_classification":
        assert result["classify"] == {"type": "str"} and result["known"]
        assert result["predict_proba"] == {**array, "shape": [2, result["classes"]]}
    else:  # A new task: its `predict_example`.
        assert result["example"].get("shape", [result["example"].get("len")]) == \
            result["expected_shape"]


def test_core_install_loads_from_a_url(report):
    if "forecasting" not in CHECKPOINTS:
        pytest.skip("no published forecaster")
    assert report["from_url"]["ok"], report["from_url"].get("error")
    assert report["from_url"]["name"] == CHECKPOINTS["forecasting"]


def test_core_install_predicts_from_the_cli(report):
    if "forecasting" not in CHECKPOINTS:
        pytest.skip("no published forecaster")
    assert report["cli"]["ok"] and report["cli"]["rc"] == 0, report["cli"].get("error")


def test_every_core_dependency_is_used(report):
    # The core holds nothing that loading and predicting did not import.
    imported = set(report["modules"])
    for text in PROJECT["dependencies"]:
        name = canonicalize_name(Requirement(text).name)
        tops = {top for top, dists in module_owners().items() if name in dists}
        assert tops & imported, f"core dependency {name} was not needed to load and predict"


def test_a_missing_extra_is_one_clear_error(report):
    result = report["missing_extra"]
    assert result["ok"], result.get("error")
    message = result["error"]
    assert message and result["import_error"]
    assert "`sacrebleu`" in message and "`train` extra" in message
    assert "pip install 'model-zoo[train]'" in message
    assert "Received: ModuleNotFoundError" in message
    assert "\n" not in message


def test_import_optional_names_the_package_and_the_extra():
    assert import_optional("json", "train", "Nothing") is json
    with pytest.raises(MissingDependencyError) as caught:
        import_optional("model_zoo_no_such_module.sub", "recipes", "The frobnicator")
    assert isinstance(caught.value, ImportError) and isinstance(caught.value, ModelZooError)
    assert str(caught.value).startswith(
        "The frobnicator needs the package `model_zoo_no_such_module`, which is in the "
        "`recipes` extra: pip install 'model-zoo[recipes]' (in a clone: pip install "
        "'.[recipes]'). Received: ModuleNotFoundError")
    assert pip_name("sklearn.metrics") == "scikit-learn"


def _import_optional_calls():
    """`(file, module, extra)` of every `import_optional("module", "extra", ...)` in model_zoo."""
    calls = []
    for folder, _, files in os.walk(os.path.join(ROOT, "model_zoo")):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == \
                        "import_optional" and len(node.args) >= 2 and \
                        all(isinstance(a, ast.Constant) for a in node.args[:2]):
                    calls.append((os.path.relpath(path, ROOT), node.args[0].value,
                                  node.args[1].value))
    return calls


def test_each_optional_import_names_the_extra_that_lists_it():
    calls, blocked = _import_optional_calls(), set(core_blocked_modules())
    assert len(calls) >= 20, calls
    for path, module, extra in calls:
        assert extra in PROJECT["optional-dependencies"], (path, extra)
        listed = {canonicalize_name(Requirement(r).name) for r in extra_requirements(extra)}
        assert canonicalize_name(pip_name(module)) in listed, \
            f"{path}: {module} is imported as `{extra}`, whose list lacks {pip_name(module)}"
        assert module.split(".")[0] in blocked or \
            importlib.util.find_spec(module.split(".")[0]) is None, \
            f"{path}: {module} is in the core install; import it plainly"
