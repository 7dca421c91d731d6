"""The English recogniser on a second real speaker: the Warzone 2100 tutorial voice.

    python benchmarks/speech_second_speaker.py asr_crnn_synthetic_en@1 asr_crnn_synthetic_en

The recipe's real test set is one professional speaker (the Asterisk prompts, 8 kHz). This
script reads another real voice that is packaged here: the spoken tutorial of the game
Warzone 2100 (`apt-get install warzone2100-data`, GPL-2+; 143 MB), one male speaker recorded
at 11,025 Hz. Its text is the `message` the tutorial script shows beside each clip
(`script/tutorial.js` in `base.wz`, a zip), which the game has revised since the recording:
clips whose message holds more than `--max-chars-per-second` characters per second of audio
cannot be what is spoken (fluent speech is 12-20 characters a second) and are left out
(5 of 42 at the default 25). Nothing here is used in training or model selection; it is a
probe of how far the models carry beyond the one test speaker, small (37 clips, 1.8 min), and
its transcripts are unverified, so read it as a rough number.

Prints a Markdown table (CER and WER, greedy and with the checkpoint's language model) and
writes the numbers to `--out` (JSON).
"""

import argparse
import io
import json
import os
import re
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import soundfile  # noqa: E402

import model_zoo  # noqa: E402
from model_zoo.data.cache import require_path  # noqa: E402
from model_zoo.data.speech_text import normalize_transcript  # noqa: E402

ARCHIVE = "/usr/share/games/warzone2100/base.wz"
_STEP = re.compile(r'"audio":\s*"(tut\d+\.ogg)"[^{}]*?"message":\s*_\("((?:[^"\\]|\\.)*)"\)')


def tutorial_clips(archive=ARCHIVE, max_chars_per_second=25.0):
    """`(kept, dropped)`: lists of `(clip name, float32 waveform, sample rate, text)`."""
    require_path(archive, apt_package="warzone2100-data")
    kept, dropped = [], []
    with zipfile.ZipFile(archive) as z:
        script = z.read("script/tutorial.js").decode("utf-8")
        for clip, message in _STEP.findall(script):
            audio, rate = soundfile.read(io.BytesIO(z.read(f"audio/tutorial/{clip}")),
                                         dtype="float32")
            text = normalize_transcript(message.replace('\\"', '"'))
            item = (clip, audio, rate, text)
            fits = len(message) <= max_chars_per_second * len(audio) / rate
            (kept if fits else dropped).append(item)
    return kept, dropped


def score(name, clips):
    task = model_zoo.load(name)
    waves = [task.waveform(audio, rate) for _, audio, rate, _ in clips]
    row = {"model": task.metadata.full_name}
    for decoder, rates in task.decoder_error_rates(waves, [t for *_, t in clips]).items():
        suffix = "" if decoder == "greedy" else "_lm"
        row.update({f"cer{suffix}": rates["cer"], f"wer{suffix}": rates["wer"]})
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=["asr_crnn_synthetic_en"])
    parser.add_argument("--archive", default=ARCHIVE)
    parser.add_argument("--max-chars-per-second", type=float, default=25.0)
    parser.add_argument("--out", default="runs/speech_second_speaker.json")
    args = parser.parse_args()
    kept, dropped = tutorial_clips(args.archive, args.max_chars_per_second)
    seconds = sum(len(audio) / rate for _, audio, rate, _ in kept)
    print(f"{len(kept)} clips ({seconds / 60:.1f} min) kept; left out (text longer than the "
          f"audio): {', '.join(clip for clip, *_ in dropped) or 'none'}")
    rows = [score(name, kept) for name in args.models]
    print("| model | CER greedy | CER + LM | WER greedy | WER + LM |\n|---|---|---|---|---|")
    for r in rows:
        lm = (f"{r['cer_lm']:.1%}", f"{r['wer_lm']:.1%}") if "cer_lm" in r else ("-", "-")
        print(f"| `{r['model']}` | {r['cer']:.1%} | {lm[0]} | {r['wer']:.1%} | {lm[1]} |")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"clips": len(kept), "minutes": round(seconds / 60, 2),
                   "left_out": [clip for clip, *_ in dropped], "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
