"""`appliance backup create|restore|verify`: the call database and the keys, kept apart.

A data backup is one self-contained SQLite file taken with SQLite's online backup API, so it
is consistent while calls are being written, plus ``MANIFEST.json`` (sha256, schema version,
integrity check). Keys (the KEK and the audit signing key) go to a *different* directory:
the store's rows are encrypted under the KEK, so a data backup that sat next to its key
would protect nothing. ``voice-appliance-backup.timer`` runs ``create`` daily without keys;
take a key backup once, by hand, onto separate media (``--keys-only --keys-out``).

``restore`` refuses to replace an existing database or key unless ``--force``, and then moves
the old files aside instead of deleting them. Stop voice-appliance.service first.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import socket
import sqlite3
import sys
from pathlib import Path

from appliance.cli._common import add_config_arg, config_from
from appliance.config import ApplianceConfig

log = logging.getLogger(__name__)

DATA_PREFIX = "voice-appliance-"
KEYS_PREFIX = "voice-appliance-keys-"
MANIFEST = "MANIFEST.json"
FORMAT = 1


class BackupError(Exception):
    pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("voice-appliance")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "unknown"


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    if not row:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(r[0]) for r in rows)


def database_path(config: ApplianceConfig) -> Path:
    return config.data_path(config.store.database)


def key_names(config: ApplianceConfig) -> list[str]:
    return [config.store.kek_credential, config.store.signing_key_credential]


# --- create -----------------------------------------------------------------------------


def backup_database(db: Path, out: Path, *, label: str | None = None) -> Path:
    """Copy ``db`` with the online backup API into a new directory under ``out``."""
    if not db.exists():
        raise BackupError(f"no database at {db}")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = DATA_PREFIX + _stamp() + (f"-{label}" if label else "")
    final = out / name
    work = out / f".{name}.partial"
    work.mkdir(mode=0o700)
    try:
        dest = work / db.name
        # Read-write open (never written to): a read-only handle cannot create the -shm
        # file a WAL database needs when the service is not running.
        src = sqlite3.connect(str(db), timeout=30)
        try:
            dst = sqlite3.connect(str(dest))
            try:
                # Small steps let writers interleave; the API restarts if a writer changes
                # pages already copied, so the result is one consistent snapshot.
                src.backup(dst, pages=4096, sleep=0.01)
                dst.execute("PRAGMA journal_mode=DELETE")
                check = _integrity(dst)
                schema = _schema_version(dst)
            finally:
                dst.close()
        finally:
            src.close()
        if check != "ok":
            raise BackupError(f"integrity check of the copy failed: {check}")
        with dest.open("rb+") as f:
            os.fsync(f.fileno())
        manifest = {
            "format": FORMAT,
            "kind": "data",
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "host": socket.gethostname(),
            "software_version": _version(),
            "schema_version": schema,
            "source": str(db),
            "files": {db.name: {"sha256": _sha256(dest), "size": dest.stat().st_size}},
            "integrity_check": check,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _fsync_dir(work)
        work.rename(final)
        _fsync_dir(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def backup_keys(config: ApplianceConfig, out: Path) -> Path:
    """Copy the key credentials (0600, in a 0700 directory) with their sha256."""
    src_dir = config.credentials_path
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = KEYS_PREFIX + _stamp()
    work = out / f".{name}.partial"
    work.mkdir(mode=0o700)
    files = {}
    try:
        for key in key_names(config):
            src = src_dir / key
            if not src.exists():
                raise BackupError(f"key credential {src} missing")
            dest = work / key
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(src.read_bytes())
                f.flush()
                os.fsync(f.fileno())
            files[key] = {"sha256": _sha256(dest), "size": dest.stat().st_size}
        manifest = {
            "format": FORMAT,
            "kind": "keys",
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "host": socket.gethostname(),
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        os.chmod(work / MANIFEST, 0o600)
        _fsync_dir(work)
        final = out / name
        work.rename(final)
        _fsync_dir(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def prune(out: Path, keep: int, prefix: str = DATA_PREFIX) -> list[Path]:
    """Delete all but the newest ``keep`` backups directly under ``out``; returns the removed."""
    if keep <= 0 or not out.is_dir():
        return []
    found = sorted(
        p for p in out.iterdir()
        if p.is_dir() and p.name.startswith(prefix) and not p.name.startswith(KEYS_PREFIX)
        and (p / MANIFEST).exists()
    )
    doomed = found[:-keep]
    for p in doomed:
        shutil.rmtree(p)
    return doomed


# --- verify / restore -------------------------------------------------------------------


def read_manifest(backup: Path, kind: str) -> dict:
    try:
        m = json.loads((backup / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{backup} is not a backup (no {MANIFEST})") from None
    except json.JSONDecodeError as e:
        raise BackupError(f"{backup / MANIFEST} is corrupt: {e}") from None
    if m.get("format") != FORMAT or m.get("kind") != kind:
        raise BackupError(f"{backup} is a {m.get('kind')!r} backup, expected {kind!r}")
    for name, meta in m["files"].items():
        p = backup / name
        if not p.exists():
            raise BackupError(f"{p} missing")
        if _sha256(p) != meta["sha256"]:
            raise BackupError(f"{p} does not match its sha256 in {MANIFEST}")
    return m


def verify(backup: Path) -> dict:
    """Check a data or key backup's checksums (and a data backup's integrity)."""
    try:
        kind = json.loads((backup / MANIFEST).read_text()).get("kind")
    except (OSError, json.JSONDecodeError):
        kind = None
    m = read_manifest(backup, kind or "data")
    if m["kind"] == "data":
        (name,) = m["files"]
        conn = sqlite3.connect(f"file:{backup / name}?mode=ro&immutable=1", uri=True)
        try:
            check = _integrity(conn)
        finally:
            conn.close()
        if check != "ok":
            raise BackupError(f"integrity check failed: {check}")
    return m


def _match_owner(path: Path, like: Path) -> None:
    """Running as root: give restored files the owner of the directory they land in."""
    if os.geteuid() != 0:
        return
    st = like.stat()
    os.chown(path, st.st_uid, st.st_gid)


def restore_database(backup: Path, db: Path, *, force: bool = False) -> Path | None:
    """Install a verified backup as ``db``; returns where an existing database was moved."""
    m = verify(backup)
    (name,) = m["files"]
    db.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    moved = None
    if db.exists():
        if not force:
            raise BackupError(f"{db} exists; stop the service and pass --force to replace it")
        moved = db.with_name(f"{db.name}.pre-restore-{_stamp()}")
        # Fold any WAL into the old file so the moved-aside copy is complete on its own.
        with contextlib.closing(sqlite3.connect(str(db))) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.rename(moved)
    for suffix in ("-wal", "-shm", "-journal"):
        stale = db.with_name(db.name + suffix)
        if stale.exists():
            stale.unlink()
    tmp = db.with_name(f".{db.name}.restore")
    shutil.copyfile(backup / name, tmp)
    os.chmod(tmp, 0o600)
    _match_owner(tmp, db.parent)
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, db)
    _fsync_dir(db.parent)
    return moved


def restore_keys(config: ApplianceConfig, backup: Path, *, force: bool = False) -> list[Path]:
    read_manifest(backup, "keys")
    dest_dir = config.credentials_path
    dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for key in key_names(config):
        src = backup / key
        dest = dest_dir / key
        if dest.exists():
            if dest.read_bytes() == src.read_bytes():
                continue
            if not force:
                raise BackupError(f"{dest} exists and differs; pass --force to replace it")
            dest.rename(dest.with_name(f"{dest.name}.pre-restore-{_stamp()}"))
        tmp = dest.with_name(f".{dest.name}.restore")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(src.read_bytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        written.append(dest)
    _fsync_dir(dest_dir)
    return written


def latest(out: Path, prefix: str = DATA_PREFIX) -> Path:
    if not out.is_dir():
        raise BackupError(f"no backups under {out}")
    found = sorted(
        p for p in out.iterdir()
        if p.is_dir() and p.name.startswith(prefix) and (p / MANIFEST).exists()
        and (prefix == KEYS_PREFIX or not p.name.startswith(KEYS_PREFIX))
    )
    if not found:
        raise BackupError(f"no backups under {out}")
    return found[-1]


# --- CLI --------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="back up / restore the call database and keys")
    bsub = p.add_subparsers(dest="backup_command", required=True, metavar="ACTION")

    c = bsub.add_parser("create", help="online backup of the database (and optionally keys)")
    add_config_arg(c)
    c.add_argument("--out", type=Path, help="directory for data backups")
    c.add_argument("--keys-out", type=Path, help="ALSO copy the keys here (separate media!)")
    c.add_argument("--keys-only", action="store_true", help="back up keys only (needs --keys-out)")
    c.add_argument("--keep", type=int, default=0, help="keep only the newest N data backups")
    c.add_argument("--label", help="suffix for the backup name, e.g. pre-upgrade-0.1.0")
    c.add_argument("--if-exists", action="store_true",
                   help="exit 0 without a backup when there is no database yet")
    c.set_defaults(func=_create)

    r = bsub.add_parser("restore", help="restore a data and/or key backup (service stopped)")
    add_config_arg(r)
    r.add_argument("--from", dest="source", type=Path,
                   help="a data backup directory, or a directory of them (newest is used)")
    r.add_argument("--keys-from", type=Path, help="a key backup directory (or a directory of them)")
    r.add_argument("--force", action="store_true", help="replace existing files (moved aside)")
    r.set_defaults(func=_restore)

    v = bsub.add_parser("verify", help="check a backup's checksums and integrity")
    v.add_argument("path", type=Path)
    v.set_defaults(func=_verify)


def _create(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.keys_only and not args.keys_out:
        print("error: --keys-only needs --keys-out", file=sys.stderr)
        return 2
    if not args.keys_only and not args.out:
        print("error: --out is required", file=sys.stderr)
        return 2
    try:
        if not args.keys_only:
            db = database_path(config)
            if not db.exists() and args.if_exists:
                print(f"no database at {db} yet; nothing to back up")
            else:
                path = backup_database(db, args.out, label=args.label)
                print(f"data backup: {path}")
                for gone in prune(args.out, args.keep):
                    print(f"pruned: {gone}")
        if args.keys_out:
            out = args.keys_out.resolve()
            if args.out and out == args.out.resolve():
                print("warning: keys are being stored next to the data they protect",
                      file=sys.stderr)
            print(f"key backup: {backup_keys(config, args.keys_out)}")
    except (BackupError, sqlite3.Error, OSError) as e:
        print(f"error: backup failed: {e}", file=sys.stderr)
        return 1
    return 0


def _resolve(path: Path, prefix: str) -> Path:
    return path if (path / MANIFEST).exists() else latest(path, prefix)


def _restore(args: argparse.Namespace) -> int:
    config = config_from(args)
    if not args.source and not args.keys_from:
        print("error: give --from and/or --keys-from", file=sys.stderr)
        return 2
    try:
        if args.keys_from:
            src = _resolve(args.keys_from, KEYS_PREFIX)
            written = restore_keys(config, src, force=args.force)
            print(f"keys restored from {src}: {len(written)} written")
        if args.source:
            src = _resolve(args.source, DATA_PREFIX)
            moved = restore_database(src, database_path(config), force=args.force)
            if moved:
                print(f"previous database kept at {moved}")
            print(f"database restored from {src} to {database_path(config)}")
    except (BackupError, sqlite3.Error, OSError) as e:
        print(f"error: restore failed: {e}", file=sys.stderr)
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        m = verify(args.path)
    except (BackupError, sqlite3.Error, OSError) as e:
        print(f"FAIL {args.path}: {e}")
        return 1
    extra = f" schema {m['schema_version']}" if m["kind"] == "data" else ""
    print(f"OK {args.path}: {m['kind']} backup, {len(m['files'])} file(s){extra}")
    return 0
