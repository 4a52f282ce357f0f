"""Records, handouts and "what changed" PDFs that screen readers can follow and clerks can search: tagged, with
language and title, headings, table headers and alternative text; every step text found verbatim by pdftotext
in Khmer, Thai, Spanish and French; after signing, one Producer and one modification date; a legible stamp."""
from __future__ import annotations

import io
import re
import subprocess
import uuid
from datetime import UTC
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from donoharm.pdf import html_to_pdf
from donoharm.records import signed_pdf
from donoharm.records.render import stamp_box
from donoharm.records.signing import STAMP_FONT, signing_key
from donoharm.services.library import get_registry

from .conftest import complete_answers, event
from .test_hardening_pdf import data_url, png
from .test_reports import publish, quarter_app  # noqa: F401 (quarter_app is a fixture)

SWA = "social-worker-accompaniment"
PYHANKO = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "pyhanko")


def signed_record(app, api, language: str, signature: str | None = None, protocol_id: str = SWA):
    """The internal record of a submitted run of a shipped protocol carried out in `language`, and the
    protocol's texts in that language."""
    acc = api("acc")
    with app.app_context():
        protocol = get_registry().current(protocol_id)
    run_id = str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{run_id}", json={"protocol_id": protocol.id, "protocol_version": protocol.version,
                                                      "label": "OP-TEST-001", "mode": "live", "language": language})
    assert response.status_code == 201, response.get_json()
    value = {"name": "Test Accompanier", "confirmed": True, **({"signature": signature} if signature else {})}
    response = acc.send(run_id, *complete_answers(protocol), event("run.submitted", value=value))
    assert response.status_code == 200, response.get_json()
    record = acc.get(f"/runs/{run_id}/record.pdf")
    assert record.status_code == 200 and record.data.startswith(b"%PDF")
    texts = protocol.in_language(language)
    assert texts.language == language  # the shipped protocol has this translation: the test is not vacuous
    return record.data, texts


def saved(data: bytes, tmp_path: Path, name: str = "record.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def tool(*args) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def structure(reader: PdfReader) -> list[DictionaryObject]:
    """Every structure element of the document, depth first."""
    found, pending = [], [reader.trailer["/Root"]["/StructTreeRoot"]]
    while pending:
        node = pending.pop()
        node = node.get_object() if isinstance(node, IndirectObject) else node
        if not isinstance(node, DictionaryObject):
            continue
        if node.get("/Type") == "/StructElem" or "/S" in node:
            found.append(node)
        kids = node.get("/K")
        kids = kids.get_object() if isinstance(kids, IndirectObject) else kids
        if isinstance(kids, ArrayObject):
            pending.extend(reversed(kids))
        elif kids is not None:
            pending.append(kids)
    return found


def roles(reader: PdfReader) -> set[str]:
    return {str(element["/S"]) for element in structure(reader)}


def found_verbatim(step: str, text: str) -> bool:
    """Whether `step` is in pdftotext's output with only whitespace and line breaks normalised: each space of the
    step may be any run of whitespace, and a line break may fall between any two characters (Khmer and Thai
    break lines between words that no space separates; French breaks after the hyphen of "est-elle")."""
    pattern = r"\n?".join(r"\s+" if char.isspace() else re.escape(char) for char in re.sub(r"\s+", " ", step))
    return re.search(pattern, text) is not None


# --- tagged, with language, title, structure and alternative text ---------------------------------------------

def test_a_signed_record_is_tagged_pdf_a_3a_with_headings_table_headers_and_alt_text(signed_app, api, tmp_path):
    data, texts = signed_record(signed_app, api, "km", signature=data_url(png(300, 90)))
    path = saved(data, tmp_path)
    info = tool("pdfinfo", str(path))
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "km" and root["/MarkInfo"]["/Marked"] in (True, "true")
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] in (True, "true")
    assert reader.metadata.title and texts.language == "km"
    xmp = reader.xmp_metadata.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="A"' in xmp, xmp
    found = roles(reader)
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/Figure"} <= found, found
    figures = [e for e in structure(reader) if e["/S"] == "/Figure"]
    assert figures and all(str(f.get("/Alt", "")).strip() for f in figures)  # the drawn signature is described
    # The signature stamp is a form field: its alternative description (/TU) says what the stamp shows.
    field = next(f.get_object() for f in root["/AcroForm"]["/Fields"] if f.get_object()["/FT"] == "/Sig")
    assert "Signed by" in field["/TU"] and "Record" in field["/TU"]


