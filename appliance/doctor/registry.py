"""Doctor check registry: small functions returning :class:`CheckResult`, run in order.

Other parts of the appliance add checks without editing this package::

    from appliance.doctor import CheckResult, DoctorContext, register_check

    @register_check
    def pbx_reachable(ctx: DoctorContext) -> CheckResult:
        return CheckResult("pbx", ok=True, detail="registered")

A check returns one result or several; an exception inside a check becomes a FAIL line.
Only failures with severity ``error`` make ``appliance doctor`` exit non-zero; severity
``warning`` prints ``WARN`` (e.g. clock sync state unknown inside a container).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from appliance.config import ApplianceConfig
    from appliance.models import ModelRegistry

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""
    severity: Severity = "error"

    @property
    def failed(self) -> bool:
        """A failure that counts: not ok and severity ``error``."""
        return not self.ok and self.severity == "error"

    def line(self) -> str:
        tag = "OK" if self.ok else ("FAIL" if self.severity == "error" else "WARN")
        return f"{tag} {self.name}" + (f": {self.detail}" if self.detail else "")


class DoctorContext:
    """What checks look at: the config, thresholds, and a lazily built model registry."""

    def __init__(self, config: ApplianceConfig, *, min_free_mb: int = 1024) -> None:
        self.config = config
        self.min_free_mb = min_free_mb

    @functools.cached_property
    def registry(self) -> ModelRegistry:
        from appliance.models import ModelRegistry

        return ModelRegistry.from_config(self.config)


Check = Callable[[DoctorContext], "CheckResult | Iterable[CheckResult]"]
CHECKS: list[Check] = []

CredentialRequirement = Callable[["ApplianceConfig"], Iterable[tuple[str, str]]]
"""Returns (credential file name, why it is needed) pairs for the given config."""
CREDENTIAL_REQUIREMENTS: list[CredentialRequirement] = []


def register_check(fn: Check) -> Check:
    """Append ``fn`` to :data:`CHECKS` (idempotent); usable as a decorator."""
    if fn not in CHECKS:
        CHECKS.append(fn)
    return fn


def register_credential_requirement(fn: CredentialRequirement) -> CredentialRequirement:
    """Add a provider of required credential files to the ``credentials`` check."""
    if fn not in CREDENTIAL_REQUIREMENTS:
        CREDENTIAL_REQUIREMENTS.append(fn)
    return fn


def run_checks(ctx: DoctorContext, checks: Iterable[Check] | None = None) -> list[CheckResult]:
    results: list[CheckResult] = []
    for check in list(CHECKS if checks is None else checks):
        name = getattr(check, "__name__", repr(check)).replace("check_", "")
        try:
            out = check(ctx)
        except Exception as e:  # a broken check must not hide the others
            results.append(CheckResult(name, False, f"check crashed: {type(e).__name__}: {e}"))
            continue
        results.extend([out] if isinstance(out, CheckResult) else list(out))
    return results


def exit_code(results: Iterable[CheckResult]) -> int:
    return 1 if any(r.failed for r in results) else 0
