"""QA suite files: YAML test cases per workflow, validated with pydantic (clear errors).

A suite names its workflow and lists cases. A case is one real test call: caller turns (text
spoken by espeak-ng with a caller voice, a WAV file, DTMF digits or a pause), what the
appliance should do (intent, entities, tool outcome, handoff, escalation reason), the audio /
behaviour variations applied to the call and an optional injected tool failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ToolResultKind = Literal["success", "queued", "failed", "not_found", "alternatives", "none"]
Handoff = Literal["none", "transfer", "callback", "hangup"]
Fault = Literal["calendar_unavailable", "crm_down", "helpdesk_429", "helpdesk_500"]
ANY = "*"  # an expected entity value that only has to be present


class SuiteError(Exception):
    """A suite file that cannot be used; the message names the file, case and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Turn(_Strict):
    """Exactly one of ``say`` (text), ``wav`` (file), ``dtmf`` (digits) or ``pause`` (s)."""

    say: str | None = None
    wav: Path | None = None
    dtmf: str | None = Field(None, pattern=r"^[0-9*#]+$")
    pause: float | None = Field(None, gt=0, le=30)

    @model_validator(mode="after")
    def _one(self) -> Turn:
        given = [k for k in ("say", "wav", "dtmf", "pause") if getattr(self, k) is not None]
        if len(given) != 1:
            got = given or "none"
            raise ValueError(f"a turn needs exactly one of say/wav/dtmf/pause, got {got}")
        return self


class ToolExpect(_Strict):
    """``result``: what the caller must be told about the tool (success only if confirmed)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
    result: ToolResultKind = "success"


class Expect(_Strict):
    intent: str | None = None
    entities: dict[str, str] = Field(default_factory=dict)
    tool: ToolExpect | None = None
    handoff: Handoff = "none"
    escalation_reason: str | None = None


class Case(_Strict):
    """``answers``: a goal-directed caller. After the scripted ``turns``, the caller answers
    what the agent asks: a slot name (``phone``, ``time`` ...) when asked for it, ``confirm``
    when asked to confirm, ``anything_else`` when asked if there is anything else."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    turns: list[Turn] = Field(min_length=1)
    answers: dict[str, str] = Field(default_factory=dict)
    expect: Expect
    variations: list[str] = Field(default_factory=list)
    fault: Fault | None = None
    voice: str | None = None


class Suite(_Strict):
    workflow: str
    voice: str = "en-us+f2"
    words_per_minute: int = Field(140, ge=80, le=260, description="espeak-ng speaking rate")
    caller_repeats: bool = Field(
        True, description="the caller repeats a turn once when the agent asks again"
    )
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Suite:
        ids = [c.id for c in self.cases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate case ids: {dupes}")
        return self


def load_suite(path: Path) -> Suite:
    """Read and validate a suite; WAV paths are resolved relative to the suite file."""
    from appliance.qa.variations import check_names

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise SuiteError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise SuiteError(f"{path}: invalid YAML: {e}") from None
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = _where(raw, err["loc"])
            lines.append(f"{path}: {loc}: {err['msg'].removeprefix('Value error, ')}")
        raise SuiteError("\n".join(lines)) from None
    problems = []
    for case in suite.cases:
        try:
            check_names(case.variations)
        except ValueError as e:
            problems.append(f"{path}: case {case.id}: variations: {e}")
        for t in case.turns:
            if t.wav is not None and not (Path(path).parent / t.wav).is_file():
                problems.append(f"{path}: case {case.id}: wav {t.wav} not found")
    if problems:
        raise SuiteError("\n".join(problems))
    return suite


def _where(raw: object, loc: tuple[object, ...]) -> str:
    """``cases[3] (id rec-07).expect.handoff`` rather than ``cases.3.expect.handoff``."""
    out = []
    node = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if part < len(node) else None
            cid = item.get("id") if isinstance(item, dict) else None
            out[-1] += f"[{part}]" + (f" (id {cid})" if cid else "")
            node = node[part] if part < len(node) else None
        else:
            out.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out) or "(top level)"


def dump_case(case: Case) -> str:
    """One case as YAML (for `appliance qa import`)."""
    data = case.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump([data], sort_keys=False, allow_unicode=True)
