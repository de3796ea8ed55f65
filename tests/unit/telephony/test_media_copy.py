"""The ctypes ByteVector copy must equal the slow per-byte copy (layout self-check)."""

from __future__ import annotations

import os

import pjsua2 as pj

from appliance.telephony.media import _fast_copy, copy_bytevector


def test_fast_copy_is_selected_and_exact() -> None:
    assert copy_bytevector is _fast_copy
    for n in (0, 1, 320, 640, 1920):
        data = os.urandom(n)
        assert copy_bytevector(pj.ByteVector(data)) == data


def test_fast_copy_of_frame_buffer() -> None:
    f = pj.MediaFrame()
    data = os.urandom(640)
    f.buf = pj.ByteVector(data)
    assert copy_bytevector(f.buf) == data
