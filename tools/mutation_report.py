"""Print the last `make mutation` run's outcome per module: killed, survived, timeout, score.

Reads the result files mutmut 3 writes next to each mutated copy (mutants/src/**/*.py.meta).
The score is detected / (detected + survived), where detected is killed, timed out or caught
by the type checker; mutants no selected test covers ("no tests") are counted apart, as gaps,
and so are those a partial run (`make mutation MUTANTS=...`) has not reached ("not checked").
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

DETECTED = ("killed", "timeout", "caught by type check")
COLUMNS = ("killed", "timeout", "survived", "no tests", "not checked", "other")


def module_name(meta: Path, root: Path) -> str:
    relative = meta.relative_to(root).with_suffix("").with_suffix("")
    return ".".join(relative.parts)


def counts_by_module(root: Path) -> dict[str, Counter[str]]:
    result: dict[str, Counter[str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not exit_codes:
            continue
        counts: Counter[str] = Counter()
        for code in exit_codes.values():
            status = status_by_exit_code[code]
            if status == "caught by type check":
                status = "killed"
            counts[status if status in COLUMNS else "other"] += 1
        result[module_name(meta, root)] = counts
    return result


def score(counts: Counter[str]) -> str:
    detected = counts["killed"] + counts["timeout"]
    judged = detected + counts["survived"]
    return f"{100 * detected / judged:5.1f}%" if judged else "    -"


def main() -> int:
    root = Path("mutants/src")
    by_module = counts_by_module(root)
    if not by_module:
        print("No mutation results under mutants/: run `make mutation` first.")
        return 1
    width = max(len(name) for name in by_module)
    header = "".join(f"{c:>12}" for c in COLUMNS)
    print(f"{'module':<{width}}{header}{'score':>9}")
    total: Counter[str] = Counter()
    for name, counts in by_module.items():
        total += counts
        cells = "".join(f"{counts[c]:>12}" for c in COLUMNS)
        print(f"{name:<{width}}{cells}{score(counts):>9}")
    cells = "".join(f"{total[c]:>12}" for c in COLUMNS)
    print(f"{'total':<{width}}{cells}{score(total):>9}")
    print(
        "Surviving mutants: `.venv/bin/mutmut results`; one of them: `.venv/bin/mutmut show NAME`."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
