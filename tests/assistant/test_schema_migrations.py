"""The record store's Alembic migrations (`assistant.schema`) on both backends (``db_url``): an
empty database upgraded to head, a revision-1 database with rows in it upgraded and read back,
a database made by ``create_all`` before migrations adopted, failures that change nothing, two
workers migrating at once, and the ``auto_migrate`` switch."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

import assistant.registrations  # noqa: F401 - its tables join the records metadata
from assistant.migrations.schemas import TEXT_COLUMNS, record_tables
from assistant.models import Answer, CallerContext, Citation
from assistant.records import RecordStore, _Base, _Handoff, _Message
from assistant.registrations import RegistrationStore, _Registration
from assistant.rules.deal_registration import Deal, Precheck
from assistant.schema import (
    SchemaOutOfDate,
    downgrade_schema,
    engine_for,
    head_revision,
    schema_revision,
    upgrade_schema,
)
from assistant.settings import Settings

ACME = CallerContext(role="partner", tier="gold", region="emea", partner_id="acme", language="de")
CITE = Citation(n=1, source="deal-reg.md", title="Deal registration", page=3, section="Protection")
ANSWER = Answer(answer="Protected for 90 days [1].", path="extractive", citations=[CITE])
LATER = Answer(answer="Ask your manager.", path="abstained", handoff_offered=True)
DEAL = Deal(customer="Contoso", customer_domain="contoso.com", first_year_value=Decimal("12.5"))
PRECHECK = Precheck(eligible=True, protection_days=90, as_of=date(2026, 3, 1))
TABLES = {t.name for t in record_tables(sa.MetaData(), TEXT_COLUMNS).sorted_tables}


@pytest.fixture
def engine(db_url):
    engine = engine_for(db_url)
    yield engine
    engine.dispose()


def _schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, _Base.metadata)


def _insert_revision_1_rows(engine: sa.Engine, tables: sa.MetaData) -> None:
    """Rows as the code before the typed columns wrote them: ISO 8601 text and JSON text."""
    t = tables.tables
    with engine.begin() as connection:
        connection.execute(
            t["conversations"].insert(),
            {
                "id": "c1",
                "caller": ACME.model_dump_json(),
                "created": "2026-03-01T09:30:00.123456+00:00",
                "role": "partner",
                "partner_id": "acme",
                "tier": "gold",
                "region": "emea",
                "language": "de",
            },
        )
        connection.execute(
            t["messages"].insert(),
            [
                {
                    "answer_id": "a1",
                    "conversation_id": "c1",
                    "question": "How long is a deal protected?",
                    "answer": ANSWER.model_copy(update={"answer_id": "a1"}).model_dump_json(),
                    "created": "2026-03-01T09:30:01+00:00",
                    "seq": 0,
                    "path": "extractive",
                },
                {  # written with another offset: 09:30:02 UTC, after a1
                    "answer_id": "a2",
                    "conversation_id": "c1",
                    "question": "And the MDF rate?",
                    "answer": LATER.model_copy(update={"answer_id": "a2"}).model_dump_json(),
                    "created": "2026-03-01T11:30:02+02:00",
                    "seq": 1,
                    "path": None,  # saved before the path column existed
                },
            ],
        )
        connection.execute(
            t["feedback"].insert(),
            {
                "id": "f1",
                "answer_id": "a1",
                "rating": "up",
                "comment": "",
                "created": "2026-03-01T09:31:00+00:00",
            },
        )
        connection.execute(
            t["handoffs"].insert(),
            {
                "id": "h1",
                "question": "And the MDF rate?",
                "caller": ACME.model_dump_json(),
                "evidence": f"[{CITE.model_dump_json()}]",
                "status": "requested",
                "answer_id": "a2",
                "conversation_id": "c1",
                "created": "2026-03-01T09:31:00",  # no offset: read as UTC
                "reason": "no_source",
                "comment": "",
                "partner_id": "acme",
                "tier": "gold",
                "region": "emea",
                "language": "de",
                "due_at": "2026-03-03T09:31:00+00:00",
            },
        )
        connection.execute(
            t["handoff_events"].insert(),
            [
                {
                    "handoff_id": "h1",
                    "status": "offered",
                    "actor": None,
                    "at": "2026-03-01T09:31:00+00:00",
                    "note": "",
                },
                {
                    "handoff_id": "h1",
                    "status": "requested",
                    "actor": "acme",
                    "at": "2026-03-01T09:32:00+00:00",
                    "note": "",
                },
            ],
        )
        if "question_vectors" in t:
            connection.execute(
                t["question_vectors"].insert(),
                {
                    "key": "k1",
                    "model": "m",
                    "vector": np.arange(3, dtype="<f4").tobytes(),
                    "created": "2026-03-01T09:33:00+00:00",
                },
            )
        if "deal_registrations" in t:
            connection.execute(
                t["deal_registrations"].insert(),
                {
                    "id": "r1",
                    "partner_id": "acme",
                    "tier": "gold",
                    "region": "emea",
                    "customer_domain": "contoso.com",
                    "deal": DEAL.model_dump_json(),
                    "precheck": PRECHECK.model_dump_json(),
                    "status": "approved",
                    "conflict": False,
                    "submitted_at": "2026-03-01T09:34:00+00:00",
                    "submitted_on": "2026-03-01",
                    "decided_at": "2026-03-02T10:00:00+00:00",
                    "decided_by": "mgr",
                    "note": "",
                    "protected_until": "2026-05-30",
                },
            )
            connection.execute(
                t["onboarding_profiles"].insert(),
                {
                    "partner_id": "acme",
                    "tier": "gold",
                    "joined": "2026-01-15",
                    "completed_steps": '["kickoff"]',
                    "completed_courses": "[]",
                    "updated": "2026-03-01T09:35:00+00:00",
                },
            )


def _assert_rows_read_back(url: str, with_registrations: bool = True) -> None:
    # The columns themselves: aware UTC datetimes and parsed JSON.
    engine = engine_for(url)
    with Session(engine) as session:
        message = session.get(_Message, "a2")
        assert message.created == datetime(2026, 3, 1, 9, 30, 2, tzinfo=UTC)
        assert message.created.utcoffset().total_seconds() == 0
        assert message.answer["answer"] == "Ask your manager." and message.answer["path"] == (
            "abstained"
        )
        handoff = session.get(_Handoff, "h1")
        assert handoff.created == datetime(2026, 3, 1, 9, 31, tzinfo=UTC)
        assert handoff.due_at == datetime(2026, 3, 3, 9, 31, tzinfo=UTC)
        assert handoff.evidence == [CITE.model_dump(mode="json")]
        if with_registrations:
            registration = session.get(_Registration, "r1")
            assert registration.submitted_on == date(2026, 3, 1)
            assert registration.decided_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
            assert registration.deal["customer"] == "Contoso"
    engine.dispose()

    # And through the stores' public API, as before the migration.
    records = RecordStore(url, auto_migrate=False)
    try:
        conversation = records.get_conversation("c1")
        assert conversation.created_at == "2026-03-01T09:30:00.123456+00:00"
        assert conversation.caller == ACME
        assert [(m.role, m.content) for m in conversation.messages] == [
            ("user", "How long is a deal protected?"),
            ("assistant", ANSWER.answer),
            ("user", "And the MDF rate?"),
            ("assistant", LATER.answer),
        ]
        assert conversation.messages[1].answer.citations == [CITE]
        assert conversation.messages[3].created_at == "2026-03-01T09:30:02+00:00"
        handoff = records.get_handoff("h1")
        assert (handoff.created_at, handoff.due_at) == (
            "2026-03-01T09:31:00+00:00",
            "2026-03-03T09:31:00+00:00",
        )
        assert handoff.evidence == [CITE] and handoff.caller == ACME
        assert [(e.status, e.by, e.at) for e in handoff.history] == [
            ("offered", None, "2026-03-01T09:31:00+00:00"),
            ("requested", "acme", "2026-03-01T09:32:00+00:00"),
        ]
        assert [f.created for f in records.list_feedback("a1")] == ["2026-03-01T09:31:00+00:00"]
        log = records.question_log(since=date(2026, 3, 1), until=date(2026, 3, 1))
        assert [(q.answer_id, q.path, q.rating, q.handoff_requested) for q in log] == [
            ("a2", "abstained", None, True),
            ("a1", "extractive", "up", False),
        ]
        assert records.question_log(since=date(2026, 3, 2)) == []
        if with_registrations:
            registrations = RegistrationStore(records.engine)
            registration = registrations.get("r1")
            assert registration.deal == DEAL and registration.protection_days == 90
            assert registration.protected_until == date(2026, 5, 30)
            assert registration.submitted_at == "2026-03-01T09:34:00+00:00"
            profile = registrations.get_profile("acme")
            assert (profile.joined, profile.completed_steps) == (date(2026, 1, 15), ["kickoff"])
        # New rows go in beside the converted ones.
        saved = records.save_answer("c1", "Anything else?", Answer(answer="-", path="generated"))
        assert records.get_conversation("c1").messages[-1].answer.answer_id == saved.answer_id
    finally:
        records.dispose()


def test_an_empty_database_upgrades_to_head_with_the_schema_the_models_describe(engine):
    assert schema_revision(engine) is None

    assert upgrade_schema(engine) == head_revision() == "0002"

    assert TABLES | {"alembic_version"} == set(sa.inspect(engine).get_table_names())
    assert _schema_differences(engine) == []
    assert upgrade_schema(engine) == "0002"  # a second run does nothing


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_typed_columns_are_timestamptz_and_jsonb_on_postgresql(engine):
    upgrade_schema(engine)
    columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("handoffs")}
    assert isinstance(columns["created"], sa.TIMESTAMP) and columns["created"].timezone
    assert type(columns["evidence"]).__name__ == "JSONB"


def test_revision_1_rows_are_converted_and_read_back(engine, db_url):
    assert upgrade_schema(engine, "0001") == "0001"
    _insert_revision_1_rows(engine, record_tables(sa.MetaData(), TEXT_COLUMNS))

    assert upgrade_schema(engine) == "0002"

    _assert_rows_read_back(db_url)
    assert _schema_differences(engine) == []


def test_downgrade_to_revision_1_gives_back_iso_text_and_upgrades_again(engine, db_url):
    upgrade_schema(engine, "0001")
    _insert_revision_1_rows(engine, record_tables(sa.MetaData(), TEXT_COLUMNS))
    upgrade_schema(engine)

    assert downgrade_schema(engine, "0001") == "0001"

    with engine.connect() as connection:
        created, caller = connection.execute(
            sa.text("SELECT created, caller FROM handoffs WHERE id = 'h1'")
        ).one()
    assert created == "2026-03-01T09:31:00+00:00"
    assert CallerContext.model_validate_json(caller) == ACME
    upgrade_schema(engine)
    _assert_rows_read_back(db_url)


def test_a_database_made_before_migrations_is_stamped_and_upgraded(engine, db_url):
    # An older create_all deployment: no alembic_version, and no registration or vector tables
    # yet (the code of the time created those when they were first used).
    old = record_tables(sa.MetaData(), TEXT_COLUMNS)
    for name in ("question_vectors", "deal_registrations", "onboarding_profiles"):
        old.remove(old.tables[name])
    old.create_all(engine)
    _insert_revision_1_rows(engine, old)
    assert schema_revision(engine) == "0001"

    records = RecordStore(db_url)  # auto_migrate is on by default
    records.dispose()

    assert schema_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            ("0002",)
        ]
    _assert_rows_read_back(db_url, with_registrations=False)
    assert _schema_differences(engine) == []


def test_a_value_that_does_not_parse_stops_the_upgrade_and_changes_nothing(engine):
    upgrade_schema(engine, "0001")
    tables = record_tables(sa.MetaData(), TEXT_COLUMNS)
    _insert_revision_1_rows(engine, tables)
    with engine.begin() as connection:
        connection.execute(
            tables.tables["feedback"]
            .update()
            .where(tables.tables["feedback"].c.id == "f1")
            .values(created="not a date")
        )

    with pytest.raises((ValueError, sa.exc.DBAPIError), match="not a date"):
        upgrade_schema(engine)

    assert schema_revision(engine) == "0001"
    with engine.connect() as connection:
        # conversations come before feedback: their conversion was rolled back too
        assert connection.execute(sa.text("SELECT created FROM conversations")).scalar() == (
            "2026-03-01T09:30:00.123456+00:00"
        )
    assert {c["name"]: c for c in sa.inspect(engine).get_columns("messages")}["created"][
        "type"
    ].python_type is str


def test_two_workers_starting_at_once_migrate_once(db_url):
    engines = [engine_for(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def start(engine: sa.Engine) -> None:
        barrier.wait()
        try:
            results.append(upgrade_schema(engine))
        except BaseException as exc:  # collected: the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == [] and results == ["0002", "0002"]
    with engines[0].connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
    for engine in engines:
        engine.dispose()


def test_without_auto_migrate_an_out_of_date_database_is_refused(engine, db_url):
    with pytest.raises(SchemaOutOfDate, match="partner-assistant db upgrade"):
        RecordStore(db_url, auto_migrate=False)
    assert schema_revision(engine) is None  # nothing was created

    upgrade_schema(engine)
    store = RecordStore(db_url, auto_migrate=False)
    assert store.start_conversation(ACME)
    store.dispose()


def test_a_database_from_a_newer_version_is_refused(engine, db_url):
    upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(SchemaOutOfDate, match="9999"):
        RecordStore(db_url)


def test_auto_migrate_is_read_from_pa_db_auto_migrate(monkeypatch):
    monkeypatch.setenv("PA_DB_AUTO_MIGRATE", "false")

    assert Settings().db.auto_migrate is False
    assert Settings(_env_file=None).db.model_fields["auto_migrate"].default is True
