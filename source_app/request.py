"""The request class of the source app: uploaded files are never buffered by Werkzeug.

Werkzeug's form parser writes every uploaded file larger than 500 KiB to an anonymous file in
/tmp before the view runs: plaintext on disk, which invariant 1 forbids. The /submit view
streams the body itself (source_app.upload); this class makes sure nothing else can take the
buffering path by accident: asking it for a place to put a file raises instead.
"""

from typing import IO

from flask import Request

from source_app.errors import SpoolingRefused

#: Plain form fields (not files) that Werkzeug keeps in memory, in bytes per request
#: (MAX_FORM_MEMORY_SIZE). The source app's ordinary forms are tiny; /submit does not use
#: Werkzeug's parser at all.
FORM_MEMORY_BYTES = 64 * 1024


class SourceRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        raise SpoolingRefused(
            "Refused to buffer an uploaded file (it would reach /tmp in clear); "
            "files are received only by the /submit view."
        )
