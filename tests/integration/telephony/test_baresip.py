"""baresip 1.0 softphone calling the stack: G.722 negotiated, caller speech (espeak-ng WAV)
reaches the handler, the handler's tone reaches baresip (sndfile dump), baresip hangs up."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from appliance.telephony.events import MediaReady

pytestmark = pytest.mark.slow


def test_baresip_calls_the_stack(agent, procs, kit, tmp_path) -> None:
    raw, wav = tmp_path / "raw.wav", tmp_path / "speech.wav"
    rc, out = procs.run(["espeak-ng", "-w", str(raw), "Hello, I would like to book an "
                         "appointment for next Tuesday morning please."], timeout=30)
    assert rc == 0, out
    # 16 kHz mono, padded: aufile hangs the call up at end of file
    rc, out = procs.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav),
                         "pad", "0.5", "8"], timeout=30)
    assert rc == 0, out
    stack, h = agent(kit.Handler(greeting=kit.tone(2.0, 16000, freq=500)),
                     codecs=["G722/16000", "PCMU/8000"])
    rtp = kit.free_port()
    cfg_dir = tmp_path / "baresip"
    cfg_dir.mkdir()
    kit.scenario(tmp_path, "baresip.config.in", port=kit.free_port(), wav=wav, rtp=rtp,
                 rtpend=rtp + 50).rename(cfg_dir / "config")
    (cfg_dir / "accounts").write_text("<sip:tester@127.0.0.1>;regint=0\n")
    (cfg_dir / "contacts").write_text("")
    rc, out = procs.run(["baresip", "-f", str(cfg_dir), "-e",
                         f"/dial sip:agent@127.0.0.1:{stack.config.port}", "-t", "8"],
                        timeout=30, cwd=tmp_path)
    assert "Call established" in out, out[-3000:]
    (ended,) = h.wait_ended(1, 5)
    assert ended.code == 200
    assert h.of(MediaReady)[0].codec == "G722/16000"
    assert h.loud_frames(ended.call_id) > 100  # ~3.5 s of speech from the WAV
    (dump,) = tmp_path.glob("dump-*-dec.wav")
    with wave.open(str(dump)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32)
        rate = w.getframerate()
    frames = x[: x.size // (rate // 50) * (rate // 50)].reshape(-1, rate // 50)
    loud = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 1000)
    assert 80 <= loud.size <= 110, loud.size  # the 2 s greeting tone, once
    seg = frames[loud[10]:loud[10] + 40].ravel()
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    assert abs(np.fft.rfftfreq(seg.size, 1 / rate)[int(np.argmax(spec))] - 500) < 15
