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
