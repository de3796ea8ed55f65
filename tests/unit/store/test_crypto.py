from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.store import crypto
from appliance.store.errors import DecryptionError

names = st.text(min_size=0, max_size=20)
aads = st.tuples(names, names, names, names, names)


@settings(max_examples=200, deadline=None)
@given(pt=st.binary(max_size=4096), parts=aads)
def test_round_trip(pt, parts):
    key = crypto.new_key()
    aad = crypto.payload_aad(*parts)
    blob = crypto.seal(key, pt, aad)
    assert crypto.open_sealed(key, blob, aad) == pt
    assert len(blob) == len(pt) + crypto.OVERHEAD


@settings(max_examples=200, deadline=None)
@given(pt=st.binary(min_size=1, max_size=512), parts=aads, other=aads)
def test_aad_binding(pt, parts, other):
    """A ciphertext opens only with the exact (table, row, column, class, key id) it had."""
    key = crypto.new_key()
    blob = crypto.seal(key, pt, crypto.payload_aad(*parts))
    if other == parts:
        assert crypto.open_sealed(key, blob, crypto.payload_aad(*other)) == pt
    else:
        with pytest.raises(DecryptionError):
            crypto.open_sealed(key, blob, crypto.payload_aad(*other))


@settings(max_examples=100, deadline=None)
@given(pt=st.binary(max_size=256), pos=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_bit_flip_fails(pt, pos, bit):
    key = crypto.new_key()
    aad = crypto.payload_aad("turns", "c/1", "text", "transcripts", "k")
    blob = bytearray(crypto.seal(key, pt, aad))
    blob[pos % len(blob)] ^= 1 << bit
    with pytest.raises(DecryptionError):
        crypto.open_sealed(key, bytes(blob), aad)


@settings(max_examples=50, deadline=None)
@given(pt=st.binary(max_size=256))
def test_wrong_key_fails(pt):
    aad = crypto.payload_aad("t", "r", "c", "k", "i")
    blob = crypto.seal(crypto.new_key(), pt, aad)
    with pytest.raises(DecryptionError, match="failed authentication"):
        crypto.open_sealed(crypto.new_key(), blob, aad)


def test_wrap_aad_binds_call_class_and_version():
    kek, dek = crypto.new_key(), crypto.new_key()
    blob = crypto.seal(kek, dek, crypto.wrap_aad("k1", "call", "transcripts", 1))
    assert crypto.open_sealed(kek, blob, crypto.wrap_aad("k1", "call", "transcripts", 1)) == dek
    for bad in (
        ("k2", "call", "transcripts", 1),
        ("k1", "other", "transcripts", 1),
        ("k1", "call", "recordings", 1),
        ("k1", "call", "transcripts", 2),
    ):
        with pytest.raises(DecryptionError):
            crypto.open_sealed(kek, blob, crypto.wrap_aad(*bad))


def test_nonces_are_unique():
    key = crypto.new_key()
    aad = b"x"
    blobs = {crypto.seal(key, b"same", aad)[1:13] for _ in range(1000)}
    assert len(blobs) == 1000


def test_malformed_ciphertext():
    with pytest.raises(DecryptionError, match="malformed"):
        crypto.open_sealed(crypto.new_key(), b"\x02" + b"\x00" * 40, b"")
    with pytest.raises(DecryptionError, match="malformed"):
        crypto.open_sealed(crypto.new_key(), b"\x01abc", b"")
