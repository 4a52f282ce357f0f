"""Verify a signed record: signatures intact and ours, nothing added after signing, issued by this server.

The verdict and its checks that need no PDF library are in records/verification.py, the reading of the PDF with
pyHanko in records/pdf_reading.py; this module is the entry point and keeps their names importable from here."""
from __future__ import annotations

import logging
import warnings

from sqlite_utils import Database

from ..db import records as records_db  # noqa: F401  (verify.records_db, as before the split)
from .pdf_reading import _check, check_size, decode_limits, embedded_record  # noqa: F401
from .signing import SigningKey
from .verification import (  # noqa: F401
    MAX_ATTACHMENT_BYTES,
    MAX_BYTES,
    MAX_DECODED_BYTES,
    MAX_DSS_ITEMS,
    MAX_OBJECTS,
    MAX_PAGES,
    MAX_REVISIONS,
    MAX_SIGNATURES,
    MAX_STREAM_BYTES,
    PROFILE_SUMMARIES,
    TOLERANCE,
    MiB,
    TooCostly,
    Verdict,
    _match,
    bounded_stream_data,
    verdict_lines,
)


def verify_pdf(data: bytes, key: SigningKey, db: Database | None = None, tsa_roots: list | None = None) -> Verdict:
    """Check a PDF against every root this organisation had and, with `db`, the records issued.

    `tsa_roots` (asn1crypto certificates) are the timestamp authorities trusted; by default DONOHARM_TSA_ROOT's."""
    verdict = Verdict()
    if len(data) > MAX_BYTES:
        verdict.problems.append(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        return verdict
    if not data.startswith(b"%PDF-"):
        verdict.problems.append("this is not a PDF file")
        return verdict
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError

    # pyHanko warns and logs about untrusted certificates and odd files; the verdict says it plainly instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quiet = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
        levels = [q.level for q in quiet]
        for q in quiet:
            q.setLevel(logging.CRITICAL)
        try:
            if tsa_roots is None:
                from .timestamps import tsa_roots as configured_tsa_roots

                tsa_roots = configured_tsa_roots()
            _check(data, key, verdict, tsa_roots)
        except TooCostly as error:
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.readable = False
            verdict.problems.append(f"the file is not a record this server could have issued: {error}")
        except PdfDecodeLimitError:
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.readable = False
            verdict.problems.append("the file is not a record this server could have issued: its compressed "
                                    "content expands to more data than a record holds")
        except Exception as error:  # a broken file must give a verdict, never a 500
            verdict.intact = verdict.trusted = verdict.unmodified = False
            verdict.readable = False
            verdict.problems.append(f"the file could not be read as a signed PDF ({type(error).__name__})")
        finally:
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)
    if db is not None and verdict.problems == []:
        _match(db, data, verdict)
    return verdict
