"""Scope boxes: the declarative workflow file schema and its loader.

A workflow file (YAML) says what the agent may do on a call: its intents (with example
utterances and keywords), the entities each intent needs and how they validate, the tools each
intent calls, escalation triggers, must-never rules, conversation rules and the prompts per
state. The code enforces all of it; nothing here is interpreted by an LLM.

Lookup: a site directory (``WorkflowConfig.directory``) is searched before the shipped files.
A site file may ``extends: <name>`` a shipped workflow and add or override intents, entities,
prompts and answers (mappings merge key by key; lists replace). Errors name the file, the path
inside it and what is wrong (:class:`WorkflowError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_NAME_RE = r"^[a-z][a-z0-9_]*$"
_TOOL_RE = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
COMMON_FILE = "_common.yaml"


class WorkflowError(Exception):
    """A workflow file that cannot be used. ``problems`` holds (file, path, message) tuples."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{f}: {p}: {m}" for f, p, m in problems))


class EntityType(StrEnum):
    name = "name"
    date = "date"
    time = "time"
    date_of_birth = "date_of_birth"
    phone = "phone"
    vocab = "vocab"
    reference = "reference"
    text = "text"


class MustNever(StrEnum):
    """Rules the policy enforces in code; a workflow lists the ones that apply to it."""

    medical_advice = "medical_advice"
    read_other_callers_data = "read_other_callers_data"
    confirm_unprovided_identity = "confirm_unprovided_identity"
    promise_unconfirmed = "promise_unconfirmed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntitySpec(_Strict):
    """How one entity is recognised, validated and spoken back.

    ``values`` (vocab only): canonical value -> synonyms. ``targets`` (vocab only): canonical
    value -> transfer target (SIP URI). ``patterns``: regexes with one group, tried on the
    caller's words (text/reference). ``punctuated_patterns`` (text): tried next, on the
    caller's text with its case and punctuation kept, so a comma can end a name ("a nail salon,
    Lotus Nails, and ..."). ``weak`` (vocab): synonyms that count only when no other synonym is
    said ("computer" in "the printer shows offline on everybody's computer").
    ``prefix`` (reference): normal form is prefix + digits.
    ``strict`` (phone): require a valid number, not only a possible one.
    """

    type: EntityType
    description: str = ""
    values: dict[str, list[str]] = Field(default_factory=dict)
    targets: dict[str, str] = Field(default_factory=dict)
    patterns: list[str] = Field(default_factory=list)
    punctuated_patterns: list[str] = Field(default_factory=list)
    weak: list[str] = Field(default_factory=list)
    prefix: str = ""
    min_digits: int = Field(3, ge=1, le=20)
    max_digits: int = Field(10, ge=1, le=20)
    strict: bool = True
    max_words: int = Field(30, ge=1, le=200)
    title_case: bool = Field(False, description="text: speak/store as a proper name")
    from_request: bool = Field(
        False,
        description="text: the utterance that starts an intent needing this slot may itself "
        "be the value (\"my printer keeps jamming\"), when it says more than generic words",
    )

    @model_validator(mode="after")
    def _check(self) -> EntitySpec:
        if self.type is EntityType.vocab and not self.values:
            raise ValueError("a vocab entity needs 'values' (canonical value -> synonyms)")
        if self.type is not EntityType.vocab and (self.values or self.targets):
            raise ValueError("'values'/'targets' are only for vocab entities")
        if self.from_request and self.type is not EntityType.text:
            raise ValueError("'from_request' is only for text entities")
        if self.weak and not set(self.weak) <= {s for syns in self.values.values() for s in syns}:
            raise ValueError("'weak' lists synonyms that are also in 'values'")
        unknown = set(self.targets) - set(self.values)
        if unknown:
            raise ValueError(f"targets for unknown values: {sorted(unknown)}")
        if self.punctuated_patterns and self.type is not EntityType.text:
            raise ValueError("'punctuated_patterns' are only for text entities")
        for p in [*self.patterns, *self.punctuated_patterns]:
            try:
                rx = re.compile(p)
            except re.error as e:
                raise ValueError(f"bad pattern {p!r}: {e}") from None
            if rx.groups != 1:
                raise ValueError(f"pattern {p!r} must have exactly one group")
        return self


IntentKind = Literal["tool", "transfer", "answer", "human", "emergency", "refuse"]


