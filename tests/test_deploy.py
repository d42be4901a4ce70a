"""The deployment files: `docker compose config` on docker-compose.yml with a filled .env (the compose client
parses and resolves the file; no Docker engine runs here), .env.example against Settings, the Dockerfile."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlpath.settings import _ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"bot", "scheduler", "chroma", "postgres", "ingest", "migrate"}


def compose_client() -> list[str] | None:
    """`docker compose` (v2 plugin) or the standalone `docker-compose`, whichever this machine has."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def project(tmp_path: Path, env_text: str) -> Path:
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".env").write_text(env_text)
    return tmp_path


def compose_config(folder: Path) -> subprocess.CompletedProcess:
    client = compose_client()
    if client is None:
        pytest.skip("no compose client (`docker compose` or `docker-compose`) on this machine")
    return subprocess.run([*client, "config"], cwd=folder, capture_output=True, text=True, timeout=60)


@pytest.mark.subprocess
def test_docker_compose_config_resolves_the_stack_from_a_filled_env(tmp_path):
    env = (ROOT / ".env.example").read_text().replace("change-me-to-a-long-random-password", "Str0ngPassw0rd")
    done = compose_config(project(tmp_path, env))
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == SERVICES
    assert set(config["volumes"]) == {"pg-data", "chroma-data", "mlpath-data"}

    bot, scheduler = services["bot"], services["scheduler"]
    assert bot["command"] == ["serve"] and scheduler["command"] == ["scheduler"]
    assert services["migrate"]["command"] == ["db", "upgrade"] and services["ingest"]["command"] == ["ingest"]
    for one_shot in ("migrate", "ingest"):
        assert services[one_shot]["restart"] == "no"
    # migrations before the bot and the scheduler; the bot waits for the ingest job too
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert bot["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
    assert scheduler["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["ingest"]["depends_on"]["chroma"]["condition"] == "service_healthy"
    for name in ("bot", "scheduler", "chroma", "postgres"):
        assert services[name]["healthcheck"]["test"], name
    assert "9100/healthz" in " ".join(bot["healthcheck"]["test"])

    # configuration from .env, with the wiring between the services
    for name in ("bot", "scheduler", "migrate", "ingest"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"] == "postgresql+psycopg://mlpath:Str0ngPassw0rd@postgres:5432/mlpath"
        assert environment["CHROMA_URL"] == "http://chroma:8000" and environment["MLPATH_DATA_DIR"] == "/data"
        assert environment["SLACK_BOT_TOKEN"] == "xoxb-your-bot-token"
    assert bot["environment"]["METRICS_PORT"] == "9100"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "Str0ngPassw0rd"
    assert any(str(v).startswith("pg-data:/var/lib/postgresql/data") for v in services["postgres"]["volumes"]) \
        or any(isinstance(v, dict) and v.get("source") == "pg-data" for v in services["postgres"]["volumes"])
    assert re.fullmatch(r"chromadb/chroma:\d+\.\d+\.\d+", services["chroma"]["image"])


def test_the_compose_file_itself_has_the_stack_even_without_a_compose_client():
    """The same structure read straight from the YAML (anchors and merge keys resolved by PyYAML), so a machine
    without a compose client still checks it."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == SERVICES
    for name in ("bot", "scheduler", "migrate", "ingest"):
        assert services[name]["build"] == "." and services[name]["env_file"] == ".env", name
        assert services[name]["environment"]["CHROMA_URL"] == "http://chroma:8000", name
        assert "@postgres:5432/" in services[name]["environment"]["DATABASE_URL"], name
    assert services["bot"]["depends_on"]["ingest"] == {"condition": "service_completed_successfully"}
    assert services["bot"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["scheduler"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    for name in ("bot", "scheduler", "chroma", "postgres"):
        assert services[name]["healthcheck"]["test"], name
    assert services["bot"]["environment"]["METRICS_PORT"] == services["scheduler"]["environment"]["METRICS_PORT"]


@pytest.mark.subprocess
def test_compose_refuses_to_start_without_a_database_password(tmp_path):
    env = "\n".join(line for line in (ROOT / ".env.example").read_text().splitlines()
                    if not line.startswith("POSTGRES_PASSWORD="))
    done = compose_config(project(tmp_path, env))
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in .env" in done.stderr


def test_the_chroma_image_matches_the_client_version_in_the_package():
    from importlib.metadata import version

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["chroma"]["image"] == f"chromadb/chroma:{version('chromadb')}"


def test_env_example_lists_every_setting_with_a_comment_and_valid_examples(tmp_path):
    lines = (ROOT / ".env.example").read_text().splitlines()
    assignment = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")
    documented: dict[str, str] = {}
    for i, line in enumerate(lines):
        match = assignment.match(line)
        if match:
            assert i > 0 and lines[i - 1].startswith("# ") and not assignment.match(lines[i - 1]), \
                f"{match.group(1)} has no comment line above it"
            documented[match.group(1)] = match.group(2)
    missing = set(_ENV_NAMES.values()) - set(documented)
    assert not missing, f"settings missing from .env.example: {sorted(missing)}"
    assert "MLPATH_DEBUG" in documented

    # every example value is valid: with all lines uncommented Settings accepts the file
    uncommented = tmp_path / "all.env"
    uncommented.write_text("\n".join(f"{k}={v}" for k, v in documented.items()) + "\n")
    settings = Settings(_env_file=str(uncommented))  # type: ignore[call-arg]
    assert settings.log_format == "text" and settings.metrics_port == 9100 and settings.port == 3000
    assert settings.chroma_url == "http://localhost:8000" and settings.database.startswith("postgresql+psycopg://")


def test_dockerfile_is_slim_cpu_only_offline_and_not_root():
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, flags=re.M)
    # an empty default for the optional wheel folder, the builder, the runtime: both on the slim base
    assert froms == [("scratch", "wheels"), ("python:3.11-slim", "build"), ("python:3.11-slim", "")]
    pinned = re.search(r'"torch==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned and f"pip install torch=={pinned.group(1)} --index-url https://download.pytorch.org/whl/cpu" in text
    assert "HF_HUB_OFFLINE=1" in text and "TRANSFORMERS_OFFLINE=1" in text
    users = re.findall(r"^USER (\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    builder, runtime = text.split("\nFROM python:3.11-slim\n")
    # the builder exports the model once and takes torch out; the runtime gets the exported model, no torch, and
    # proves at build time, as its own user, that it embeds through ONNX Runtime without importing torch
    assert "Embedder()" in builder and "pip uninstall -y torch" in builder
    assert "pip install" not in runtime and "assert 'torch' not in sys.modules" in runtime
    assert runtime.index("USER mlpath") < runtime.index("backend='onnx')")
    assert re.search(r'^ENTRYPOINT \["mlpath"\]', text, flags=re.M)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".venv" in ignored and "data" in ignored
