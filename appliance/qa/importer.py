"""`appliance qa import`: an anonymized historical call (caller-side WAVs) becomes a QA case.

The WAVs are copied next to the suite (``calls/<case id>-<n>.wav``) so the suite stays
self-contained; the expectation comes from ``--expect KEY=VALUE`` options.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from appliance.qa.cases import Case, Suite, SuiteError, load_suite
from appliance.qa.voices import VoiceError, read_wav


class ImportError_(Exception):  # noqa: N801 - not the builtin
    """The case cannot be imported (bad WAV, bad expectation, duplicate id)."""


def parse_expect(items: list[str]) -> dict:
    """``intent=X handoff=transfer escalation_reason=R tool=NAME[:RESULT] entity.K=V``."""
    out: dict = {"entities": {}}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ImportError_(f"--expect {item!r}: use KEY=VALUE")
        if key.startswith("entity."):
            out["entities"][key.removeprefix("entity.")] = value
        elif key == "tool":
            name, _, result = value.partition(":")
            out["tool"] = {"name": name, "result": result or "success"}
        elif key in ("intent", "handoff", "escalation_reason"):
            out[key] = value or None
        else:
            raise ImportError_(f"--expect {item!r}: unknown key {key!r}")
    return out


def import_case(suite_path: Path, case_id: str, wavs: list[Path], expect: list[str]) -> Case:
    try:
        suite = load_suite(suite_path)
    except SuiteError as e:
        raise ImportError_(str(e)) from None
    if any(c.id == case_id for c in suite.cases):
        raise ImportError_(f"case {case_id} already exists in {suite_path}")
    for w in wavs:
        try:
            read_wav(w)
        except (VoiceError, OSError) as e:
            raise ImportError_(f"{w}: {e}") from None
    dest = suite_path.parent / "calls"
    dest.mkdir(exist_ok=True)
    turns = []
    for n, w in enumerate(wavs, 1):
        target = dest / f"{case_id}-{n}.wav"
        shutil.copyfile(w, target)
        turns.append({"wav": str(target.relative_to(suite_path.parent))})
    try:
        case = Case.model_validate({"id": case_id, "description": "imported historical call",
                                    "turns": turns, "expect": parse_expect(expect)})
        Suite.model_validate({**suite.model_dump(mode="json"),
                              "cases": [*suite.model_dump(mode="json")["cases"],
                                        case.model_dump(mode="json")]})
    except Exception as e:  # pydantic ValidationError: show it as an import error
        raise ImportError_(str(e)) from None
    raw = yaml.safe_load(suite_path.read_text(encoding="utf-8"))
    raw["cases"].append(case.model_dump(mode="json", exclude_defaults=True))
    text = suite_path.read_text(encoding="utf-8")
    comments = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    suite_path.write_text(comments + yaml.safe_dump(raw, sort_keys=False, width=110))
    return case
