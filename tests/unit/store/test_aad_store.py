"""Property: inside a real store, any ciphertext moved to any other row fails to decrypt."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.store.errors import DecryptionError


@pytest.fixture
def two_calls(store):
    cids = []
    for n in range(2):
        cid = store.start_call("inbound", f"+1555000000{n}", "w")
        for i in range(4):
            store.add_turn(cid, "caller", f"call {n} turn {i}", i, i + 1, {})
        cids.append(cid)
    rows = store._conn.execute("SELECT id, call_id, seq, text FROM turns ORDER BY id").fetchall()
    return cids, rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_moved_turn_ciphertext_fails(store, two_calls, data):
    cids, rows = two_calls
    src = data.draw(st.sampled_from(rows))
    dst = data.draw(st.sampled_from([r for r in rows if r[0] != src[0]]))
    c = store._conn
    c.execute("UPDATE turns SET text=? WHERE id=?", (src[3], dst[0]))
    try:
        with pytest.raises(DecryptionError):
            store.vault("admin1").transcript(dst[1])
    finally:
        c.execute("UPDATE turns SET text=? WHERE id=?", (dst[3], dst[0]))
    # restored: both calls decrypt again
    for n, cid in enumerate(cids):
        texts = [t["text"] for t in store.vault("admin1").transcript(cid)]
        assert texts == [f"call {n} turn {i}" for i in range(4)]
