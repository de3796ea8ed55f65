"""KEK rotation: a new KEK version re-wraps every live data key; payloads are untouched.

``rotate`` keeps older KEK versions in the credential file, because a running service may
still hold the old file (systemd copies credentials at start). After the service restarted,
``retire`` re-wraps stragglers and removes versions no data key needs any more.
"""

from __future__ import annotations

from appliance.store.access import authorize
from appliance.store.calls import CallStore
from appliance.store.errors import KeyMaterialError
from appliance.store.keys import KekSet, write_secret


def _write(store: CallStore, keks: KekSet) -> None:
    path = store.config.credentials_path / store.config.store.kek_credential
    try:
        write_secret(path, keks.to_bytes(), exclusive=False)
    except OSError as e:
        raise KeyMaterialError(
            f"cannot write credential '{store.config.store.kek_credential}' in "
            f"{store.config.credentials_path}: {e.strerror}"
        ) from None


def rotate(store: CallStore, actor: str) -> dict:
    authorize(store, actor, "keys.rotate")
    old = store.ring.current
    new_set = store.ring.with_new_version()
    _write(store, new_set)  # old versions stay in the file: a crash here loses nothing
    store.ring.adopt(new_set)
    store._keys.forget()
    with store._tx() as c:
        store.ring.register(c, store.clock.now())
        n = store._keys.rewrap_all(c)
        store.audit.append(
            actor,
            "keys.rotate",
            {"from_version": old, "to_version": new_set.current, "rewrapped": n},
        )
    return {"from_version": old, "to_version": new_set.current, "rewrapped": n}


def retire(store: CallStore, actor: str) -> dict:
    authorize(store, actor, "keys.rotate")
    with store._tx() as c:
        n = store._keys.rewrap_all(c)
        kept = store.ring.retired(c)
        removed = sorted(set(store.ring.versions) - set(kept.keys))
        for v in removed:
            c.execute("UPDATE kek SET retired_at=? WHERE version=?", (store.clock.now(), v))
        store.audit.append(actor, "keys.retire", {"removed_versions": removed, "rewrapped": n})
    if removed:
        _write(store, kept)
        store.ring.adopt(kept)
    return {"removed_versions": removed, "rewrapped": n, "current": kept.current}
