"""Signed audit bundles (JSONL or CSV) for auditors.

A bundle is: a header, the entries of one contiguous seq range, the signed checkpoints that
fall inside it, and a final *seal* signed with the appliance's Ed25519 key. The seal lists
every entry hash in order (the signed manifest), the range, the link to the entry before the
range and the public key, so any edit, deletion, reordering, insertion or truncation is
pinned to the first bad entry.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from appliance.audit.canonical import SEAL_CONTEXT, canonical, seal_message
from appliance.audit.chain import AuditTrail
from appliance.store.clock import iso

FORMAT = "appliance-audit-bundle/1"
CSV_COLUMNS = ["type", "seq", "ts", "actor", "action", "details", "prev_hash", "hash", "record"]


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    count: int
    first_seq: int
    last_seq: int
    key_id: str


def build_records(
    trail: AuditTrail, since: str | None, until: str | None, now: float
) -> list[dict]:
    """Header, entries, checkpoints and the signed seal, as plain dicts."""
    trail.checkpoint()  # sign the head on every export
    first, last = trail.seq_range(since, until)
    entries = list(trail.entries(first, last)) if last >= first else []
    checkpoints = trail.checkpoints(first, last) if entries else []
    exported_at = iso(now)
    seal = {
        "type": "seal",
        "context": SEAL_CONTEXT,
        "format": FORMAT,
        "since": since,
        "until": until,
        "exported_at": exported_at,
        "first_seq": entries[0]["seq"] if entries else None,
        "last_seq": entries[-1]["seq"] if entries else None,
        "count": len(entries),
        "first_prev_hash": entries[0]["prev_hash"] if entries else None,
        "last_hash": entries[-1]["hash"] if entries else None,
        "hashes": [e["hash"] for e in entries],
    }
    key_id, pub, _ = trail.sign(b"")
    seal["key_id"], seal["public_key"] = key_id, pub
    seal["signature"] = trail.sign(seal_message(seal))[2]
    header = {"type": "header", "format": FORMAT, "exported_at": exported_at, "count": len(entries)}
    return (
        [header]
        + [{"type": "entry", **e} for e in entries]
        + [{"type": "checkpoint", **c} for c in checkpoints]
        + [seal]
    )


def write_jsonl(records: list[dict], out: Path) -> None:
    with open(out, "w", encoding="utf-8") as f:
        for r in records:
            f.write(canonical(r).decode("utf-8") + "\n")


def write_csv(records: list[dict], out: Path) -> None:
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in records:
            if r["type"] == "entry":
                w.writerow(
                    [
                        "entry",
                        r["seq"],
                        r["ts"],
                        r["actor"],
                        r["action"],
                        canonical(r["details"]).decode(),
                        r["prev_hash"],
                        r["hash"],
                        "",
                    ]
                )
            else:
                w.writerow([r["type"], "", "", "", "", "", "", "", canonical(r).decode()])


def read_records(path: Path) -> list[dict]:
    """Parse a bundle in either format (CSV is detected by its header row)."""
    text = Path(path).read_text(encoding="utf-8")
    if text.startswith(",".join(CSV_COLUMNS)):
        rows = list(csv.DictReader(text.splitlines()))
        out = []
        for row in rows:
            if row["type"] == "entry":
                out.append(
                    {
                        "type": "entry",
                        "seq": int(row["seq"]),
                        "ts": row["ts"],
                        "actor": row["actor"],
                        "action": row["action"],
                        "details": json.loads(row["details"]),
                        "prev_hash": row["prev_hash"],
                        "hash": row["hash"],
                    }
                )
            else:
                out.append(json.loads(row["record"]))
        return out
    lines = [line for line in text.splitlines() if line.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # cut mid-line: report it as the truncation it is
                break
            raise
    return out


def export_bundle(
    trail: AuditTrail,
    out: Path,
    *,
    fmt: str = "jsonl",
    since: str | None = None,
    until: str | None = None,
    actor: str = "system",
    now: float,
) -> ExportSummary:
    """Audit the export first, then write the signed bundle (atomically)."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown format {fmt!r}")
    trail.append(actor, "audit.export", {"since": since, "until": until, "format": fmt})
    records = build_records(trail, since, until, now)
    tmp = Path(out).with_name(Path(out).name + ".partial")
    (write_jsonl if fmt == "jsonl" else write_csv)(records, tmp)
    tmp.replace(out)
    seal = records[-1]
    return ExportSummary(
        Path(out), seal["count"], seal["first_seq"] or 0, seal["last_seq"] or 0, seal["key_id"]
    )
