"""Hostile input in CI: schemathesis against /openapi.json of a real `orderhub serve`.

Every check (negative_data_rejection and ignored_auth included, and the response checks:
status_code_conformance, content_type_conformance, response_schema_conformance and
response_headers_conformance, which tests/openapi_conformance.py also runs on every answer the
rest of the suite gets) and every phase (examples,
coverage, fuzzing, stateful), deterministic generation (no seed, no randomness: the same cases
every run), at most MAX_EXAMPLES cases per operation; the run must find nothing. Hooks and
configuration: tests/schemathesis_hooks.py and tests/schemathesis.toml (each says why).
NUL is left out of generated strings (positive cases would carry it into free-text filters,
which refuse it); tests/test_hostile_input.py sends NUL in every kind of input by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from helpers import api_key
from test_hostile_input import orderhub_serve

TESTS = Path(__file__).parent
MAX_EXAMPLES = 20
CASES = re.compile(r"^\s*(\d+) generated, (.*)$", re.MULTILINE)


def _seed_orders(database_url: str) -> None:
    """Realistic orders (every channel type, lines, addresses) for the answers to be checked."""
    command = [str(_bin("orderhub")), "generate", "--orders", "40", "--workers", "1"]
    env = {**os.environ, "ORDERHUB_DATABASE_URL": database_url}
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)


def _bin(name: str) -> Path:
    return Path(sys.executable).with_name(name)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_schemathesis_finds_nothing(
    database_url: str, engine: Engine, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    _seed_orders(database_url)
    key = api_key(engine)
    # Webhook URLs are generated: let them be private so no name is ever looked up in DNS.
    with orderhub_serve(database_url, tmp_path, ORDERHUB_WEBHOOKS_ALLOW_PRIVATE="1") as port:
        command = [
            str(_bin("schemathesis")),
            "--config-file",
            str(TESTS / "schemathesis.toml"),
            "run",
            f"http://127.0.0.1:{port}/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--generation-deterministic",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--generation-allow-x00",
            "false",
            "--workers",
            "1",
            "--no-color",
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
            "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        }
        run = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400
        )
    found = CASES.search(run.stdout)
    assert found is not None, run.stdout[-3000:] + run.stderr[-3000:]
    cases = int(found[1])
    record_property("schemathesis_cases", cases)
    print(f"schemathesis: {cases} cases, {found[2]}")
    assert run.returncode == 0, run.stdout[-20000:]
    assert found[2].startswith(f"{cases} passed"), found[0]
    assert cases >= 16 * 10, f"too few cases to mean anything: {found[0]}"
