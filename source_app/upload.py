"""Reading the /submit form straight from the request body into the submission pipeline.

The body is read in large chunks straight from the WSGI server's input (`RequestBody`) and
parsed by streaming-form-data (a Cython multipart parser); each file part's bytes go directly
into core.submissions, which pipes them into gpg. Small fields (the CSRF token, the honeypot,
the message) are kept in memory with hard size limits. Werkzeug's own form parser, which would
spool files to /tmp, is never involved.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

from streaming_form_data import StreamingFormDataParser
from streaming_form_data.parser import ParseFailedException
from streaming_form_data.targets import BaseTarget, ValueTarget
from streaming_form_data.validators import MaxSizeValidator, ValidationError

from core.errors import EmptyFile, MessageTooLong, SubmissionRefused, UploadTooLarge
from core.submissions import MESSAGE_MAX_BYTES, FileUpload, SubmissionDraft
from source_app.answers import StreamedAnswers
from source_app.errors import MalformedUpload, TooManyParts

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
#: Parts in one /submit body: our form has the files, three small fields and a few dozen
#: answers; thousands of tiny parts would only cost parser time.
MAX_PARTS_PER_REQUEST = 200


class PartCounter:
    """Counts the multipart delimiters of a body as it streams, across chunk edges.

    The streaming parser calls back only for parts whose names it was given; this sees every
    part, named or not, and raises :class:`TooManyParts` past ``limit``.
    """

    def __init__(self, content_type: str, limit: int) -> None:
        boundary = _boundary_of(content_type)
        self._delimiter = b"\r\n--" + boundary if boundary else b""
        self._limit = limit
        self._seen = 0
        # The body may start with the delimiter without its leading CRLF.
        self._tail = b"\r\n"

    def feed(self, chunk: bytes) -> None:
        if not self._delimiter:
            return
        data = self._tail + chunk
        self._seen += data.count(self._delimiter)
        # The last delimiter counts once: its final "--" closes the body rather than opening.
        if self._seen - 1 > self._limit:
            raise TooManyParts(self._limit)
        # Shorter than a delimiter, so nothing counted here is counted again with the next
        # chunk, and a delimiter split across the edge is counted once it is whole.
        self._tail = data[-(len(self._delimiter) - 1):]


def _boundary_of(content_type: str) -> bytes:
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() == "boundary":
            value = value.strip().strip('"')
            try:
                return value.encode("ascii")
            except UnicodeEncodeError:
                return b""
    return b""


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class RequestBody:
    """The body of one request, read from the WSGI server's input and never past its end.

    Werkzeug's ``request.stream`` wraps the server's input in a LimitedStream, a RawIOBase whose
    every read allocates a buffer and copies the data twice more: at megabyte reads that was a
    large share of an upload's CPU. This reads the server's stream directly and keeps the two
    guarantees the wrapper gave: never past Content-Length (a read there would wait for the
    connection's next request) and never more than ``limit`` bytes in all (a chunked body
    announces no length, so it is counted as it arrives).
    """

    def __init__(self, environ: Mapping[str, Any], limit: int) -> None:
        self._stream: IO[bytes] = environ["wsgi.input"]
        self._limit = limit
        self._read = 0
        self._left = _announced_length(environ)
        if self._left is None and not environ.get("wsgi.input_terminated"):
            # Neither a length nor a server that ends the stream itself: reading could wait
            # for ever, so the body is taken as empty (and the form as malformed).
            self._left = 0

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the body; b"" at its end.

        Raises UploadTooLarge past ``limit`` and MalformedUpload when the body breaks off
        before its announced end or the server cannot read it (a bad chunk, a reset).
        """
        if self._left is not None and self._left > self._limit:
            raise UploadTooLarge(self._limit)
        # One byte past the limit is enough to know a body without a length is too large.
        want = min(size, self._limit + 1 - self._read)
        if self._left is not None:
            want = min(want, self._left)
        if want <= 0:
            return b""
        try:
            chunk = self._stream.read(want)
        except (OSError, ValueError) as exc:
            raise MalformedUpload("The request body could not be read to its end.") from exc
        self._read += len(chunk)
        if self._read > self._limit:
            raise UploadTooLarge(self._limit)
        if self._left is not None:
            if not chunk:
                raise MalformedUpload("The request body ended before its announced length.")
            self._left -= len(chunk)
        return chunk


def _announced_length(environ: Mapping[str, Any]) -> int | None:
    if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
        return None  # the length header, if any, does not describe a chunked body
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return length if length >= 0 else None


@dataclass(frozen=True)
class ReceivedForm:
    """The small fields of a /submit body; the files are already inside the draft."""

    csrf_token: str
    honeypot: str
    message: bytes | None
    refusal: SubmissionRefused | None
    #: The names of the files chosen, so a refused form can say which to choose again.
    file_names: tuple[str, ...] = ()


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
        self.names: list[str] = []

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
        if self.multipart_filename:
            self.names.append(str(self.multipart_filename))
        if self._upload is not None:
            self._upload.finish()
        elif self.multipart_filename and self.refusal is None:
            self.refusal = EmptyFile("The chosen file is empty.")


def receive_form(
    stream: Readable,
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
    parts = PartCounter(content_type, MAX_PARTS_PER_REQUEST)
    try:
        while chunk := stream.read(READ_BYTES):
            parts.feed(chunk)
            parser.data_received(chunk)
    except (ParseFailedException, UnicodeDecodeError) as exc:
        # The parser decodes part headers as UTF-8 and raises for bytes that are not.
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
        file_names=tuple(files.names),
    )
