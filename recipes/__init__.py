"""Recipes: one module per task, each reading like a short tutorial.

Every module here registers itself with `@register_recipe`; `model-zoo recipes` lists them and
`model-zoo train <name>` runs one. Installed, this folder is the package `model_zoo_recipes`.
"""
