"""Prints a check.php run (JSON lines) for a person: each failed call with its distinct problems."""

import json
import sys


def main(version: str, path: str) -> None:
    with open(path, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.startswith("{")]
    calls = [row for row in rows if "call" in row and row["call"] != "load client classes"]
    failed = [row for row in calls if not row["ok"]]
    print(f"== {version}: {len(calls) - len(failed)}/{len(calls)} calls ok")
    for row in failed:
        print(f"  FAIL {row['call']}")
        for problem in row.get("errors") or [row.get("error")]:
            if problem:
                print(f"       error: {problem[:300]}")
        for warning in row["warnings"]:
            print(f"       {warning}")
    if not any("summary" in row for row in rows):
        print("  (check.php stopped before its summary: see the .stderr file)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
