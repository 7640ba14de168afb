"""`corps keys`, `verify-dossier` and `verify-audit`; their code is in corps/keys_cli.py."""

from __future__ import annotations

from corps.cli.base import app, exit_codes
from corps.keys_cli import keys_app, verify_audit, verify_dossier

app.add_typer(keys_app, name="keys")
app.command(
    "verify-dossier",
    epilog=exit_codes("1  the dossier is not intact (the report says what)", ok="intact"),
)(verify_dossier)
app.command(
    "verify-audit",
    epilog=exit_codes("1  the audit log is not intact (the report says what)", ok="intact"),
)(verify_audit)
