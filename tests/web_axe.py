"""axe-core in the browser tests: its axe.min.js fetched from the npm registry (`npm pack`)
once and cached in .cache/npm/, injected into a page as a local script (the page itself loads
nothing from anywhere but the hub), and its WCAG 2 A/AA verdicts read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: axe-core, pinned: the rules (and so the verdicts) change between versions.
AXE_VERSION = "4.11.0"
AXE_CACHE = ROOT / ".cache" / "npm"
#: What the accessibility check fails on (axe's impact levels).
FAILING_IMPACTS = ("serious", "critical")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def fetch_axe(version: str = AXE_VERSION, cache: Path = AXE_CACHE) -> Path:
    """axe.min.js of axe-core `version` from the npm registry (`npm pack`), kept in `cache` and
    reused; the file is moved in whole, so parallel test processes never read half of it."""
    target = cache / f"axe-core-{version}" / "axe.min.js"
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (apt-get install npm)")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as work:
        packed = subprocess.run(
            [npm, "pack", f"axe-core@{version}", "--pack-destination", work, "--silent"],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if packed.returncode != 0:
            raise RuntimeError(f"npm pack axe-core@{version} failed: {packed.stderr.strip()}")
        with tarfile.open(Path(work) / packed.stdout.strip().splitlines()[-1]) as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            staged = Path(work) / "axe.min.js"
            staged.write_bytes(member.read())
        target.parent.mkdir(exist_ok=True)
        os.replace(staged, target)
    return target


def axe_violations(page: Any, script: Path) -> list[dict[str, Any]]:
    """axe's violations of WCAG 2 A/AA on the page as it is now, serious or critical only."""
    page.add_script_tag(path=str(script))
    result = page.evaluate(
        "tags => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """Each violation's id, help and target nodes, one block each."""
    lines: list[str] = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines += [
            f"    {node['target']}: {node.get('failureSummary', '')}" for node in violation["nodes"]
        ]
    return "\n".join(lines)
