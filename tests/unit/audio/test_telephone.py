"""G.711 codecs are bit-exact with the ITU reference; the channel band-limits to 8 kHz."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from appliance.audio.frame import AudioFrame
from appliance.audio.telephone import (
    alaw_decode,
    alaw_encode,
    band_limit,
    telephone_channel,
    ulaw_decode,
    ulaw_encode,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # stdlib G.711 reference (removed in 3.13; fine on the appliance's 3.11)

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def test_ulaw_matches_reference_for_every_sample_and_code() -> None:
    ref_enc = np.frombuffer(audioop.lin2ulaw(ALL_INT16.tobytes(), 2), np.uint8)
    ref_dec = np.frombuffer(audioop.ulaw2lin(ALL_CODES.tobytes(), 2), np.int16)
    assert np.array_equal(ulaw_encode(ALL_INT16), ref_enc)
    assert np.array_equal(ulaw_decode(ALL_CODES), ref_dec)


def test_alaw_matches_reference_for_every_sample_and_code() -> None:
    ref_enc = np.frombuffer(audioop.lin2alaw(ALL_INT16.tobytes(), 2), np.uint8)
    ref_dec = np.frombuffer(audioop.alaw2lin(ALL_CODES.tobytes(), 2), np.int16)
    assert np.array_equal(alaw_encode(ALL_INT16), ref_enc)
    assert np.array_equal(alaw_decode(ALL_CODES), ref_dec)


@pytest.mark.parametrize("enc,dec", [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)])
def test_codec_round_trip_snr(enc, dec) -> None:  # type: ignore[no-untyped-def]
    t = np.arange(8000) / 8000
    x = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    y = dec(enc(x)).astype(np.float64)
    snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((x - y) ** 2))
    assert snr > 30  # G.711 gives ~38 dB on a loud tone


def test_band_limit_removes_out_of_band_tones() -> None:
    rate = 8000
    t = np.arange(rate) / rate
    low, mid = np.sin(2 * np.pi * 100 * t), np.sin(2 * np.pi * 1000 * t)
    y = band_limit((low + mid).astype(np.float32), rate)
    spec = np.abs(np.fft.rfft(y))
    assert spec[100] < 0.01 * spec[1000]
    assert spec[1000] == pytest.approx(np.abs(np.fft.rfft(mid))[1000], rel=0.01)


def test_telephone_channel_rates() -> None:
    frame = AudioFrame.from_array(np.zeros(16000, np.float32), 16000, timestamp=3.0)
    out = telephone_channel(frame)
    assert out.sample_rate == 8000 and out.samples == 8000 and out.timestamp == 3.0
    back = telephone_channel(frame, "alaw", out_rate=16000)
    assert back.sample_rate == 16000 and back.samples == 16000
