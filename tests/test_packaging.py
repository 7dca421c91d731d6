"""The built wheel carries the recipes and every published checkpoint, and finds them by name
when installed (not only from a checkout)."""

import os
import subprocess
import sys
import zipfile

import pytest

from model_zoo.registry import builtin_root, default_registry
from model_zoo.training.recipe import discover_recipes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = """
import json, model_zoo
from model_zoo.registry import builtin_root
from model_zoo.training.recipe import discover_recipes
print(json.dumps({"file": model_zoo.__file__, "root": builtin_root(),
                  "models": model_zoo.list_models(), "recipes": sorted(discover_recipes())}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                             "--no-build-isolation", "-w", str(out), ROOT],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = [p for p in out.iterdir() if p.suffix == ".whl"]
    return path


def test_wheel_contains_recipes_and_checkpoints(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "model_zoo/cli.py" in names and "model_zoo_recipes/forecasting.py" in names
    # Every recipe file (its README and the published splits too) travels with the wheel.
    recipes = os.path.join(ROOT, "recipes")
    for root, _, files in os.walk(recipes):
        for name in files:
            if name.endswith((".py", ".md", ".json")):
                rel = os.path.relpath(os.path.join(root, name), recipes).replace(os.sep, "/")
                assert f"model_zoo_recipes/{rel}" in names, rel
    for entry in default_registry().list():
        folder = os.path.relpath(entry.directory, builtin_root())
        for rel in list(entry.metadata.files) + ["metadata.json"]:
            assert f"model_zoo_checkpoints/{folder}/{rel}" in names, rel


def test_installed_wheel_finds_models_by_name(wheel, tmp_path):
    target = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                             "--target", str(target), str(wheel)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1"}
    probe = subprocess.run([sys.executable, "-I", "-c",
                            f"import sys; sys.path.insert(0, {str(target)!r})\n" + PROBE],
                           capture_output=True, text=True, cwd=str(tmp_path), env=env,
                           timeout=900)
    assert probe.returncode == 0, probe.stderr[-3000:]
    import json

    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert found["file"].startswith(str(target))
    assert found["root"].startswith(str(target))
    assert found["models"] == sorted(e.name for e in default_registry().list())
    assert found["recipes"] == sorted(discover_recipes())


# Run in a fresh virtual environment that holds the wheel's core install only.
CORE_PROBE = """
import json, sys
import model_zoo
from model_zoo.registry import default_registry

registry, done = default_registry(), {}
for name in registry.names():
    entry = registry.get(name)
    if entry.metadata.task not in done:  # the newest checkpoint of every task
        output, shape = model_zoo.load(entry.metadata.full_name).predict_example()
        done[entry.metadata.task] = entry.metadata.full_name
print(json.dumps({"tasks": done, "modules": sorted(m for m in sys.modules if "." not in m)}))
"""


def test_the_core_install_in_a_fresh_environment_loads_and_predicts_every_task(wheel, tmp_path):
    # What `pip install model-zoo` installs, for real (tests/test_core_install.py imitates it
    # in this environment, by blocking the extras' modules, and covers more verbs).
    import json

    venv = tmp_path / "core"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    result = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                             str(wheel)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    probe = subprocess.run([python, "-I", "-c", CORE_PROBE], capture_output=True, text=True,
                           cwd=str(tmp_path), timeout=900,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert probe.returncode == 0, probe.stderr[-3000:]
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert set(found["tasks"]) == {e.metadata.task for e in default_registry().list()}
    # None of the extras came along: the packages that only they bring.
    for module in ("sklearn", "keras_tuner", "sacrebleu", "matplotlib", "statsmodels",
                   "jiwer", "seqeval", "num2words", "aiohttp", "sentencepiece"):
        assert module not in found["modules"], module
        spec = subprocess.run([python, "-c", f"import {module}"], capture_output=True,
                              timeout=120)
        assert spec.returncode != 0, f"{module} is installed in the core environment"
