"""The standalone verification procedure given to auditors (README) actually works.

The snippet below is reproduced verbatim in the README; it uses only the standard library
and `cryptography`, not the appliance package.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from appliance.audit.export import export_bundle

SNIPPET = r"""
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key

def canon(obj):  # the canonical JSON every hash and signature is computed over
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

bundle, pubkey_pem = sys.argv[1], sys.argv[2]
recs = [json.loads(line) for line in open(bundle, encoding="utf-8") if line.strip()]
seal = recs[-1]
if seal.get("type") != "seal":
    sys.exit("FAIL: no seal at the end (bundle truncated)")
pub = load_pem_public_key(open(pubkey_pem, "rb").read())
unsigned = {k: v for k, v in seal.items() if k != "signature"}
pub.verify(base64.b64decode(seal["signature"]), canon(unsigned))  # raises if forged
entries = [r for r in recs if r["type"] == "entry"]
prev, manifest = seal["first_prev_hash"], seal["hashes"]
for i in range(max(len(entries), len(manifest))):
    seq = (seal["first_seq"] or 0) + i
    if i >= len(entries) or i >= len(manifest):
        sys.exit(f"FAIL: first bad entry seq {seq}: missing or not in the signed manifest")
    e = entries[i]
    fields = {k: e[k] for k in ("seq", "ts", "actor", "action", "details", "prev_hash")}
    h = hashlib.sha256(canon(fields)).hexdigest()
    if e["seq"] != seq or h != e["hash"] or h != manifest[i] or e["prev_hash"] != prev:
        sys.exit(f"FAIL: first bad entry seq {seq}")
    prev = h
print(f"OK: {len(entries)} entries, seq {seal['first_seq']}..{seal['last_seq']}")
"""


@pytest.fixture
def files(trail_store, clock, tmp_path):
    from appliance.cli import main

    bundle = tmp_path / "b.jsonl"
    export_bundle(trail_store.audit, bundle, now=clock.now(), actor="aud")
    script = tmp_path / "verify_bundle.py"
    script.write_text(SNIPPET)
    pem = tmp_path / "appliance-audit.pub.pem"
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\ncredentials_dir = "{tmp_path / "credentials"}"\n'
    )
    assert main(["audit", "pubkey", "--config", str(cfg), "--out", str(pem)]) == 0
    return bundle, script, pem


def _run(script, bundle, pem):
    return subprocess.run(
        [sys.executable, "-I", str(script), str(bundle), str(pem)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_snippet_is_short():
    assert len([line for line in SNIPPET.strip().splitlines() if line.strip()]) <= 32


def test_snippet_accepts_a_genuine_bundle(files):
    r = _run(*files[1:2], files[0], files[2])
    assert r.returncode == 0 and r.stdout.startswith("OK:"), r.stderr


def test_snippet_names_the_first_bad_entry(files):
    bundle, script, pem = files
    lines = bundle.read_text().splitlines()
    rec = json.loads(lines[8])  # header is line 0, so this is seq 8
    assert rec["seq"] == 8
    rec["actor"] = "mallory"
    lines[8] = json.dumps(rec)
    bundle.write_text("\n".join(lines) + "\n")
    r = _run(script, bundle, pem)
    assert r.returncode != 0 and "first bad entry seq 8" in r.stderr


def test_snippet_rejects_a_forged_seal(files):
    bundle, script, pem = files
    lines = bundle.read_text().splitlines()
    seal = json.loads(lines[-1])
    seal["count"] += 1
    lines[-1] = json.dumps(seal)
    bundle.write_text("\n".join(lines) + "\n")
    r = _run(script, bundle, pem)
    assert r.returncode != 0 and "InvalidSignature" in r.stderr
