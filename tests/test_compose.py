"""The shipped compose file: valid for Compose with .env.example as .env, TLS in front, the
proxy hops the app trusts matching the proxies in the chain, names resolved per request so
`--scale` works, and health checks on every long-running process."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from core.network import client_address
from tests import services

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "compose", "version"], capture_output=True)  # noqa: S603
    return [docker, "compose"] if probe.returncode == 0 else None


def test_compose_config_passes_with_the_example_env(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        message = "needs docker-compose (make deploy-tools installs Debian's)"
        if services.require_services():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    done = subprocess.run([*command, "config"], cwd=tmp_path, capture_output=True, text=True)  # noqa: S603
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    bot = resolved["services"]["bot"]["environment"]
    assert bot["QANAGAT_TELEGRAM_MODE"] == "webhook"
    assert bot["QANAGAT_TELEGRAM_WEBHOOK_SECRET"]
    assert bot["QANAGAT_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_compose_refuses_to_start_without_the_webhook_secret(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("needs docker-compose")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    env = (ROOT / ".env.example").read_text()
    (tmp_path / ".env").write_text(re.sub(r"(?m)^QANAGAT_TELEGRAM_WEBHOOK_SECRET=.*$", "", env))
    done = subprocess.run([*command, "config"], cwd=tmp_path, capture_output=True, text=True)  # noqa: S603
    assert done.returncode != 0
    assert "QANAGAT_TELEGRAM_WEBHOOK_SECRET" in done.stderr


def test_tls_is_terminated_in_front_and_only_it_is_published() -> None:
    published = {name for name, spec in SERVICES.items() if spec.get("ports")}
    assert published == {"tls"}
    assert {"80:80", "443:443"} <= set(SERVICES["tls"]["ports"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"^\{\$QANAGAT_PUBLIC_URL\} \{", caddyfile, re.M)
    assert "reverse_proxy proxy:80" in caddyfile


def test_the_trusted_hops_match_the_proxies_in_front() -> None:
    hops = int(COMPOSE["x-qanagat"]["environment"]["QANAGAT_TRUSTED_PROXY_HOPS"])
    chain = ["tls", "proxy"]  # Caddy, then nginx
    assert hops == len(chain)
    # Caddy replaces what the client claimed with its address; nginx appends Caddy's.
    client, caddy, nginx = "203.0.113.9", "172.18.0.7", "172.18.0.8"
    arriving = f"{client}, {caddy}"
    assert client_address(nginx, arriving, hops) == client
    # one hop fewer would take Caddy's address for every citizen: everyone behind one address
    assert client_address(nginx, arriving, hops - 1) == caddy
    # and nginx alone passes a client's claim on: never trusted as the client
    assert client_address(nginx, f"198.51.100.1, {client}, {caddy}", hops) == client


def test_nginx_resolves_the_services_at_request_time() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", conf, re.M)
    assert "upstream" not in re.sub(r"#.*", "", conf)
    targets = re.findall(r"proxy_pass\s+([^;]+);", conf)
    assert targets and all(target.startswith("$") for target in targets), targets
    assert "set $qanagat_web http://web:8080;" in conf
    assert "set $qanagat_bot http://bot:8081;" in conf
    assert re.search(r"location = /metrics \{\s*return 404;", conf)


def test_every_long_running_process_has_a_health_check() -> None:
    for name in ("web", "bot", "worker", "postgres", "redis"):
        assert "healthcheck" in SERVICES[name], name
    assert "8081/healthz" in " ".join(SERVICES["bot"]["healthcheck"]["test"])
    assert "8090/healthz" in " ".join(SERVICES["worker"]["healthcheck"]["test"])
    assert SERVICES["worker"]["environment"]["QANAGAT_WORKER_HOST"] == "0.0.0.0"  # noqa: S104


def test_the_image_is_built_with_the_commit() -> None:
    assert "QANAGAT_BUILD_COMMIT" in COMPOSE["x-qanagat"]["build"]["args"]
