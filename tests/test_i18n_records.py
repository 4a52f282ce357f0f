"""Signed records in Khmer and Thai: the text is there in its own script and drawn with the bundled fonts."""
from __future__ import annotations

import re
import subprocess
import unicodedata
import uuid

import pytest
from babel.support import Translations

from donoharm.services.library import get_registry
from tests.conftest import attestation, complete_answers, csrf_from, login
from tests.protocol_factory import as_yaml, document
from tests.test_i18n_catalogues import CATALOGUES

KHMER = re.compile("[\u1780-\u17ff]")
THAI = re.compile("[\u0e00-\u0e7f]")
THAI_TEXTS = {
    "title": "ระเบียบปฏิบัติทดสอบ",
    "phases": {"before": {"title": "ก่อนปฏิบัติการ"}, "during": {"title": "ระหว่างปฏิบัติการ"}},
    "steps": {
        "agreement": {"text": "ยืนยันข้อตกลงแล้วหรือไม่"},
        "briefing": {"text": "ชี้แจงทีมงานแล้ว"},
        "screened": {"text": "มีผู้ได้รับการคัดกรองกี่คน"},
        "arrival": {"text": "เวลาที่มาถึง"},
        "where": {"text": "นักสังคมสงเคราะห์อยู่ที่ใด", "options": {"on-site": "ในพื้นที่", "staging-area": "จุดรอ"}},
        "debrief": {"text": "ตกลงอะไรกันในการสรุปผล", "guidance": "ระบุตามบทบาทเท่านั้น"},
    },
}


def choose_language(client, language):
    client.post("/account", data={"language": language, "csrf_token": csrf_from(client, "/account")})


def record_of(app, api, protocol_id, version, language, tmp_path):
    """Run a protocol in a language as 'acc' (whose pages are in English), submit it, save its record."""
    acc = api("acc")
    run_id = str(uuid.uuid4())
    response = acc.put(f"/api/v1/runs/{run_id}", json={"protocol_id": protocol_id, "protocol_version": version,
                                                      "label": "OP-TEST-001", "mode": "live", "language": language})
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        protocol = get_registry().get(protocol_id, version)
    assert acc.send(run_id, *complete_answers(protocol), attestation()).status_code == 200
    response = acc.get(f"/runs/{run_id}/record.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    path = tmp_path / f"{language}.pdf"
    path.write_bytes(response.data)
    # -raw keeps the content-stream order; the layout mode splits Thai and Khmer marks from their letters.
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return protocol, text, fonts


def embedded(fonts: str, name: str) -> bool:
    """Whether pdffonts lists a font of that family as embedded ('emb' column says yes)."""
    rows = [line for line in fonts.splitlines()[2:] if name in line.split()[0]]
    return bool(rows) and all(" yes " in f" {' '.join(line.split()[-5:])} " for line in rows)


def test_khmer_record_is_in_khmer_with_the_bundled_font(signed_app, api, tmp_path):
    protocol, text, fonts = record_of(signed_app, api, "social-worker-accompaniment", "1.1.1", "km", tmp_path)
    khmer = protocol.in_language("km")
    assert len(KHMER.findall(text)) > 1000  # every step, its phase titles and the labels
    assert protocol.steps[0].text not in text and protocol.title not in text  # not the English texts
    # Labels follow the run's language even though the accompanier's pages are in English.
    assert "Audit record" not in text and "Attestation" not in text
    assert khmer.title != protocol.title
    assert embedded(fonts, "NotoSansKhmer") or embedded(fonts, "Noto-Sans-Khmer"), fonts


def test_thai_record_is_in_thai_with_the_bundled_font(signed_app, api, tmp_path):
    trainer = api("trainer")
    yaml_text = as_yaml(document(id="thai-test", translations={"th": THAI_TEXTS}))
    response = trainer.client.post("/api/v1/protocols", data=yaml_text,
                                   headers={"X-CSRFToken": trainer.csrf, "Content-Type": "application/yaml"})
    assert response.status_code == 201, response.get_json()
    protocol, text, fonts = record_of(signed_app, api, "thai-test", "1.0.0", "th", tmp_path)
    for phrase in ("ระเบียบปฏิบัติทดสอบ", "ชี้แจงทีมงานแล้ว", "ในพื้นที่", "ก่อนปฏิบัติการ"):
        assert phrase in text, phrase
    assert "Agreement confirmed?" not in text and "Audit record" not in text
    assert len(THAI.findall(text)) > 200
    assert embedded(fonts, "NotoSansThai") or embedded(fonts, "Noto-Sans-Thai"), fonts


def test_a_language_the_protocol_lacks_falls_back_to_its_original(signed_app, api, tmp_path):
    acc = api("acc")
    login(acc.client, "acc")
    protocol, text, fonts = record_of(signed_app, api, "immigration-separation", "1.0.0", "km", tmp_path)
    assert protocol.steps[0].text.split()[0] in text and not KHMER.search(text)


@pytest.mark.parametrize("language", ["es", "fr", "km", "th"])
def test_the_record_heads_the_answer_column_with_the_noun(signed_app, api, tmp_path, language):
    """The English "Answer" is a button (the verb) and a column of the signed record (the noun); each has its
    own context, so the record no longer prints "Responder", "Répondre", "ឆ្លើយ" or "ตอบ" over the answers."""
    catalogue = Translations.load(CATALOGUES, [language])
    noun, verb = catalogue.pgettext("noun", "Answer"), catalogue.pgettext("verb", "Answer")
    step = catalogue.gettext("Step")
    assert noun != verb and noun != "Answer" and verb != "Answer"
    with signed_app.app_context():
        version = get_registry().current("non-coerced-adults").version
    protocol, text, fonts = record_of(signed_app, api, "non-coerced-adults", version, language, tmp_path)
    assert protocol.in_language(language).language == language
    # pdftotext splits Khmer and Thai clusters and drops some marks: compare base letters only.
    flat, flat_step, flat_noun, flat_verb = (letters(t) for t in (text, step, noun, verb))
    columns = [flat[m.end():m.end() + 12] for m in re.finditer(re.escape(f"#{flat_step}"), flat)]
    assert len(columns) >= len(protocol.phases), text[:2000]  # a header row per phase (and per page it spans)
    for column in columns:
        assert column.startswith(flat_noun) and not column.startswith(flat_verb), (column, noun)


def letters(text: str) -> str:
    """The text without spaces, marks, invisible characters and Khmer subscript consonants (coeng and the letter
    after it), as pdftotext may or may not keep them."""
    text = re.sub("\u17d2.", "", unicodedata.normalize("NFKD", text))
    return "".join(c for c in text
                   if not c.isspace() and unicodedata.category(c) not in ("Mn", "Mc", "Cf"))
