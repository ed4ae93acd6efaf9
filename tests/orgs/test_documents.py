"""Charters and documents: PDF or images, size-limited, outside the web root, for the allowed."""

import io
from pathlib import Path

import pytest

from portal.core.uploads import upload_dir

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(client, headers, org_id, content, name="charter.pdf", kind="charter"):
    return client.post(f"/api/v1/orgs/{org_id}/documents", headers=headers,
                       data={"kind": kind, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_pdf_and_png_are_stored_outside_the_web_root(app, client, people, token, new_org):
    org = new_org()
    response = upload(client, token("founder"), org["id"], PDF)
    assert response.status_code == 201, response.get_json()
    doc = response.get_json()
    assert doc["content_type"] == "application/pdf" and doc["size"] == len(PDF)
    assert upload(client, token("founder"), org["id"], PNG, "scan.png", "other").status_code \
        == 201
    with app.app_context():
        folder = upload_dir()
        assert len(list(folder.iterdir())) == 2
        assert not str(folder.resolve()).startswith(str(Path(
            app.static_folder).resolve()))


@pytest.mark.parametrize("content,name", [
    (b"<html><script>alert(1)</script>", "charter.pdf"),   # the bytes decide, not the name
    (b"MZ\x90\x00", "charter.exe"), (b"", "empty.pdf"),
])
def test_other_files_are_refused(client, people, token, new_org, content, name):
    org = new_org()
    response = upload(client, token("founder"), org["id"], content, name)
    assert response.status_code == 422
    assert "file" in response.get_json()["error"]["fields"]


def test_size_limit(app, client, people, token, new_org, monkeypatch):
    org = new_org()
    monkeypatch.setitem(app.config, "ORG_DOCUMENT_MAX_MB", 1)
    big = PDF + b"0" * (1024 * 1024 + 1)
    too_big = upload(client, token("founder"), org["id"], big)
    assert too_big.status_code == 413 and "file" in too_big.get_json()["error"]["fields"]
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = upload(client, token("founder"), org["id"], big)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("reader,status", [
    ("founder", 200), ("zhanqian", 200), ("admin", 200), ("other", 403), ("bayuquan", 403),
    ("worker", 403),
])
def test_documents_are_served_only_to_those_allowed(client, people, token, active_org, reader,
                                                    status):
    org = active_org()
    doc = upload(client, token("founder"), org["id"], PDF).get_json()
    response = client.get(f"/api/v1/orgs/{org['id']}/documents/{doc['id']}",
                          headers=token(reader))
    assert response.status_code == status
    if status == 200:
        assert response.data == PDF
        assert "attachment" in response.headers["Content-Disposition"]


def test_uploads_are_audited(client, people, token, new_org):
    org = new_org()
    upload(client, token("founder"), org["id"], PDF)
    trail = client.get(f"/api/v1/audit?object_type=org&object_id={org['id']}",
                       headers=token("zhanqian")).get_json()["items"]
    assert trail[-1]["action"] == "add_document"
