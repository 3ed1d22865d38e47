"""``python -m api …`` runs the ``partner-assistant`` CLI (api/cli.py)."""

from api.cli import app

app(prog_name="partner-assistant")
