"""The application's services between the pages and the core: the one append path, starting runs,
operations, the protocol library, redaction, retention and transparency reports."""
