"""docker/compose.yml: valid Compose, production-shaped, every EJ_* variable a real setting."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from cases.dossiers.settings import DossierSettings
from corps.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
SCHEMA = Path(__file__).parent / "compose-spec" / "compose-spec.json"
# Variables read by something other than the settings, and who reads them.
NOT_SETTINGS = {"EJ_ADMIN_EMAIL": "corps init --admin-email"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


def setting_names() -> set[str]:
    fields = set(Settings.model_fields) | set(DossierSettings.model_fields)
    return {f"EJ_{name.upper()}" for name in fields}


def test_compose_file_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    validator.validate(compose())
    broken = compose()
    broken["services"]["api"]["healthcheck"]["interval"] = {"every": 30}
    assert not validator.is_valid(broken)  # the schema does check what it is given
    assert (SCHEMA.parent / "LICENSE").read_text().lstrip().startswith("Apache License")


def test_every_ej_variable_is_a_setting() -> None:
    used: set[str] = set()
    for service in compose()["services"].values():
        environment = service.get("environment", {})
        used |= {name for name in environment if name.startswith("EJ_")}
    dockerfile = (DOCKER / "Dockerfile").read_text()
    used |= set(re.findall(r"\b(EJ_[A-Z_]+)=", dockerfile))
    example = (DOCKER / "ejcorps.env.example").read_text()
    used |= set(re.findall(r"^(EJ_[A-Z_]+)=", example, re.MULTILINE)) - set(NOT_SETTINGS)
    assert "EJ_DATABASE_URL" in used and "EJ_SECRET_KEY" in used
    unknown = used - setting_names()
    assert not unknown, f"not settings: {sorted(unknown)}"


def test_production_shape() -> None:
    services = compose()["services"]
    assert services["init"]["command"][:2] == ["corps", "init"]
    for name, service in services.items():
        command = " ".join(service.get("command", []))
        if "seed-demo" in command:
            assert service.get("profiles") == ["demo"], name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
        for key, value in service.get("environment", {}).items():
            assert not re.search(r"(PASSWORD|SECRET)", key) or value is None, (name, key)
            assert "://" not in str(value) or "@" not in str(value), (name, key)  # no passwords
    for name in ("api", "worker"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["depends_on"]["init"]["condition"] == (
            "service_completed_successfully"
        )
    assert "worker --healthcheck" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "--appendonly" in services["redis"]["command"]
    assert services["api"]["environment"]["EJ_ENV"] == "prod"
    assert services["api"]["env_file"] == ["ejcorps.env"]


def test_the_database_init_script_makes_two_roles_and_the_extensions() -> None:
    mounted = [v for v in compose()["services"]["postgis"]["volumes"] if "initdb" in v]
    script = (DOCKER / mounted[0].split(":")[0].removeprefix("./")).read_text()
    assert "CREATE ROLE ejcorps LOGIN" in script and "CREATE ROLE ejcorps_app LOGIN" in script
    assert "CREATE DATABASE ejcorps OWNER ejcorps" in script
    assert "CREATE EXTENSION IF NOT EXISTS postgis" in script
    assert "SUPERUSER" not in script.replace("superuser", "")
