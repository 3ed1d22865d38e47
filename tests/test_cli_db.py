"""`partner-assistant db current|upgrade|downgrade` on both backends (``db_url``): the JSON
scripts read, the exit codes a release step checks, and clear failures."""

import json

import pytest
from typer.testing import CliRunner

from api import cli
from assistant.records import RecordStore
from assistant.settings import get_settings


@pytest.fixture
def run(db_url, monkeypatch):
    monkeypatch.setenv("PA_DB_URL", db_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli.app, ["db", *args])
        return result.exit_code, result.stdout, result.stderr

    yield invoke
    get_settings.cache_clear()


def test_current_says_an_empty_database_is_behind_and_upgrade_brings_it_to_head(run, db_url):
    code, out, _ = run("current", "--json")
    assert code == 1
    assert json.loads(out) | {"database": None} == {
        "database": None,
        "current": None,
        "head": "0002",
        "up_to_date": False,
    }

    code, out, _ = run("upgrade", "--json")
    assert code == 0 and json.loads(out)["from"] is None and json.loads(out)["to"] == "0002"

    code, out, _ = run("current")
    assert code == 0 and "revision 0002" in out and "up to date" in out
    store = RecordStore(db_url, auto_migrate=False)  # starts without migrating
    store.dispose()


def test_upgrade_to_a_revision_and_downgrade_again(run):
    assert json.loads(run("upgrade", "--revision", "0001", "--json")[1])["to"] == "0001"
    assert json.loads(run("upgrade", "--json")[1]) | {"database": None} == {
        "database": None,
        "from": "0001",
        "to": "0002",
    }

    code, out, _ = run("downgrade", "0001")

    assert code == 0 and "downgraded from 0002 to 0001" in out
    assert run("current")[0] == 1


def test_an_unknown_revision_fails_with_its_name(run):
    code, _, err = run("upgrade", "--revision", "0042")

    assert code == 1 and "0042" in err


def test_an_unreachable_database_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv("PA_DB_URL", "postgresql+psycopg://app:s3cret@127.0.0.1:1/partner")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["db", "current"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 2
    assert "127.0.0.1:1/partner" in result.stderr and "s3cret" not in result.stderr
