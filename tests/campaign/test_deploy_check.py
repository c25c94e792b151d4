"""The README's production environment passes Django's deployment checks: the block
under "### Production" is run as written (its `...` placeholders filled in), then
`manage.py check --deploy --fail-level WARNING` in a fresh process."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def production_exports() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    exports = [line.split("  #", 1)[0] for line in block.splitlines() if line.startswith("export ")]
    assert exports, "README's production block has no export lines"
    # Each placeholder becomes its own long random value, as an operator would set.
    return [re.sub(r"\.\.\.", lambda _: secrets.token_urlsafe(50), line) for line in exports]


def run_deploy_check(tmp_path, exports: list[str]) -> subprocess.CompletedProcess:
    script = "\n".join(
        [
            "set -e",
            *exports,
            f"export TURNOUT_VAR_DIR={tmp_path} STATIC_ROOT={tmp_path}/static",
            f"exec {sys.executable} manage.py check --deploy --fail-level WARNING",
        ]
    )
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(  # noqa: S603 - our own script
        ["/bin/bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_readme_production_environment_passes_check_deploy(tmp_path):
    exports = production_exports()
    assert any("MAILGUN_WEBHOOK_SIGNING_KEY" in line for line in exports)

    result = run_deploy_check(tmp_path, exports)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_the_readmes_tls_settings(tmp_path):
    # The same block without the proxy/HTTPS line: the check must notice.
    exports = [line for line in production_exports() if "SECURE_SSL_REDIRECT" not in line]

    result = run_deploy_check(tmp_path, exports)

    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout
