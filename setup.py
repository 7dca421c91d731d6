"""Packaging glue that pyproject.toml cannot express on its own.

The repository keeps recipes in `recipes/` and published checkpoints in `checkpoints/` (the layout
a newcomer sees); installed, they become the packages `model_zoo_recipes` and
`model_zoo_checkpoints`, so `model_zoo.load("<name>")` and `model-zoo train <recipe>` work from a
wheel as well as from a checkout.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["model_zoo", "model_zoo.*"])
    + ["model_zoo_recipes", "model_zoo_checkpoints"],
    package_dir={"model_zoo_recipes": "recipes", "model_zoo_checkpoints": "checkpoints"},
)
