"""The built image, smoke-tested from outside (issue 27): `make image-test` builds it and runs these tests with
MLPATH_TEST_IMAGE naming it. `make test` builds no image, so without that variable every test here is skipped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("MLPATH_TEST_IMAGE", "")


class Engine:
    """docker or podman (scripts/container-engine), running the image under test."""

    def __init__(self, name: str, image: str) -> None:
        self.name = name
        self.image = image

    def run(self, *args: str, env: dict[str, str] | None = None, volume: Path | None = None,
            entrypoint: str | None = None, network: str = "none", timeout: float = 600,
            name: str | None = None) -> subprocess.CompletedProcess[str]:
        """`run --rm` (with `name`: detached, `-d`, removed with `rm -f NAME`)."""
        cmd = [self.name, "run", "--network", network]
        cmd += ["-d", "--name", name] if name else ["--rm"]
        for key, value in (env or {}).items():
            cmd += ["-e", f"{key}={value}"]
        if volume is not None:
            cmd += ["-v", f"{volume}:/data"]
        if entrypoint is not None:
            cmd += ["--entrypoint", entrypoint]
        return subprocess.run([*cmd, self.image, *args], capture_output=True, text=True, timeout=timeout)

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.name, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def engine() -> Engine:
    if not IMAGE:
        pytest.skip("the image tests run from `make image-test` (MLPATH_TEST_IMAGE names the built image)")
    name = subprocess.run([str(ROOT / "scripts" / "container-engine")], capture_output=True, text=True)
    if name.returncode != 0:
        pytest.skip(name.stderr.strip())
    return Engine(name.stdout.strip(), IMAGE)


@pytest.fixture(scope="session")
def data_volume(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the bundled curriculum ingested inside the image (uid 10001 writes it)."""
    folder = tmp_path_factory.mktemp("image-data")
    folder.chmod(0o777)
    done = engine.run("ingest", "--json", volume=folder)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder
