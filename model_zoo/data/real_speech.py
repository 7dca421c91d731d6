"""Small sets of real English speech with text, from Debian packages of games and toys.

No transcribed English speech corpus can be had on this machine, but a few packages ship real
recorded English voices together with the text they speak (see /work/shared/DATASETS.md):

* `warzone_lines` (`warzone2100-data`, GPL-2+): 241 voice lines of the game (mission control,
  pilots, cyborgs), 11 kHz; the text is the comment beside each clip in `audio/audio.cfg`.
* `warzone_tutorial` (`warzone2100-data`): the spoken tutorial, one male speaker, 37 clips; the
  text is `script/tutorial.js`'s message (clips whose message is longer than the audio can
  hold are left out).
* `saytime` (`saytime`, permissive: Jef Poskanzer, David C Dawson): 37 clips of one speaker,
  numbers, "the time is", "o'clock"; 8 kHz mu-law.
* `ktuberling` (`ktuberling-data`, GPL-2+): 71 single words (body parts, clothes, toys).
* `klettres` (`klettres-data`, GPL-2+): 94 letters and short syllables, a US and a British
  speaker.
* `tuxpaint` (`tuxpaint-stamps-default`, GPL-2): 65 short descriptions of drawing stamps
  ("A frog.").

`real_speech_set(name)` unpacks a set once into the data cache as 16-bit WAV files with a
`clips.csv` (`path,text,speaker,raw_text`), so each set is also a folder that
`model-zoo evaluate asr_crnn_synthetic_en --data <folder>` and `finetune` read as they are
(`real_speech_folder(name)`). The transcripts are the packages' own labels, not checked by
ear: the Warzone comments name the event a line announces ("LZ 2"), which is usually but not
always what is said. Read numbers on them as rough; the Asterisk prompts
(`speech_corpus.asterisk_corpus`) stay the one clean test set.
"""

import csv
import dataclasses
import glob
import io
import os
import re
import xml.etree.ElementTree as ElementTree
import zipfile

import numpy as np

from model_zoo.data.audio import to_int16
from model_zoo.data.cache import building, data_home, require_path
from model_zoo.errors import InputError

WARZONE_ARCHIVE = "/usr/share/games/warzone2100/base.wz"
SAYTIME_SOUNDS = "/usr/share/saytime"
KTUBERLING_THEME = "/usr/share/ktuberling/sounds/en.soundtheme"
KLETTRES_ROOT = "/usr/share/klettres"
TUXPAINT_STAMPS = "/usr/share/tuxpaint/stamps"

# The Warzone folders that hold sound effects, not speech ("Blimp Land", "Close Window").
_WARZONE_EFFECTS = ("audio/sfx/",)
_WARZONE_LINE = re.compile(r'audio\s+"([^"]+)"[^\n]*?/\*(.*?)\*/')
_WARZONE_TUTORIAL = re.compile(
    r'"audio":\s*"(tut\d+\.ogg)"[^{}]*?"message":\s*_\("((?:[^"\\]|\\.)*)"\)')


def _read(data_or_path, **kwargs):
    import soundfile  # A core dependency (audio input), not an extra.
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    samples, rate = soundfile.read(source, dtype="float32", **kwargs)
    return samples, int(rate)


def warzone_lines(archive=WARZONE_ARCHIVE):
    """Yields `(id, samples, rate, text, speaker)` for Warzone 2100's voice lines.

    The text is the comment beside each clip in `audio/audio.cfg`; the speaker is the clip's
    folder (`memressp`: mission control, `vtoltalk`: pilots, `coltive`: cyborgs, ...). Sound
    effects are left out.
    """
    require_path(archive, apt_package="warzone2100-data")
    with zipfile.ZipFile(archive) as z:
        by_name = {}
        for member in sorted(z.namelist()):
            if member.startswith("audio/") and member.endswith(".ogg"):
                by_name.setdefault(member.rsplit("/", 1)[1], member)
        config = z.read("audio/audio.cfg").decode("latin-1")
        seen = set()
        for clip, comment in _WARZONE_LINE.findall(config):
            member = by_name.get(clip)
            if member is None or member.startswith(_WARZONE_EFFECTS) or clip in seen:
                continue
            seen.add(clip)
            samples, rate = _read(z.read(member))
            yield clip[:-4], samples, rate, comment.strip(), member.split("/")[1]


def warzone_tutorial(archive=WARZONE_ARCHIVE, max_chars_per_second=25.0):
    """Yields `(id, samples, rate, text, speaker)` for Warzone 2100's spoken tutorial.

    The text is the `message` the tutorial script shows beside each clip, which the game has
    revised since the recording: a clip whose message holds more than `max_chars_per_second`
    characters per second of audio cannot be what is spoken (fluent speech is 12-20 a second)
    and is left out (5 of 42 at the default 25).
    """
    require_path(archive, apt_package="warzone2100-data")
    with zipfile.ZipFile(archive) as z:
        script = z.read("script/tutorial.js").decode("utf-8")
        for clip, message in _WARZONE_TUTORIAL.findall(script):
            samples, rate = _read(z.read(f"audio/tutorial/{clip}"))
            if len(message) <= max_chars_per_second * len(samples) / rate:
                yield clip[:-4], samples, rate, message.replace('\\"', '"'), "tutorial"


def saytime(folder=SAYTIME_SOUNDS):
    """Yields saytime's 37 words and numbers (headerless 8 kHz mu-law; the text is the name)."""
    require_path(folder, apt_package="saytime")
    for path in sorted(glob.glob(os.path.join(folder, "*.au"))):
        name = os.path.basename(path)[:-3]
        samples, rate = _read(path, format="RAW", subtype="ULAW", samplerate=8000, channels=1)
        text = {"oclock": "o'clock"}.get(name, name.replace("_", " "))
        yield name, samples, rate, text, "saytime"


def _xml_sounds(path):
    """`(name, file)` of every `<sound name=... file=...>` in a KDE sound theme."""
    return [(s.get("name"), s.get("file")) for s in ElementTree.parse(path).iter("sound")]


def ktuberling(theme=KTUBERLING_THEME):
    """Yields KTuberling's English words (`en.soundtheme` names each clip's word)."""
    require_path(theme, apt_package="ktuberling-data")
    for name, file in _xml_sounds(theme):
        samples, rate = _read(os.path.join(os.path.dirname(theme), file))
        yield os.path.splitext(os.path.basename(file))[0], samples, rate, name, "ktuberling"


def klettres(root=KLETTRES_ROOT):
    """Yields KLettres' letters and syllables, US (`en/`) and British (`en_GB/`) speakers."""
    require_path(os.path.join(root, "en"), apt_package="klettres-data")
    for accent in ("en", "en_GB"):
        for name, file in _xml_sounds(os.path.join(root, accent, "sounds.xml")):
            samples, rate = _read(os.path.join(root, file))
            clip = f"{accent}/{os.path.splitext(file.split('/', 1)[1])[0]}"
            yield clip, samples, rate, name, accent


def tuxpaint(stamps=TUXPAINT_STAMPS):
    """Yields Tux Paint's spoken English stamp descriptions (text: the `.txt` file's first line)."""
    require_path(stamps, apt_package="tuxpaint-stamps-default")
    for path in sorted(glob.glob(os.path.join(stamps, "**", "*_desc.ogg"), recursive=True)):
        txt = path[:-len("_desc.ogg")] + ".txt"
        if not os.path.isfile(txt):
            continue
        with open(txt, encoding="utf-8", errors="replace") as f:
            text = f.readline().strip()
        samples, rate = _read(path)
        yield os.path.relpath(path, stamps)[:-len("_desc.ogg")], samples, rate, text, "tuxpaint"


@dataclasses.dataclass(frozen=True)
class RealSpeechSet:
    """One packaged set of real English speech: where it comes from and how to read it.

    Args:
        name: the set's name (`real_speech_set(name)`).
        apt_package: the Debian package that ships it.
        licence: the package's licence of the recordings.
        description: who speaks what.
        reader: a function yielding `(id, float32 samples, rate, text, speaker)`.
    """

    name: str
    apt_package: str
    licence: str
    description: str
    reader: object


REAL_SPEECH_SETS = {s.name: s for s in [
    RealSpeechSet("warzone_lines", "warzone2100-data", "GPL-2+",
                  "Warzone 2100 voice lines: mission control, pilots, cyborgs (game delivery, "
                  "radio effects on some)", warzone_lines),
    RealSpeechSet("warzone_tutorial", "warzone2100-data", "GPL-2+",
                  "Warzone 2100's spoken tutorial, one male speaker", warzone_tutorial),
    RealSpeechSet("saytime", "saytime", "permissive (Jef Poskanzer, David C Dawson)",
                  "one speaker: numbers 0-50, 'the time is', 'o'clock', 8 kHz mu-law", saytime),
    RealSpeechSet("ktuberling", "ktuberling-data", "GPL-2+",
                  "KTuberling's English single words", ktuberling),
    RealSpeechSet("klettres", "klettres-data", "GPL-2+",
                  "KLettres' letters and syllables, a US and a British speaker", klettres),
    RealSpeechSet("tuxpaint", "tuxpaint-stamps-default", "GPL-2",
                  "Tux Paint's spoken stamp descriptions", tuxpaint),
]}

_VERSION = 1  # part of each set's cache folder: bump when a reader changes what it yields


def _check_name(name):
    if name not in REAL_SPEECH_SETS:
        raise InputError(f"Unknown real speech set {name!r}. Expected one of "
                         f"{sorted(REAL_SPEECH_SETS)}. Received: {name!r}")
    return REAL_SPEECH_SETS[name]


def real_speech_folder(name):
    """The cache folder of set `name` (WAV clips and `clips.csv`), unpacked on first use."""
    spec = _check_name(name)
    folder = os.path.join(data_home(), "speech", "real", f"{name}-v{_VERSION}")
    if os.path.isfile(os.path.join(folder, "clips.csv")):
        return folder
    import soundfile
    with building(folder) as tmp:
        rows = []
        for clip, samples, rate, text, speaker in spec.reader():
            if samples.ndim > 1:
                samples = samples.mean(axis=1)
            path = re.sub(r"[^\w.-]+", "_", clip) + ".wav"
            soundfile.write(os.path.join(tmp, path), to_int16(np.asarray(samples)), rate,
                            subtype="PCM_16")
            rows.append({"path": path, "text": text, "speaker": speaker})
        if not rows:
            raise InputError(f"The package {spec.apt_package} holds no clips of {name}. "
                             f"Received: an empty set")
        with open(os.path.join(tmp, "clips.csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, ["path", "text", "speaker"])
            writer.writeheader()
            writer.writerows(rows)
    return folder


def real_speech_set(name):
    """The utterances of set `name` (`speech_corpus.Utterance`, text normalised)."""
    from model_zoo.data.speech_corpus import folder_corpus

    return folder_corpus(os.path.join(real_speech_folder(name), "clips.csv"))