class IntentSpec(_Strict):
    """One allowed intent.

    ``kind``: ``tool`` fills ``slots`` (asked one at a time, in order), confirms ``confirm``
    fields, then calls ``tools`` in order; ``transfer`` routes (target from the vocab entity in
    ``slots`` or ``target``); ``answer`` says ``answer`` text; ``human``/``emergency``/``refuse``
    are the escalation and scope paths. ``after``: ``transfer`` hands over to ``target`` once the
    tool succeeded (leads), otherwise the agent asks whether there is anything else.
    """

    kind: IntentKind
    description: str = ""
    examples: list[str] = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    slots: list[str] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    confirm: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    target: str | None = None
    availability: str | None = Field(None, description="read-only tool offering free times")
    after: Literal["ask_more", "transfer"] = "ask_more"
    answer: str | None = None
    prompts: dict[str, str] = Field(default_factory=dict)

    @field_validator("tools")
    @classmethod
    def _tool_names(cls, v: list[str]) -> list[str]:
        for t in v:
            if not re.match(_TOOL_RE, t):
                raise ValueError(f"tool name {t!r} must look like 'service.action'")
        return v

    @model_validator(mode="after")
    def _check(self) -> IntentSpec:
        if self.kind == "tool" and not self.tools:
            raise ValueError("a 'tool' intent must list the tools it calls")
        if self.kind == "answer" and not self.answer:
            raise ValueError("an 'answer' intent needs 'answer' text")
        if not set(self.confirm) <= set(self.slots) | set(self.optional):
            raise ValueError("'confirm' may only name fields listed in slots/optional")
        if self.availability is not None and not re.match(_TOOL_RE, self.availability):
            raise ValueError(f"availability tool {self.availability!r} must be 'service.action'")
        if self.after == "transfer" and not self.target:
            raise ValueError("after: transfer needs a 'target'")
        return self


class EmergencySpec(_Strict):
    """Emergency phrases; ``action`` transfer = tell the caller to dial the emergency number
    and transfer to staff; ``instruct`` = tell them, then hang up so the line is free."""

    phrases: list[str] = Field(default_factory=list)
    action: Literal["transfer", "instruct"] = "transfer"


class EscalationSpec(_Strict):
    """``extra_*`` lists add to the shared defaults (a list in a workflow file replaces)."""

    human_words: list[str] = Field(default_factory=list)
    extra_human_words: list[str] = Field(default_factory=list)
    dtmf: str = Field("0", pattern=r"^[0-9*#]$")
    max_misunderstandings: int = Field(3, ge=1, le=10)
    anger_words: list[str] = Field(default_factory=list)
    extra_anger_words: list[str] = Field(default_factory=list)
    on_anger: Literal["transfer", "apologize"] = "transfer"
    out_of_scope_limit: int = Field(2, ge=1, le=10)
    emergency: EmergencySpec | None = None
    on_tool_failure: Literal["offer", "transfer"] = "offer"
    fallback_intent: str | None = Field(None, description="tool intent used to take a callback")
    medical_questions_to: str | None = Field(
        None,
        description="department (a value of the routing intent's vocab) that takes a medical "
        "question instead of a refusal; a department the caller names wins",
    )


class RulesSpec(_Strict):
    confirm_before_action: bool = True
    max_reply_words: int = Field(45, ge=5, le=200)
    min_confidence: float = Field(0.45, gt=0, lt=1)
    barge_in_accept_fraction: float = Field(0.9, gt=0, le=1)
    min_stt_confidence: float = Field(0.35, ge=0, lt=1)


