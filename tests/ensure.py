"""Run one of the project's `scripts/ensure-*` scripts, which install a service's Debian package when missing (root)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ensure(script: str, error: type[Exception]) -> str:
    """The last line `scripts/<script>` printed (where the tool is); `error` with the script's stderr if it failed."""
    done = subprocess.run([str(ROOT / "scripts" / script)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise error(f"scripts/{script} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]
