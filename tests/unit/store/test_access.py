from __future__ import annotations

import pytest

from appliance.store import access
from appliance.store.errors import AccessDenied, DecryptionError


@pytest.fixture
def team(store):
    access.add_user(store, "admin1", "aud", "auditor")
    access.add_user(store, "admin1", "qa", "qa_reviewer")
    return store


def _last(store):
    return list(store.audit.entries())[-1]


def test_roles(team, call):
    qa, aud = team.vault("qa"), team.vault("aud")
    assert qa.transcript(call)[0]["speaker"] == "caller"
    assert aud.list_calls()[0]["call_id"] == call
    assert aud.call(call)["outcome"] == "booked"
    for fn in (aud.transcript, aud.audio, aud.remote, aud.summary):
        with pytest.raises(AccessDenied, match="aud"):
            fn(call)
        e = _last(team)
        assert e["action"] == "access.denied" and e["actor"] == "aud"
        assert e["details"]["call_id"] == call


def test_unknown_user_is_denied_and_audited(store, call):
    with pytest.raises(AccessDenied, match="no role"):
        store.vault("mallory").transcript(call)
    e = _last(store)
    assert (e["actor"], e["action"], e["details"]["role"]) == ("mallory", "access.denied", None)


def test_decrypt_is_audited_before_decryption(store, call):
    n = store.audit.head()[0]
    # corrupt the ciphertext: decryption fails, but the access was recorded first
    store._conn.execute("UPDATE turns SET text = zeroblob(40) WHERE call_id=?", (call,))
    with pytest.raises(DecryptionError):
        store.vault("admin1").transcript(call)
    e = _last(store)
    assert e["seq"] == n + 1 and e["action"] == "data.decrypt"
    assert e["details"] == {"call_id": call, "record_class": "transcripts", "fields": ["text"]}


def test_only_admins_manage_users(team):
    with pytest.raises(AccessDenied):
        access.add_user(team, "qa", "qa", "admin")
    assert access.role_of(team, "qa") == "qa_reviewer"
    assert access.remove_user(team, "admin1", "qa")
    assert access.role_of(team, "qa") is None
    with pytest.raises(ValueError):
        access.add_user(team, "admin1", "x", "superuser")


def test_bootstrap_only_once(store):
    assert not access.bootstrap_admin(store, "someone_else")
    assert access.role_of(store, "someone_else") is None


def test_identity_is_the_effective_os_user(monkeypatch):
    import os
    import pwd

    monkeypatch.setenv("USER", "spoofed")
    monkeypatch.setenv("LOGNAME", "spoofed")
    assert access.current_os_user() == pwd.getpwuid(os.geteuid()).pw_name


def test_call_with_nothing_written_reads_as_empty_but_is_audited(store):
    cid = store.start_call("inbound", "sip:+15550001111@pbx", "reception")  # crash right after
    v = store.vault("admin1")
    assert v.transcript(cid) == [] and v.audio(cid) == {} and v.summary(cid) == {}
    e = _last(store)
    assert e["action"] == "data.decrypt" and e["details"]["record_class"] == "summaries"
    assert v.remote(cid) == "sip:+15550001111@pbx"