def test_handouts_and_what_changed_pdfs_are_tagged_with_language_title_and_headings(app, tmp_path):
    client = app.test_client()
    handout = client.get(f"/protocols/{SWA}/1.1.0/handout.pdf", headers={"Accept-Language": "es"})
    changes = client.get(f"/protocols/{SWA}/changes.pdf?from=1.0.0&to=1.1.0")
    assert handout.status_code == changes.status_code == 200
    for name, response in (("handout.pdf", handout), ("changes.pdf", changes)):
        info = tool("pdfinfo", str(saved(response.data, tmp_path, name)))
        assert re.search(r"^Tagged:\s+yes$", info, re.M), (name, info)
        reader = PdfReader(io.BytesIO(response.data))
        root = reader.trailer["/Root"]
        assert str(root["/Lang"]) == "en" and reader.metadata.title, name  # the protocol's own language
        assert {"/H1", "/H2", "/L", "/LI"} <= roles(reader), (name, roles(reader))


def test_the_transparency_report_is_tagged_and_its_chart_has_alternative_text(quarter_app):  # noqa: F811
    assert publish(quarter_app, "--period", "2026-Q2").exit_code == 0
    [pdf] = (Path(quarter_app.instance_path) / "reports").rglob("*.pdf")
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    figures = [e for e in structure(reader) if e["/S"] == "/Figure"]
    assert [str(f.get("/Alt")) for f in figures] == ["Runs with a deviation or a red flag, per step"]
    assert {"/H1", "/Table", "/TH"} <= roles(reader)


# --- searchable in every language --------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["km", "th", "es", "fr"])
def test_every_step_text_of_a_record_is_found_verbatim_by_pdftotext(signed_app, api, tmp_path, language):
    data, texts = signed_record(signed_app, api, language)
    # -raw: the content-stream order, the order a screen reader follows (layout mode interleaves table columns).
    text = tool("pdftotext", "-raw", str(saved(data, tmp_path)), "-")
    steps = [step.text for step in texts.steps]
    assert len(steps) > 20
    missing = [step for step in steps if not found_verbatim(step, text)]
    assert missing == [], missing[:3]


