"""`appliance doctor`: pre-flight checks of an installed appliance.

Import :func:`register_check` to add a check; the built-in ones live in
:mod:`appliance.doctor.checks` and are registered when this package is imported.
"""

from appliance.doctor import checks as _builtin_checks  # noqa: F401  (registers built-ins)
from appliance.doctor.registry import (
    CHECKS,
    CREDENTIAL_REQUIREMENTS,
    Check,
    CheckResult,
    DoctorContext,
    exit_code,
    register_check,
    register_credential_requirement,
    run_checks,
)

__all__ = [
    "CHECKS",
    "CREDENTIAL_REQUIREMENTS",
    "Check",
    "CheckResult",
    "DoctorContext",
    "exit_code",
    "register_check",
    "register_credential_requirement",
    "run_checks",
]
