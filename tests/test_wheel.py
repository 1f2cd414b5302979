"""The built wheel is the product: it holds every file of the package, installs into a clean
virtualenv (its dependencies from the package registry), and `orderhub demo` runs from it."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from helpers import free_port
from service_support import Service, clean_env

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "orderhub"
KEY = re.compile(r"ohk_[A-Za-z0-9_-]+")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build --wheel` of a copy of the source (the work tree is left as it was)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [found] = (work / "dist").glob("orderhub-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with nothing but the wheel and what it depends on."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True, timeout=300)
    # pip keeps its usual cache, so the next run does not download the dependencies again.
    installed = subprocess.run(
        [str(home / "bin" / "pip"), "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
        env=clean_env(),
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return home


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    in_source = {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {name for name in archive.namelist() if name.startswith("orderhub/")}
    assert in_source - in_wheel == set()  # migrations, templates, py.typed: package-data
    assert any(name.startswith("orderhub/store/migrations/versions/") for name in in_wheel)
    assert any(name.endswith(".j2") for name in in_wheel)


def test_the_installed_wheel_runs_the_demo(venv: Path, tmp_path: Path) -> None:
    orderhub = venv / "bin" / "orderhub"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import orderhub; print(orderhub.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        check=True,
    )
    assert where.stdout.startswith(str(venv))  # not the source tree
    helped = subprocess.run(
        [str(orderhub), "demo", "--help"], capture_output=True, text=True, env=clean_env()
    )
    assert helped.returncode == 0, helped.stderr
    assert "--port" in helped.stdout

    port = free_port()
    env = clean_env(
        ORDERHUB_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    demo = Service(
        [str(orderhub), "demo", "--port", str(port), "--orders", "40"], cwd=tmp_path, env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        demo.wait_ready(base)
        [key, *_] = KEY.findall(demo.output)
        listed = httpx.get(f"{base}/v1/orders", headers={"Authorization": f"Bearer {key}"})
        assert listed.status_code == 200, listed.text
        assert listed.json()["paging"]["total"] > 0  # the first sync brought orders in
    finally:
        code = demo.stop(signal.SIGINT)
    assert code == 0, demo.output
    assert demo.leftovers == [], demo.output  # the sandboxes and the worker stopped with it
    assert "stopping" in demo.output
