"""Helpers shared by several test modules.

:func:`assert_imports_no_training` is the runtime half of the rule "inference never imports training"
(the static half is the ``inference-no-training`` import-linter contract in ``pyproject.toml``): it runs
code in a fresh interpreter, so nothing this test process already imported can hide or fake an import,
and fails with the offending modules and the project lines that imported them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The training modules (each with its submodules): the forbidden list of the import-linter contract.
TRAINING_MODULES = (
    "singan_kit.architectures.lifecycle",
    "singan_kit.architectures.singan.train",
    "singan_kit.architectures.singan.fit",
    "singan_kit.architectures.consingan.train",
    "singan_kit.architectures.training_free",
    "singan_kit.apps.tuning",
    "singan_kit.batch.train_folder",
    "ganbase.zoo.training",
)

_MARKER = "@@imported-modules@@"

# Runs in the child: records who first imports each forbidden module, runs the code, reports as JSON.
_PROBE = r"""
import json, sys, traceback
forbidden = tuple(json.loads(sys.argv[1]))
root = sys.argv[2]
code = sys.argv[3]
sys.argv = ["-c", *sys.argv[4:]]

def is_forbidden(name):
    return any(name == f or name.startswith(f + ".") for f in forbidden)

importers = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if is_forbidden(name) and name not in importers:
            importers[name] = [f"{frame.filename[len(root) + 1:] if frame.filename.startswith(root) else frame.filename}"
                               f":{frame.lineno}" for frame in traceback.extract_stack()[:-1]
                               if frame.filename.startswith(root + "/") or frame.filename == "<checked code>"]
        return None

sys.meta_path.insert(0, Watch())
exec(compile(code, "<checked code>", "exec"), {"__name__": "__main__"})
found = sorted(m for m in sys.modules if is_forbidden(m))
print("@@imported-modules@@" + json.dumps({m: importers.get(m, []) for m in found}))
"""


def assert_imports_no_training(modules_or_code: str | Iterable[str], *argv: str,
                               also_forbidden: Iterable[str] = ()) -> None:
    """Fail if importing ``modules_or_code`` in a fresh interpreter loads a training module.

    ``modules_or_code`` is either a sequence of module names to import, or a string of Python code
    (which may read extra ``argv`` as ``sys.argv[1:]``, e.g. a run folder to load). ``also_forbidden``
    adds modules (with their submodules) that must not be loaded either, e.g. ``"matplotlib"``.
    """
    code = modules_or_code if isinstance(modules_or_code, str) else "import " + ", ".join(modules_or_code)
    forbidden = [*TRAINING_MODULES, *also_forbidden]
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(forbidden), str(ROOT), code, *map(str, argv)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, f"the code failed to run:\n{code}\n{result.stderr}"
    report = json.loads(result.stdout.rsplit(_MARKER, 1)[1])
    assert not report, f"{code!r} imported modules it must not: " + "; ".join(
        f"{module} (imported from {' <- '.join(reversed(stack)) or 'outside the project'})"
        for module, stack in report.items())
