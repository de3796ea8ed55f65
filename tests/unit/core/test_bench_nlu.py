"""`appliance bench nlu` prints per-workflow accuracy from the labelled sets."""

from __future__ import annotations

from pathlib import Path

from appliance.cli import main


def test_bench_nlu_prints_accuracy_per_workflow(capsys) -> None:  # noqa: ANN001
    assert main(["bench", "nlu", "--embeddings", "off", "--workflow", "reception",
                 "--workflow", "leads"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "embeddings: off" and lines[1].split()[-2:] == ["build", "ms"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"reception", "leads"}
    assert int(rows["reception"][1]) >= 40  # utterances in the development set
    assert float(rows["reception"][2].rstrip("%")) >= 95.0
    assert len(rows["leads"]) == 11  # ... asked, conf.err, p50 ms, p95 ms, build ms


def test_bench_nlu_missing_data_is_a_clear_error(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["bench", "nlu", "--data", str(tmp_path / "none")]) == 2
    assert "no labelled sets" in capsys.readouterr().out


def test_bench_nlu_errors_lists_each_miss(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "support.yaml").write_text(
        '- {text: "my printer is jammed", intent: report_problem, entities: {category: printer}}\n'
        '- {text: "my printer is jammed", intent: check_ticket_status}\n'
    )
    assert main(["bench", "nlu", "--embeddings", "off", "--workflow", "support",
                 "--data", str(tmp_path), "--errors"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].split()[:3] == ["support", "2", "50.0%"]
    assert out[3].strip().startswith("intent 'my printer is jammed': want check_ticket_status")
    assert len(out) == 4
