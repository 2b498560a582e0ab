"""A non-editable install carries what the code reads at run time: prompts, templates, policies, migrations."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_wheel_ships_prompts_templates_policies_and_migrations(tmp_path: Path) -> None:
    src = tmp_path / "src"  # a copy, so the build leaves nothing in the working tree
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "out", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("xiaoer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = {f"prompts/{role}.{loc}.md" for role in ("planner", "reporter", "chat") for loc in ("en", "zh-CN")}
    needed |= {"agent/templates/report.html.j2", "agent/templates/report.md.j2", "policies/default.yaml",
               "agent/service/templates/page.html.j2", "xiaoer_cli.py"}
    revisions = {f"agent/migrations/versions/{f.name}" for f in (ROOT / "agent/migrations/versions").glob("*.py")}
    assert len(revisions) > 1  # __init__.py and at least the baseline
    needed |= revisions | {"agent/migrations/env.py", "agent/migrations/script.py.mako"}  # init_db migrates with these
    assert needed <= names, sorted(needed - names)
