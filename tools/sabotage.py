"""The sabotage checks of issue 10's acceptance (`make sabotage`).

Each check breaks the code on purpose in a scratch copy of the committed tree (`git archive
HEAD`), runs the tests that must catch it, and says whether at least one of them failed. Every
line should say CAUGHT; the exit status is 1 when one is not (or its target code has moved).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".sabotage"


@dataclass(frozen=True)
class Sabotage:
    name: str
    #: (file, old text, new text): every old text must be found once in its file.
    edits: tuple[tuple[str, str, str], ...]
    tests: tuple[str, ...]


OVERLAP = "self.overlap = timedelta(seconds=account.overlap)"
CHECKS = (
    Sabotage(
        "MALL decoder drops tracking_number",
        (("src/orderhub/channels/mall/codec.py",
          'tracking_number=_text(payload.get("tracking_number"), "tracking_number")',
          "tracking_number=None"),),
        ("tests/test_sync_mall.py",),
    ),
    Sabotage(
        "CDON decoder drops billing_address",
        (("src/orderhub/channels/cdon/codec.py", "billing_address=billing,",
          "billing_address=None,"),),
        ("tests/test_sync_cdon.py",),
    ),
    Sabotage(
        "MALL status mapping: open and shipping swapped",
        (("src/orderhub/channels/mall/codec_history.py",
          '"open": Status.OPEN, "shipping": Status.SHIPPING,',
          '"open": Status.SHIPPING, "shipping": Status.OPEN,'),),
        ("tests/test_sync_mall.py",),
    ),
    Sabotage(
        "CS-Cart status letters: P and C swapped",
        (("src/orderhub/channels/cscart/codec.py", '"P": Status.OPEN,', '"P": Status.SHIPPED,'),
         ("src/orderhub/channels/cscart/codec.py", '"C": Status.SHIPPED,', '"C": Status.OPEN,')),
        ("tests/test_sync_cscart.py",),
    ),
    *(
        Sabotage(
            f"{channel} connector: overlap removed",
            ((f"src/orderhub/channels/{channel}/connector.py", OVERLAP,
              "self.overlap = timedelta(0)"),),
            (f"tests/test_sync_overlap_{channel}.py",),
        )
        for channel in ("mall", "dexero", "cdon")
    ),
    Sabotage(
        "cscart connector: overlap removed",
        (("src/orderhub/channels/cscart/connector.py", "self.overlap = int(account.overlap)",
          "self.overlap = 0"),),
        ("tests/test_sync_overlap_cscart.py",),
    ),
    Sabotage(
        "outbox lease never expires",
        (("src/orderhub/store/repository.py",
          "return or_(lease_until.is_(None), lease_until < at)",
          "return lease_until.is_(None)"),),
        ("tests/test_outbox_lease.py", "tests/test_mail.py"),
    ),
    Sabotage(
        "a sync overwrites what the hub owns (the CS-Cart tracking loss)",
        # Both layers apply ownership (the merge in Python, the upsert in SQL against races).
        (("src/orderhub/store/orders.py",
          "keep = _IDENTITY | set(fields_owned(channel_type, Owner.HUB))",
          "keep = set(_IDENTITY)"),
         ("src/orderhub/domain/ownership.py", "kept[name] = ours", "pass")),
        ("tests/test_field_ownership.py",),
    ),
)  # fmt: skip


def committed_tree(into: Path) -> None:
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def apply(tree: Path, sabotage: Sabotage) -> None:
    for name, old, new in sabotage.edits:
        path = tree / name
        text = path.read_text()
        if text.count(old) != 1:
            raise LookupError(f"{name}: the code this sabotage breaks has moved: {old!r}")
        path.write_text(text.replace(old, new))


def run(sabotage: Sabotage) -> bool:
    """True when at least one of its tests failed."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        committed_tree(tree)
        apply(tree, sabotage)
        log = LOGS / (sabotage.name.replace(" ", "-").replace(":", "") + ".log")
        with log.open("w") as out:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 *sabotage.tests],
                cwd=tree, env={**os.environ, "PYTHONPATH": str(tree / "src")}, stdout=out,
                stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
        failed = [line for line in log.read_text().splitlines() if line.startswith("FAILED")]
        caught = result.returncode == 1 and bool(failed)
        print(
            f"{sabotage.name}: "
            + (f"CAUGHT by {failed[0][7:]}" if caught else f"NOT CAUGHT ({log})")
        )
        return caught


def main() -> int:
    LOGS.mkdir(exist_ok=True)
    results = [run(s) for s in CHECKS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
