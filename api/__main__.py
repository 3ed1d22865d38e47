"""``python -m api …`` runs the ``partner-assistant`` CLI (api/cli.py)."""

from api.cli import run

run()
