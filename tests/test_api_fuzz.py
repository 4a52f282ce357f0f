"""Schemathesis: generated requests against the OpenAPI document, signed in, find no 5xx and no
response that breaks the documented schema."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from donoharm import create_app
from donoharm.db import connect
from donoharm.db import users as users_db
from tests.conftest import PASSWORD_HASH, login

INSTANCE = Path(tempfile.mkdtemp(prefix="donoharm-fuzz-"))
atexit.register(shutil.rmtree, INSTANCE, ignore_errors=True)
APP = create_app({"TESTING": True, "INSTANCE": INSTANCE, "SECRET_KEY": "fuzz"})
_db = connect(APP.config["DATABASE"])
users_db.create_user(_db, "fuzzer", PASSWORD_HASH, "admin")
_db.conn.close()

_client = APP.test_client()
login(_client, "fuzzer")
SESSION_COOKIE = _client.get_cookie("session").value
CSRF = _client.get("/api/v1/session").get_json()["csrf_token"]
KNOWN_RUN = "0b9a6f1e-3d5c-4f7a-9b2e-1c8d7e6f5a40"
assert _client.put(f"/api/v1/runs/{KNOWN_RUN}", headers={"X-CSRFToken": CSRF}, json={
    "protocol_id": "immigration-separation", "protocol_version": "1.0.0", "label": "OP-TEST-001"}).status_code == 201



def _pdf_with_attachment(payload: bytes) -> bytes:
    """A small unsigned PDF carrying audit-record.json, as a record would (made with pypdf)."""
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_attachment("audit-record.json", payload)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _mutated(data: bytes, at: int, byte: int, cut: int | None, tail: bytes) -> bytes:
    """A PDF with one byte changed, maybe cut short, maybe with bytes appended: what a tamperer sends."""
    position = at % len(data)
    changed = data[:position] + bytes([byte]) + data[position + 1:]
    return (changed[:cut % len(changed)] if cut else changed) + tail


PDF_BASES = [_pdf_with_attachment(b'{"run": {"id": "OP-TEST"}}'), _pdf_with_attachment(b"not json"),
             _pdf_with_attachment(b"{}" * 1000)]
PDFS = st.builds(_mutated, st.sampled_from(PDF_BASES), st.integers(0, 10**6), st.integers(0, 255),
                 st.none() | st.integers(1, 10**6), st.binary(max_size=64))
# Protocol uploads: the shipped YAML, cut or changed, and arbitrary nested data written as YAML.
PROTOCOLS_DIR = Path(__file__).resolve().parent.parent / "protocols"
SHIPPED_YAML = [path.read_text() for path in sorted(PROTOCOLS_DIR.rglob("*.yaml"))]
YAML_DATA = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                     max_size=4), max_leaves=30)
YAMLS = st.one_of(
    st.builds(lambda text, cut: text[:cut % (len(text) + 1)], st.sampled_from(SHIPPED_YAML), st.integers(0, 10**6)),
    st.builds(lambda text, old, new: text.replace(old, new, 1), st.sampled_from(SHIPPED_YAML),
              st.sampled_from(["version: ", "kind: ", "critical: ", "id: ", "  - ", "options:"]),
              st.text(max_size=12)),
    YAML_DATA.map(lambda data: yaml.safe_dump(data, allow_unicode=True)),
).map(lambda text: text.encode("utf-8", "replace"))
schemathesis.openapi.media_type("application/pdf", PDFS)
schemathesis.openapi.media_type("application/yaml", YAMLS)


@schemathesis.serializer("application/pdf")
def pdf_body(ctx, value) -> bytes:
    """Send generated /verify bodies as raw bytes: a broken or random 'PDF' must get a 4xx, never a 5xx."""
    return value if isinstance(value, bytes) else str(value).encode()


@schemathesis.serializer("application/yaml")
def yaml_body(ctx, value) -> bytes:
    """Send generated protocol uploads as the YAML text itself, as a trainer's upload would be."""
    return value if isinstance(value, bytes) else str(value).encode()


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@schema.auth()
class SignedIn:
    """Every generated request carries a signed-in session and its CSRF token."""

    def get(self, case, context):
        return SESSION_COOKIE

    def set(self, case, data, context):
        case.cookies = {**(case.cookies or {}), "session": data}
        case.headers = {**(case.headers or {}), "X-CSRFToken": CSRF}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case):
    if case.method in ("GET", "POST") and "run_id" in (case.path_parameters or {}):
        case.path_parameters["run_id"] = KNOWN_RUN  # reach the event validation, not just "no such run"
    # A schema-valid run may still name a protocol this server does not have (422), which no
    # schema can express; every other check, negative data included, stays on.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
