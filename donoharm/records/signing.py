"""Sign a record's PDF with the organisation's key (PAdES, a visible stamp in an embedded font, an RFC 3161
timestamp when an authority is configured). The key itself is made, loaded and rotated in records/keys.py; its
names stay importable from here."""
from __future__ import annotations

import logging
from datetime import datetime
from io import BytesIO

from flask import Flask, current_app, has_app_context

from ..pdf import FONTS_DIR
from ..services.organisation import organisation_name
from .blocking import outside_event_loop
from .keys import (  # noqa: F401  (importable from records.signing, as before)
    ROOT_CERT,
    ROOT_KEY,
    SIGN_CERT,
    SIGN_KEY,
    SigningKey,
    _asn1_cert,
    _asn1_key,
    _ensure_keys,
    _keys_version,
    _name,
    _pem_key,
    _signer,
    generate_keys,
    load_signing_key,
    signing_key,
    trusted_roots,
)

STAMP_FONT = FONTS_DIR / "NotoSans-Regular.ttf"


CONFIGURED = object()  # sign_pdf's default: the app's timestamp authority, if one is configured


def sign_pdf(pdf: bytes, key: SigningKey, stamp_text: str, box: tuple[int, int, int, int],
             timestamper=CONFIGURED) -> bytes:
    """Sign PDF bytes (PAdES B-LT, SHA-256, B-T when timestamped) with a visible stamp in an embedded font.

    The certificate chain (and, where the CA publishes it and fetching is allowed, revocation information) goes
    into the document security store in the signature's own revision, so the record verifies offline and the
    signature still covers the entire file. With a timestamp authority configured the signature carries its
    RFC 3161 timestamp; when the authority fails, TimestampError is raised and nothing is signed.

    `box` is the space kept free for the stamp: the stamp goes at its top-right corner, in 9 pt (never below 8),
    its box sized to its text (signed_pdf.stamp_layout)."""
    import tzlocal  # pyHanko's own dependency: it dates the stamp in the local zone
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.layout import AxisAlignment, Margins, SimpleBoxLayoutRule
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
    from pyhanko.stamp import TextStampStyle
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    PathError = PathBuildingError | PathValidationError  # noqa: N806 (a local alias of two classes)

    from . import signed_pdf, timestamps

    app = current_app._get_current_object() if has_app_context() else None
    if timestamper is CONFIGURED:
        timestamper = timestamps.timestamper(app)
    # The stamp's text as pyHanko will fill it in (the time to the second it signs), measured to size the box.
    shown = {"signer": key.signer.subject_name,
             "ts": datetime.now(tzlocal.get_localzone()).strftime(TextStampStyle.timestamp_format)}
    size, stamp_text, box = signed_pdf.stamp_layout(stamp_text, shown, box, str(STAMP_FONT))
    text_style = TextBoxStyle(font=_font_factory(GlyphAccumulatorFactory), font_size=size,
                              leading=size + signed_pdf.LINE_GAP, box_layout_rule=SimpleBoxLayoutRule(
                                  x_align=AxisAlignment.ALIGN_MIN, y_align=AxisAlignment.ALIGN_MID,
                                  margins=Margins(left=signed_pdf.STAMP_MARGIN, right=signed_pdf.STAMP_MARGIN,
                                                  top=signed_pdf.TOP, bottom=signed_pdf.BOTTOM)))
    style = TextStampStyle(stamp_text=stamp_text, border_width=1, text_box_style=text_style)
    meta = signers.PdfSignatureMetadata(
        field_name="Signature", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES, reason="Audit record",
        location=organisation_name(app) if app else None,
        embed_validation_info=True, validation_context=_signing_context(key, app, timestamper is not None),
        # Validation data in the signature's revision (no VRI, which needs a revision after it): one revision.
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
                                        include_vri=False),
        signer_key_usage=set())  # an organisation's CA may set digitalSignature or nonRepudiation: accept either
    # The document information and the XMP say the same after signing (PDF/A): see signed_pdf.
    writer = signed_pdf.consistent_writer_class()(BytesIO(pdf))
    field = fields.SigFieldSpec("Signature", on_page=0, box=box,
                                readable_field_name=signed_pdf.alternative_text(stamp_text, shown))
    pdf_signer = signers.PdfSigner(meta, key.signer, timestamper=timestamper, stamp_style=style,
                                   new_field_spec=field)
    out = BytesIO()
    try:
        outside_event_loop(pdf_signer.sign_pdf, writer, output=out)
    except SigningError as error:
        cause = error.__cause__
        if isinstance(cause, PathError):  # checked before signing: expired, or not issued by the root
            raise SigningError(f"the signing certificate “{key.subject}” cannot sign now: {cause}. Issue a new "
                               "one (deploy/rotate-signing-cert.py) or configure a current PKCS#12") from error
        raise
    except timestamps.failures() as error:
        if timestamper is None:
            raise
        raise timestamps.authority_error(error, getattr(timestamper, "url", "(test)")) from error
    return out.getvalue()


class _QuietEmbedding(logging.Filter):
    """pyHanko warns on every signature that revocation info is embedded without fetching: that is our choice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_QuietEmbedding())


def _signing_context(key: SigningKey, app: Flask | None, timestamped: bool):
    """What the signer validates its chain (and the authority's) against before signing; it fills the DSS.

    Fetching revocation information is off unless DONOHARM_SIGNING_FETCH_REVOCATION=1 (only an organisation's
    certificate from a CA that publishes CRLs or OCSP has any); the generated root has none to fetch."""
    from pyhanko_certvalidator import ValidationContext

    from .timestamps import tsa_roots

    fetch = bool(app and app.config.get("SIGNING_FETCH_REVOCATION"))
    roots = [key.root_cert, *(tsa_roots(app) if timestamped else [])]
    return ValidationContext(trust_roots=roots, other_certs=[_asn1_cert(c) for c in key.chain],
                             allow_fetching=fetch, revocation_mode="soft-fail")


_FONT: dict = {}


def _font_factory(factory_cls):
    """A font factory reading the stamp font from memory (pyHanko's own leaves its file handle open)."""
    if "factory" not in _FONT:
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

        font_bytes = _stamp_subset()

        class InMemoryFont(factory_cls):
            def create_font_engine(self, writer, obj_stream=None):
                if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                    obj_stream = writer.prepare_object_stream()
                return GlyphAccumulator(writer=writer, font_handle=BytesIO(font_bytes), font_size=self.font_size,
                                        obj_stream=obj_stream)

        _FONT["factory"] = InMemoryFont(str(STAMP_FONT))
    return _FONT["factory"]


def _stamp_subset() -> bytes:
    """The stamp font cut to Latin-1: pyHanko parses and subsets it per signature, so smaller is faster."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(STAMP_FONT))
    subsetter = subset.Subsetter(subset.Options(layout_features=["kern", "liga"], notdef_outline=True))
    subsetter.populate(unicodes=range(0x20, 0x100))
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()
