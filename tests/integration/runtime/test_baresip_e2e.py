"""A real softphone (baresip) holds a conversation with the real appliance:
greeting -> caller turn (espeak-ng WAV) -> reply, heard on baresip's side and stored."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from appliance.qa.voices import read_wav
from appliance.store.access import Vault, current_os_user

from .conftest import free_port

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).parents[1] / "telephony" / "peers" / "baresip.config.in"


def _run(cmd: list[str], cwd: Path, timeout: float = 60) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         check=False)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout + res.stderr


def test_baresip_greeting_turn_reply(server, stt, open_store, tmp_path: Path) -> None:
    raw, wav = tmp_path / "raw.wav", tmp_path / "caller.wav"
    _run(["espeak-ng", "-v", "en-us+f3", "-w", str(raw),
          "Hello, I would like to leave a message for the doctor please."], tmp_path)
    # wait out the greeting, speak, then stay on the line for the reply (aufile hangs up at EOF)
    _run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav), "pad", "5", "9"],
         tmp_path)
    rtp = free_port()
    conf = tmp_path / "baresip"
    conf.mkdir()
    text = TEMPLATE.read_text()
    for key, value in {"PORT": free_port(), "WAV": wav, "RTP": rtp, "RTPEND": rtp + 50}.items():
        text = text.replace(f"@{key}@", str(value))
    (conf / "config").write_text(text)
    (conf / "accounts").write_text("<sip:tester@127.0.0.1>;regint=0\n")
    (conf / "contacts").write_text("")
    out = _run(["baresip", "-f", str(conf), "-e", f"/dial {server.uri}", "-t", "24"],
               tmp_path, timeout=60)
    assert "Call established" in out, out[-3000:]

    (dump,) = tmp_path.glob("dump-*-dec.wav")  # what baresip heard
    heard = stt.transcribe(read_wav(dump)).text.lower()
    assert "riverside" in heard, heard  # the greeting
    # the reply to "leave a message", "Can I have your full name, please?", reached the caller
    # (tiny.en may mishear one word of it on narrowband: "your full main")
    reply_words = {"can", "have", "your", "full", "name", "please"}
    assert len(reply_words & set(re.findall(r"[a-z]+", heard))) >= 4, heard

    time.sleep(1.0)
    store = open_store()
    vault = Vault(store, current_os_user())
    call = vault.list_calls(limit=1)[0]
    turns = vault.transcript(call["call_id"])
    speakers = [t["speaker"] for t in turns]
    assert speakers[:3] == ["agent", "caller", "agent"], speakers
    assert "message" in turns[1]["text"].lower()
    assert "name" in turns[2]["text"].lower(), turns[2]  # who is calling?
