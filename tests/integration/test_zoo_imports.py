"""What importing the zoo loads (fresh interpreters): the data side loads no model modules, the
``ganzoo`` CLI and loading a run folder load no trainer, and the zoo never loads singan_kit."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded(code: str, prefix: str) -> list[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(m for m in sys.modules if m.startswith({prefix!r}))))"
    return subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                          text=True).stdout.split()


def test_data_loads_no_model():
    modules = loaded("import ganbase.zoo.data.datasets", "ganbase.zoo.models")
    assert modules == ["ganbase.zoo.models", "ganbase.zoo.models.base", "ganbase.zoo.models.registry"]


@pytest.mark.parametrize("code, allowed", [
    ("import cli.ganzoo", ["ganbase.zoo.training", "ganbase.zoo.training.config"]),  # settings for --help
    ("from ganbase.zoo.inference.runs import load_model; from ganbase.zoo.models import model_names; model_names()",
     []),
])
def test_no_trainer(code, allowed):
    assert loaded(code, "ganbase.zoo.training") == allowed


def test_zoo_loads_no_singan_kit():
    assert loaded("import ganbase.zoo.api; from ganbase.zoo.models import model_names; model_names()",
                  "singan_kit") == []
