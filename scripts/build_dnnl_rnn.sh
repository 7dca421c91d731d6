#!/usr/bin/env bash
# Builds model_zoo/layers/kernels/_dnnl_rnn.so, the oneDNN LSTM/GRU ops of `FastLSTM`/`FastGRU`
# (issue 20), against Debian's libdnnl-dev (scripts/apt-packages.txt) and the TensorFlow of the
# virtual environment. `make setup` runs it; a failed build is reported and leaves the layers on
# their pure-TensorFlow loop (nothing is half-installed: the library is written under a temporary
# name and moved into place only when it loads and its ops are registered).
#
#   VENV=.venv bash scripts/build_dnnl_rnn.sh
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
SRC=model_zoo/layers/kernels/dnnl_rnn.cc
OUT=model_zoo/layers/kernels/_dnnl_rnn.so
TMP="$OUT.tmp.$$"
trap 'rm -f "$TMP"' EXIT
fail() { echo "build_dnnl_rnn: $* (FastLSTM/FastGRU keep their pure-TensorFlow loop)" >&2; exit 0; }

[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || fail "oneDNN headers missing (apt-get install libdnnl-dev)"
command -v g++ >/dev/null || fail "g++ missing"
CFLAGS=$("$PY" -c "import tensorflow as tf; print(' '.join(tf.sysconfig.get_compile_flags()))" 2>/dev/null) \
    || fail "TensorFlow does not import from $VENV"
LFLAGS=$("$PY" -c "import tensorflow as tf; print(' '.join(tf.sysconfig.get_link_flags()))" 2>/dev/null)
# Hidden visibility and -Bsymbolic: TensorFlow links its own oneDNN, whose C++ wrapper symbols
# must not be bound in place of ours.
g++ -std=c++17 -shared -fPIC -O2 -w -fvisibility=hidden -fvisibility-inlines-hidden \
    -Wl,-Bsymbolic -Wl,--exclude-libs,ALL $CFLAGS "$SRC" -o "$TMP" $LFLAGS -ldnnl \
    || fail "compiling $SRC failed"
"$PY" - "$TMP" <<'PYEOF' || fail "the built library does not load"
import sys
import tensorflow as tf
ops = tf.load_op_library(sys.argv[1])
assert all(hasattr(ops, n) for n in ("zoo_dnnl_lstm", "zoo_dnnl_lstm_grad", "zoo_dnnl_gru", "zoo_dnnl_gru_grad"))
PYEOF
mv -f "$TMP" "$OUT"
echo "build_dnnl_rnn: built $OUT"
