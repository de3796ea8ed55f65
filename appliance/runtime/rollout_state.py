"""The rollout's live settings: a small state file under the data dir.

``[rollout]`` in the config is the starting point. ``appliance rollout set`` writes the whole
rollout to ``<data_dir>/rollout.json`` (atomically), and from then on that file wins over the
config; ``appliance rollout reset`` removes it. A running ``appliance serve`` re-reads the file
when it changes (checked every second) or on SIGHUP, without a restart; a file it cannot use is
logged and ignored (the last good settings stay in force). Every change is audited: by the CLI
(``rollout.changed``: OS user, old and new values) and by serve when it applies it
(``rollout.applied``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from appliance.config import ConfigError
from appliance.runtime.rollout import HourWindow, RolloutConfig

log = logging.getLogger(__name__)

STATE_FILE = "rollout.json"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RolloutStateError(ConfigError):
    """The state file or a requested change cannot be used; the message says why."""


@dataclass(frozen=True)
class RolloutSetting:
    config: RolloutConfig
    source: str  # "config" or the state file's path
    changed_by: str | None = None
    changed_at: str | None = None


def state_path(config: Any) -> Path:
    return config.data_path(STATE_FILE)


def read_state(path: Path) -> RolloutSetting | None:
    """The state file's settings; None when there is none. Raises RolloutStateError."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise RolloutStateError(f"{path}: unreadable ({type(e).__name__})") from None
    try:
        cfg = RolloutConfig.model_validate(raw["rollout"])
    except (KeyError, TypeError, ValidationError) as e:
        raise RolloutStateError(f"{path}: invalid rollout ({type(e).__name__})") from None
    return RolloutSetting(cfg, str(path), raw.get("changed_by"), raw.get("changed_at"))


def effective(config: Any) -> RolloutSetting:
    """What a serve started now would use: the state file if present, else ``[rollout]``."""
    return read_state(state_path(config)) or RolloutSetting(config.rollout, "config")


def write_state(path: Path, cfg: RolloutConfig, actor: str, at: str) -> None:
    """Atomically replace the state file (readers see the old or the new file, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = {"rollout": cfg.model_dump(mode="json"), "changed_by": actor, "changed_at": at}
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ---- parsing what an operator types ---------------------------------------------------------
def parse_share(text: str) -> float:
    """``0.25`` or ``25%``; 0..1."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise RolloutStateError(f"share {text!r}: use a number 0..1 or a percentage") from None
    if not 0.0 <= value <= 1.0:
        raise RolloutStateError(f"share {text!r} is outside 0..1 (0%..100%)")
    return value


def parse_hours(text: str) -> list[tuple[time, time]]:
    """``08:00-17:00`` or several, comma-separated (``08:00-12:00,13:00-17:00``); a window may
    wrap midnight (``22:00-06:00``)."""
    out = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*", part)
        if not m:
            raise RolloutStateError(f"hours {part.strip()!r}: use HH:MM-HH:MM")
        try:
            start, end = (time.fromisoformat(x.zfill(5)) for x in m.groups())
        except ValueError:
            raise RolloutStateError(f"hours {part.strip()!r}: not a time of day") from None
        if start == end:
            raise RolloutStateError(f"hours {part.strip()!r}: start and end are the same")
        out.append((start, end))
    return out


def parse_days(text: str) -> tuple[int, ...]:
    """``mon-fri``, ``sat,sun``, ``fri-mon`` (wraps), ``all``; 0 = Monday."""
    t = text.strip().lower()
    if t in ("all", "daily", "mon-sun"):
        return tuple(range(7))
    days: set[int] = set()
    for part in t.split(","):
        a, sep, b = part.strip().partition("-")
        try:
            i, j = DAYS.index(a[:3]), DAYS.index((b if sep else a)[:3])
        except ValueError:
            raise RolloutStateError(f"days {part.strip()!r}: use mon..sun, a-b or a,b") from None
        if len(a) < 3 or (sep and len(b) < 3):
            raise RolloutStateError(f"days {part.strip()!r}: use three-letter names")
        days.update((i + k) % 7 for k in range((j - i) % 7 + 1))
    return tuple(sorted(days))


def windows(hours: list[tuple[time, time]], days: tuple[int, ...]) -> tuple[HourWindow, ...]:
    try:
        return tuple(HourWindow(start=s, end=e, days=days) for s, e in hours)
    except ValidationError as e:
        raise RolloutStateError(e.errors()[0]["msg"]) from None


def describe(cfg: RolloutConfig) -> str:
    """One line for people (and logs: no call data here)."""
    if not cfg.enabled:
        return "disabled: every call goes to the human queue"
    share = f"{cfg.share * 100:g}% of eligible calls go to the agent"
    if not cfg.windows:
        return f"{share}, at all hours"
    spans = []
    for w in cfg.windows:
        days = ",".join(DAYS[d] for d in w.days) if len(w.days) < 7 else "every day"
        spans.append(f"{w.start:%H:%M}-{w.end:%H:%M} {days}")
    return f"{share}, only {'; '.join(spans)} ({cfg.timezone}); other times: human queue"


class RolloutWatcher:
    """Serve's view of the rollout: ``current`` is what routes calls; ``check()`` re-reads the
    state file when it changed (or always, ``force=True``, e.g. on SIGHUP)."""

    def __init__(self, config: Any,
                 on_change: Callable[[RolloutConfig, RolloutConfig], None] | None = None) -> None:
        self.path = state_path(config)
        self.base: RolloutConfig = config.rollout
        self.on_change = on_change
        self._sig = self._stat()
        self.current: RolloutConfig = self._load()  # a broken file fails start-up loudly
        if self._sig is not None:
            log.info("rollout from %s: %s", self.path.name, describe(self.current))

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _load(self) -> RolloutConfig:
        found = read_state(self.path)
        return found.config if found is not None else self.base

    def check(self, force: bool = False) -> bool:
        """Returns True when the settings in force changed."""
        sig = self._stat()
        if sig == self._sig and not force:
            return False
        self._sig = sig
        try:
            new = self._load()
        except RolloutStateError as e:
            log.error("rollout state file ignored, settings unchanged: %s", e)
            return False
        if new == self.current:
            return False
        old, self.current = self.current, new
        log.info("rollout changed: %s", describe(new))
        if self.on_change is not None:
            self.on_change(old, new)
        return True
