"""`POST /v1/admin/ingest` on a knowledge base of its own: ids that do not depend on the folder
posted, sync limited to that folder, and 409 while another process writes the store."""

from __future__ import annotations

import pytest
from api_helpers import ADMIN
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.records import RecordStore
from assistant.service import build_service
from retrieval.knowledge_base import KnowledgeBase
from tests.helpers import write, write_layered_knowledge_base
from tests.retrieval.store_helpers import lock_held_by_another_process, process_env


def _client(api_settings, data_dir, embedder, chat_model, **ingest):
    settings = api_settings.model_copy(
        update={"data_dir": data_dir, "ingest": api_settings.ingest.model_copy(update=ingest)}
    )
    records = RecordStore.from_settings(settings)
    service = build_service(settings, chat_model, KnowledgeBase(settings, embedder), records)
    return TestClient(create_app(settings, service=service)), service, records


@pytest.fixture
def admin(api_settings, tmp_path, embedder, chat_model):
    """A client on a data folder laid out like data/ (manifests at the top and in folders)."""
    data = write_layered_knowledge_base(tmp_path / "kb")
    client, service, records = _client(api_settings, data, embedder, chat_model)
    with client:
        yield client, service, data
    records.dispose()


def _ingest(client, *paths, sync=False):
    response = client.post(
        "/v1/admin/ingest", json={"paths": list(paths), "sync": sync}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_subfolder_posted_updates_the_same_documents(admin):
    client, service, data = admin
    _ingest(client, ".")
    ids = sorted(service.kb.store.documents())

    again = _ingest(client, "program", sync=True)
    write(data / "program" / "deal.md", "# Deal registration\n\nProtected for 150 days.\n")
    changed = _ingest(client, "program/deal.md")

    assert ids == ["products/flow.md", "program/deal.md", "program/mdf.md"]
    assert (again["files_skipped"], again["files_indexed"], again["files_deleted"]) == (2, 0, 0)
    assert changed["files_indexed"] == 1
    assert sorted(service.kb.store.documents()) == ids


def test_sync_of_a_subfolder_posted_deletes_only_under_it(admin):
    client, service, data = admin
    _ingest(client, ".")
    (data / "program" / "mdf.md").unlink()

    result = _ingest(client, "program", sync=True)

    assert result["files_deleted"] == 1
    assert sorted(service.kb.store.documents()) == ["products/flow.md", "program/deal.md"]


def test_without_manifests_ids_start_at_the_data_folder(
    api_settings, tmp_path, embedder, chat_model
):
    data = tmp_path / "inbox-plain"
    write(data / "faq" / "a.md", "---\ndoc_type: faq\n---\n# A\n\nAnswer A.\n")
    write(data / "faq" / "b.md", "---\ndoc_type: faq\n---\n# B\n\nAnswer B.\n")
    client, service, records = _client(api_settings, data, embedder, chat_model)
    with client:
        _ingest(client, "faq")
        second = _ingest(client, ".", sync=True)
    records.dispose()

    assert sorted(service.kb.store.documents()) == ["faq/a.md", "faq/b.md"]
    assert second["files_skipped"] == 2 and second["files_deleted"] == 0


def test_ingest_is_409_naming_the_process_that_holds_the_store(
    api_settings, tmp_path, embedder, chat_model
):
    data = tmp_path / "inbox-busy"
    write(data / "a.md", "---\ndoc_type: faq\n---\n# A\n\nAnswer A.\n")
    client, _, records = _client(api_settings, data, embedder, chat_model, lock_timeout=0.3)
    env = process_env(PA_STORE_DIR=str(api_settings.store.dir))
    with client, lock_held_by_another_process(env) as pid:
        response = client.post("/v1/admin/ingest", json={"paths": ["."]}, headers=ADMIN)
    records.dispose()

    assert response.status_code == 409
    assert f"pid {pid} on " in response.json()["message"]
