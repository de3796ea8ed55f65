"""`appliance confirmations list|run-once`: states without personal data, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.cli import main
from appliance.runtime.outbound_store import OutboundJobs

KEY = "caldav:uid-7@voice-appliance:2027-03-03"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "appliance.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n'
                    f'credentials_dir = "{tmp_path / "creds"}"\n')
    jobs = OutboundJobs(tmp_path / "data" / "calls.sqlite3")
    jobs.ensure([(KEY, "uid-7@voice-appliance", "2027-03-03", "09:30"),
                 ("local:abc:2027-03-04", "abc", "2027-03-04", "10:00")], 1.0)
    jobs.claim(KEY, 2.0, 60)
    jobs.finish(KEY, 3.0, state="pending", next_attempt_at=1800.0, code=486, outcome="busy")
    jobs.close()
    return path


def test_list_shows_states_and_filters_by_date(config: Path, capsys) -> None:  # noqa: ANN001
    assert main(["confirmations", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert KEY in out and "local:abc:2027-03-04" in out and "totals: pending=2" in out
    line = next(ln for ln in out.splitlines() if ln.startswith(KEY))
    assert "09:30" in line and "486" in line and "busy" in line and " 1 " in line
    assert main(["confirmations", "list", "--config", str(config), "--date", "2027-03-04"]) == 0
    out = capsys.readouterr().out
    assert KEY not in out and "totals: pending=1" in out


def test_run_once_needs_a_readable_calendar(config: Path, capsys) -> None:  # noqa: ANN001
    # the embedded calendar lives in the serving process: nothing to read from the CLI
    assert main(["confirmations", "run-once", "--config", str(config),
                 "--now", "2027-03-02T10:00"]) == 2
    assert "appliance serve" in capsys.readouterr().out