class WorkflowSpec(_Strict):
    """One scope box. ``scope`` is the one-line summary used when refusing out-of-scope asks."""

    name: str = Field(pattern=_NAME_RE)
    description: str = ""
    scope: str
    intents: dict[str, IntentSpec]
    entities: dict[str, EntitySpec] = Field(default_factory=dict)
    escalation: EscalationSpec = Field(default_factory=EscalationSpec)
    must_never: list[MustNever] = Field(default_factory=list)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    prompts: dict[str, str] = Field(default_factory=dict)
    entity_prompts: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cross_check(self) -> WorkflowSpec:
        problems: list[str] = []
        for iname, intent in self.intents.items():
            if not re.match(_NAME_RE, iname):
                problems.append(f"intents.{iname}: name must match {_NAME_RE}")
            for field in (*intent.slots, *intent.optional):
                if field not in self.entities:
                    problems.append(f"intents.{iname}: unknown entity {field!r}")
                elif field in intent.slots and f"ask_{field}" not in self.entity_prompts:
                    problems.append(f"entity_prompts: missing 'ask_{field}' for {iname}")
            if intent.kind == "transfer" and not intent.target:
                vocab = [
                    s
                    for s in intent.slots
                    if self.entities.get(s, None) is not None
                    and self.entities[s].type is EntityType.vocab
                ]
                if not vocab:
                    problems.append(f"intents.{iname}: transfer needs 'target' or a vocab slot")
        for needed in ("out_of_scope", "speak_to_human"):
            if needed not in self.intents:
                problems.append(f"intents: every workflow needs '{needed}'")
        fb = self.escalation.fallback_intent
        if fb is not None and (fb not in self.intents or self.intents[fb].kind != "tool"):
            problems.append(f"escalation.fallback_intent: {fb!r} is not a tool intent")
        mq = self.escalation.medical_questions_to
        if mq is not None and not any(
            i.kind == "transfer" and mq in self.entities[s].values
            for i in self.intents.values()
            for s in i.slots
            if s in self.entities
        ):
            problems.append(f"escalation.medical_questions_to: {mq!r} is not a routing department")
        has_emergency = any(i.kind == "emergency" for i in self.intents.values())
        if has_emergency and (
            self.escalation.emergency is None or not self.escalation.emergency.phrases
        ):
            problems.append("escalation.emergency: an emergency intent needs emergency phrases")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def human_words(self) -> list[str]:
        return [*self.escalation.human_words, *self.escalation.extra_human_words]

    def anger_words(self) -> list[str]:
        return [*self.escalation.anger_words, *self.escalation.extra_anger_words]

    def required_tools(self) -> set[str]:
        return {t for i in self.intents.values() for t in i.tools}

    def prompt(self, key: str, intent: str | None = None) -> str:
        """The template for ``key``: the intent's own prompt first, then the workflow's."""
        if intent is not None and key in self.intents[intent].prompts:
            return self.intents[intent].prompts[key]
        if key in self.prompts:
            return self.prompts[key]
        if key in self.entity_prompts:
            return self.entity_prompts[key]
        raise KeyError(f"workflow {self.name}: no prompt {key!r}")


# ---------------------------------------------------------------- loading


def _shipped_dir() -> Path:
    return Path(str(resources.files("appliance") / "workflows"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise WorkflowError([(str(path), "(file)", f"cannot read: {e.strerror}")]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise WorkflowError([(str(path), where, f"invalid YAML: {e}")]) from None
    if not isinstance(raw, dict):
        raise WorkflowError([(str(path), "(top level)", "must be a mapping")])
    return raw


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _find(name: str, dirs: Iterable[Path]) -> Path | None:
    for d in dirs:
        p = d / f"{name}.yaml"
        if p.is_file():
            return p
    return None


def _resolve(name: str, dirs: list[Path], seen: tuple[Path, ...]) -> tuple[dict[str, Any], Path]:
    path = _find(name, dirs)
    if path is None:
        where = ", ".join(str(d) for d in dirs)
        raise WorkflowError([(f"{name}.yaml", "(file)", f"no workflow '{name}' in {where}")])
    raw = _read_yaml(path)
    parent = raw.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            raise WorkflowError([(str(path), "extends", "must be a workflow name")])
        # A site file may extend the shipped workflow of the same name.
        parent_dirs = [d for d in dirs if (d / f"{parent}.yaml") not in (path, *seen)]
        base, _ = _resolve(parent, parent_dirs, (*seen, path))
        raw = _merge(base, raw)
    return raw, path


def load_workflow_file(path: Path, search: list[Path] | None = None) -> WorkflowSpec:
    """Validate one file (``extends`` resolved against ``search`` and the shipped files)."""
    dirs = [*(search or []), _shipped_dir()]
    raw = _read_yaml(path)
    parent = raw.pop("extends", None)
    if isinstance(parent, str):
        base, _ = _resolve(parent, [d for d in dirs if d / f"{parent}.yaml" != path], (path,))
        raw = _merge(base, raw)
    return _validate(raw, path)


def _validate(raw: dict[str, Any], path: Path) -> WorkflowSpec:
    common = _read_yaml(_shipped_dir() / COMMON_FILE)
    raw = _merge(common, raw)
    try:
        return WorkflowSpec.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append((str(path), loc, msg))
        raise WorkflowError(problems) from None


def load_workflow(name: str, directory: Path | None = None) -> WorkflowSpec:
    """Load workflow ``name`` from the site ``directory`` (if any), else the shipped files."""
    dirs = ([Path(directory)] if directory is not None else []) + [_shipped_dir()]
    raw, path = _resolve(name, dirs, ())
    return _validate(raw, path)


def available_workflows(directory: Path | None = None) -> list[str]:
    dirs = ([Path(directory)] if directory is not None else []) + [_shipped_dir()]
    names = {p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(n for n in names if not n.startswith("_"))