def test_shaped_text_carries_its_actual_text_and_latin_text_does_not_need_it(tmp_path):
    """The smallest case of the Khmer problem: the glyph of ប is drawn alone and, in ប្រ, beside the subscript
    ro; one ToUnicode entry cannot serve both, so the span of each line says what it reads (pdf_text)."""
    html = '<html lang="km"><head><title>t</title></head><body><p>ប្រតិបត្តិការ</p><p>ប</p><p>Latin</p></body></html>'
    pdf = html_to_pdf(html)
    text = tool("pdftotext", "-raw", str(saved(pdf, tmp_path)), "-").split()
    assert text == ["ប្រតិបត្តិការ", "ប", "Latin"]
    content = b"".join(page.get_contents().get_data() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert content.count(b"/ActualText") == 2  # the two Khmer lines, not the Latin one


# --- a consistent PDF/A claim after signing ------------------------------------------------------------------

def test_after_signing_the_document_information_and_the_xmp_agree_and_the_signature_verifies(signed_app, api,
                                                                                             tmp_path):
    data, _texts = signed_record(signed_app, api, "es")
    reader = PdfReader(io.BytesIO(data))
    info, xmp = reader.metadata, reader.xmp_metadata
    assert info["/Producer"] == xmp.pdf_producer and "WeasyPrint" in info["/Producer"]
    assert "pyHanko" in info["/Producer"]  # both tools that wrote the file are named, in both places
    assert info.modification_date.astimezone(UTC) == xmp.xmp_modify_date.replace(tzinfo=UTC)
    assert data.count(b"%%EOF") == 2  # WeasyPrint's file and the signature's one incremental update
    path = saved(data, tmp_path)
    assert "No syntax or stream encoding errors found" in tool("qpdf", "--check", str(path))
    assert "Signature is Valid." in tool("pdfsig", str(path))
    with signed_app.app_context():
        root = saved(signing_key().root_pem, tmp_path, "root.pem")
    out = subprocess.run([PYHANKO, "sign", "validate", "--pretty-print", "--trust", str(root), "--trust-replace",
                          str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and "VALID" in out.stdout and "entire file" in out.stdout, out.stdout + out.stderr


# --- the stamp -----------------------------------------------------------------------------------------------

def stamp_of(data: bytes):
    """(rectangle, font sizes in its appearance, lines of its alternative text) of the signature widget."""
    reader = PdfReader(io.BytesIO(data))
    widget = next(a.get_object() for a in reader.pages[0]["/Annots"] if a.get_object().get("/FT") == "/Sig")
    stream = widget["/AP"]["/N"].get_object()
    content = stream.get_data().decode("latin-1")
    for name in re.findall(r"/(\w+) Do", content):  # pyHanko draws the text in a nested form XObject
        content += stream["/Resources"]["/XObject"][f"/{name}"].get_object().get_data().decode("latin-1")
    sizes = [float(size) for size in re.findall(r"/\w+ ([\d.]+) Tf", content)]
    return [float(v) for v in widget["/Rect"]], sizes, str(widget["/TU"]).split("; ")


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_stamp_is_legible_and_its_box_is_sized_to_its_text(signed_app, api, paper):
    signed_app.config["RECORD_PAGE_SIZE"] = paper
    data, _texts = signed_record(signed_app, api, "es", protocol_id="immigration-separation")
    (x1, y1, x2, y2), sizes, lines = stamp_of(data)
    assert sizes and min(sizes) >= 8, sizes
    reserved = stamp_box(paper.upper())
    assert (x2, y2) == reserved[2:]  # the top-right corner kept free for it, inside the page margin
    assert x1 >= reserved[0] and y1 >= reserved[1]  # within the space kept free
    page = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert round(float(page.width)) == {"A4": 595, "Letter": 612}[paper]
    # Sized to its text: as wide as its longest line and the margins, as tall as its lines and the margins.
    assert len(lines) == 3 and lines[0].startswith("Signed by") and lines[2].startswith("Record ")
    longest = max(signed_pdf.text_width(line, min(sizes), str(STAMP_FONT)) for line in lines)
    margins = 2 * signed_pdf.STAMP_MARGIN + signed_pdf.SLACK
    assert longest + margins <= x2 - x1 <= longest + margins + 2  # rounded outwards to whole points
    assert y2 - y1 <= 3 * (min(sizes) + signed_pdf.LINE_GAP) + signed_pdf.TOP + signed_pdf.BOTTOM + 1


def test_a_long_signer_name_wraps_between_words_and_never_goes_below_8_pt():
    reserved = stamp_box("A4")
    name = "Organisation for the Protection of People Found in Labour and Sexual Exploitation audit records"
    params = {"ts": "2026-01-01 00:00:00 UTC"}
    size, template, box = signed_pdf.stamp_layout(f"Signed by {name}\n%(ts)s\nRecord {uuid.uuid4()}", params,
                                                  reserved, str(STAMP_FONT))
    lines = (template % params).splitlines()
    assert size >= 8 and len(lines) >= 4
    assert " ".join(lines[:-2]) == f"Signed by {name}"  # broken only between words, nothing lost
    assert all(signed_pdf.text_width(line, size, str(STAMP_FONT)) <= box[2] - box[0] for line in lines)
    assert box[2:] == reserved[2:]


def test_the_stamp_dates_the_signature_in_the_organisations_zone_with_its_offset(signed_app, api):
    """Every time of a record is the organisation's, with its offset: the stamp's too (pyHanko's own date would
    be the server's local zone)."""
    from donoharm.db import connect
    from donoharm.db import settings as settings_db

    db = connect(signed_app.config["DATABASE"])
    settings_db.save_settings(db, "Test Organisation", "Asia/Phnom_Penh", "A4", None)
    db.conn.close()
    data, _texts = signed_record(signed_app, api, "es", protocol_id="immigration-separation")
    _rect, _sizes, lines = stamp_of(data)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00 \(Asia/Phnom_Penh\)", lines[1]), lines
