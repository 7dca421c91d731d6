"""Publishing into the registry is all or nothing (issue 17, item 5), and readable by others."""

import errno
import hashlib
import os
import shutil

import pytest

import model_zoo
from model_zoo import checkpoint, fsutil
from model_zoo.errors import InputError
from model_zoo.registry import CheckpointMetadata, Registry
from model_zoo.training import runner

NAME = "forecast_lstm_tiny"


def snapshot(root):
    """Every folder and file under `root` (hidden ones too), files with their sha256."""
    state = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        state[rel] = "dir"
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                state[os.path.join(rel, name)] = hashlib.sha256(f.read()).hexdigest()
    return state


@pytest.fixture
def task(tiny_forecaster_dir):
    return model_zoo.load(tiny_forecaster_dir)


@pytest.fixture
def registry_dir(tmp_path, task, tiny_forecaster_dir):
    """A registry holding version 1 of the tiny forecaster, published normally."""
    root = str(tmp_path / "registry")
    runner.publish(task, CheckpointMetadata.load(tiny_forecaster_dir), root)
    return root


def publish_again(task, root, replace=False):
    return runner.publish(task, CheckpointMetadata.load(os.path.join(root, NAME)), root, replace)


def assert_next_publish_works(task, root, replace=False):
    """After a failure, publishing again succeeds and numbers the version correctly."""
    before = snapshot(os.path.join(root, NAME))
    publish_again(task, root, replace)
    registry = Registry([root])
    if replace:
        assert registry.get(NAME).version == 1 and sorted(os.listdir(root)) == [NAME]
    else:
        assert registry.get(NAME).version == 2
        assert registry.get(f"{NAME}@1").version == 1
        assert snapshot(os.path.join(root, f"{NAME}@1")) == before  # version 1, untouched
        assert sorted(os.listdir(root)) == [NAME, f"{NAME}@1"]
    model_zoo.load(os.path.join(root, NAME))  # complete and verified


@pytest.mark.parametrize("replace", [False, True])
def test_a_failing_save_leaves_the_registry_as_it_was(task, registry_dir, monkeypatch,
                                                      replace):
    real = checkpoint._save_without_optimizer

    def save_then_disk_full(model, path):
        real(model, path)  # the model file is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    before = snapshot(registry_dir)
    monkeypatch.setattr(checkpoint, "_save_without_optimizer", save_then_disk_full)
    with pytest.raises(OSError, match="No space left"):
        publish_again(task, registry_dir, replace)
    assert snapshot(registry_dir) == before  # same folders, same contents, no debris
    monkeypatch.undo()
    assert_next_publish_works(task, registry_dir, replace)


@pytest.mark.parametrize("replace", [False, True])
def test_a_failing_swap_leaves_the_registry_as_it_was(task, registry_dir, monkeypatch,
                                                      replace):
    target = os.path.join(registry_dir, NAME)
    real = os.replace

    def failing_replace(src, dst):
        # The second rename of the swap, the new version onto `name/`, fails; the undo works.
        if os.fspath(dst) == target and os.path.basename(os.fspath(src)) == NAME:
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst)

    before = snapshot(registry_dir)
    monkeypatch.setattr(fsutil.os, "replace", failing_replace)
    with pytest.raises(OSError, match="Input/output error"):
        publish_again(task, registry_dir, replace)
    monkeypatch.undo()
    assert snapshot(registry_dir) == before
    assert_next_publish_works(task, registry_dir, replace)


def test_publishing_is_refused_up_front_when_the_old_version_cannot_be_kept(
        task, registry_dir, tmp_path):
    from model_zoo.training.recipe import get_recipe

    shutil.copytree(os.path.join(registry_dir, NAME), os.path.join(registry_dir, f"{NAME}@1"))
    before = snapshot(registry_dir)
    with pytest.raises(InputError, match=r"kept as .*@1, which exists already") as e:
        publish_again(task, registry_dir)
    assert str(e.value).rstrip().split("Received: ")[1].endswith(f"{NAME}@1")
    assert snapshot(registry_dir) == before
    # `train --publish` refuses before it trains (its run folder is not even created).
    recipe = get_recipe("forecasting")
    smoke = dict(recipe.smoke)
    name = recipe.checkpoint_name(recipe.resolve(smoke)[0])
    os.rename(os.path.join(registry_dir, NAME), os.path.join(registry_dir, name))
    os.rename(os.path.join(registry_dir, f"{NAME}@1"), os.path.join(registry_dir, f"{name}@1"))
    for folder in (name, f"{name}@1"):
        meta = CheckpointMetadata.load(os.path.join(registry_dir, folder))
        meta.name = name
        meta.save(os.path.join(registry_dir, folder))
    run_dir = tmp_path / "run"
    with pytest.raises(InputError, match="exists already"):
        runner.train("forecasting", smoke, publish_to_registry=True, registry_dir=registry_dir,
                     run_dir=str(run_dir), verbose=0)
    assert not run_dir.exists()


def test_a_registry_left_with_only_old_versions_gets_the_next_one(task, registry_dir):
    os.rename(os.path.join(registry_dir, NAME), os.path.join(registry_dir, f"{NAME}@1"))
    runner.publish(task, CheckpointMetadata.load(os.path.join(registry_dir, f"{NAME}@1")),
                   registry_dir)
    registry = Registry([registry_dir])
    assert registry.get(NAME).version == 2 and registry.get(f"{NAME}@1").version == 1


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_published_folders_follow_the_umask(task, tiny_forecaster_dir, tmp_path, umask):
    old = os.umask(umask)
    try:
        target = runner.publish(task, CheckpointMetadata.load(tiny_forecaster_dir),
                                str(tmp_path / "shared"))
    finally:
        os.umask(old)
    assert os.stat(target).st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700
    for folder, _, files in os.walk(target):
        assert os.stat(folder).st_mode & 0o777 == 0o777 & ~umask
        for name in files:
            assert os.stat(os.path.join(folder, name)).st_mode & 0o777 == 0o666 & ~umask
