"""Checkpoint registry, metadata, integrity and cache. Pure Python: no TensorFlow here."""

from model_zoo.registry.cache import cache_home, fetch, is_offline, pack
from model_zoo.registry.integrity import describe_files, sha256_file, verify_files
from model_zoo.registry.metadata import CheckpointMetadata, check_name
from model_zoo.registry.registry import (
    Entry,
    Registry,
    Resolved,
    builtin_root,
    default_registry,
    parse_spec,
    resolve,
)

__all__ = [
    "CheckpointMetadata",
    "Entry",
    "Registry",
    "Resolved",
    "builtin_root",
    "cache_home",
    "check_name",
    "default_registry",
    "describe_files",
    "fetch",
    "is_offline",
    "pack",
    "parse_spec",
    "resolve",
    "sha256_file",
    "verify_files",
]
