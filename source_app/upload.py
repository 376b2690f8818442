"""Reading the /submit form straight from the request body into the submission pipeline.

The body is read in large chunks and parsed by streaming-form-data (a Cython multipart parser);
each file part's bytes go directly into core.submissions, which pipes them into gpg. Small
fields (the CSRF token, the honeypot, the message) are kept in memory with hard size limits.
Werkzeug's own form parser, which would spool files to /tmp, is never involved.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget, ValueTarget
from streaming_form_data.validators import MaxSizeValidator, ValidationError

from core.errors import EmptyFile, MessageTooLong, SubmissionRefused
from core.submissions import MESSAGE_MAX_BYTES, FileUpload, SubmissionDraft
from source_app.answers import StreamedAnswers
from source_app.errors import MalformedUpload

#: Read size: large reads keep the per-chunk Python work (parse, hash, pipe) small next to gpg.
READ_BYTES = 1024 * 1024
#: Everything in the body besides the files: the message, small fields, part headers.
FORM_OVERHEAD_BYTES = MESSAGE_MAX_BYTES + 64 * 1024
_SMALL_FIELD_BYTES = 1024
CSRF_FIELD = "csrf_token"
MESSAGE_FIELD = "msg"
FILE_FIELD = "fh"
#: A field hidden from people (CSS and labelling) that form-filling robots tend to fill.
HONEYPOT_FIELD = "homepage"


@dataclass(frozen=True)
class ReceivedForm:
    """The small fields of a /submit body; the files are already inside the draft."""

    csrf_token: str
    honeypot: str
    message: bytes | None
    refusal: SubmissionRefused | None


class _SmallField(ValueTarget):  # type: ignore[misc]
    """A text field kept in memory, refused above ``limit`` bytes."""

    def __init__(self, limit: int, too_long: Callable[[], Exception]) -> None:
        super().__init__(validator=MaxSizeValidator(limit))
        self._too_long = too_long
        self.seen = False

    def on_start(self) -> None:
        self.seen = True

    def data_received(self, chunk: bytes) -> None:
        try:
            super().data_received(chunk)
        except ValidationError as exc:
            raise self._too_long() from exc


class _FileField(BaseTarget):  # type: ignore[misc]
    """Every part of the file field, each streamed into its own encryptor.

    An empty part without a name is what a browser sends when no file was chosen, and is
    ignored. The encryptor is opened at the first byte, so such parts cost nothing.
    """

    def __init__(self, draft: SubmissionDraft) -> None:
        super().__init__()
        self._draft = draft
        self._upload: FileUpload | None = None
        self._open = False
        self.refusal: SubmissionRefused | None = None

    @property
    def incomplete(self) -> bool:
        return self._open

    def on_start(self) -> None:
        self._open = True
        self._upload = None

    def on_data_received(self, chunk: bytes) -> None:
        if not chunk or self.refusal is not None:
            return
        if self._upload is None:
            try:
                self._upload = self._draft.open_file(self.multipart_filename or "")
            except SubmissionRefused as refusal:
                # Remember and keep parsing: the CSRF check comes first when the body is read.
                self.refusal = refusal
                return
        self._upload.write(chunk)

    def on_finish(self) -> None:
        self._open = False
        if self._upload is not None:
            self._upload.finish()
        elif self.multipart_filename and self.refusal is None:
            self.refusal = EmptyFile("The chosen file is empty.")


def receive_form(
    stream: IO[bytes],
    content_type: str,
    draft: SubmissionDraft,
    answers: StreamedAnswers | None = None,
) -> ReceivedForm:
    """Parse the whole body of a /submit request, streaming files into ``draft``.

    Raises MalformedUpload for anything that is not complete multipart form data, and lets the
    draft's UploadTooLarge through (the caller answers 413). Other refusals (an empty file,
    uploads switched off) are returned, so the caller can check the CSRF token first.
    """
    try:
        parser = StreamingFormDataParser({"Content-Type": content_type})
    except ParseFailedException as exc:
        raise MalformedUpload("The request is not multipart form data.") from exc

    def malformed() -> Exception:
        return MalformedUpload("A small form field is far too long.")

    csrf = _SmallField(_SMALL_FIELD_BYTES, malformed)
    honeypot = _SmallField(_SMALL_FIELD_BYTES, malformed)
    message = _SmallField(MESSAGE_MAX_BYTES, lambda: MessageTooLong(MESSAGE_MAX_BYTES))
    files = _FileField(draft)
    parser.register(CSRF_FIELD, csrf)
    parser.register(HONEYPOT_FIELD, honeypot)
    parser.register(MESSAGE_FIELD, message)
    parser.register(FILE_FIELD, files)
    if answers is not None:
        # The consent and intake questions: small, bounded fields collected in memory.
        answers.register(parser)
    try:
        while chunk := stream.read(READ_BYTES):
            parser.data_received(chunk)
    except ParseFailedException as exc:
        raise MalformedUpload("The form data is malformed.") from exc
    if files.incomplete:
        raise MalformedUpload("The form data ended in the middle of a file.")
    if not (csrf.seen or message.seen or honeypot.seen):
        # Every real form sends the token first; a body without any part we know is garbage
        # or was cut off, and the CSRF check would only hide that.
        raise MalformedUpload("The form data holds none of the expected fields.")
    return ReceivedForm(
        csrf_token=csrf.value.decode("utf-8", "replace"),
        honeypot=honeypot.value.decode("utf-8", "replace"),
        message=message.value if message.seen else None,
        refusal=files.refusal,
    )
