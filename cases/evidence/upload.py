"""Streaming multipart upload: the file part goes to storage, hashed and sniffed on the way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from cases.evidence.sniff import SniffedType, UnsupportedType, sniff
from corps.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from corps.storage import BlobTooLarge, Claim, Storage, StoredBlob

SNIFF_BYTES = 8192
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16
MULTIPART_OVERHEAD = 256 * 1024  # room for the form's other fields and boundaries


@dataclass
class ReceivedUpload:
    """A stored file part with the form's other fields."""

    blob: StoredBlob
    media: SniffedType
    filename: str | None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _FormReader:
    """Feeds the request body to a multipart parser and hands out what it parsed, in order."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self.body = body
        self.events: list[tuple[str, object]] = []
        self.part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._begin,
                "on_part_data": self._data,
                "on_part_end": self._end,
                "on_header_field": self._hfield,
                "on_header_value": self._hvalue,
                "on_header_end": self._hend,
                "on_headers_finished": self._headers_done,
            },
        )

    def _begin(self) -> None:
        self.part = _Part()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _hend(self) -> None:
        name = self._header_field.decode("latin-1").lower()
        self.part.headers[name] = self._header_value.decode("utf-8", "replace")
        self._header_field, self._header_value = bytearray(), bytearray()

    def _headers_done(self) -> None:
        _, options = parse_options_header(self.part.headers.get("content-disposition", ""))
        raw_name, raw_filename = options.get(b"name"), options.get(b"filename")
        self.part.name = raw_name.decode("utf-8", "replace") if raw_name else None
        self.part.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None
        if self.part.filename is not None:
            self.events.append(("file_start", self.part.filename))

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.part.filename is not None:
            self.events.append(("file_data", bytes(data[start:end])))
            return
        self.part.data += data[start:end]
        if len(self.part.data) > MAX_FIELD_BYTES:
            raise Unprocessable(f"The form field {self.part.name!r} is too long.")

    def _end(self) -> None:
        if self.part.filename is not None:
            self.events.append(("file_end", None))
        elif self.part.name:
            self.events.append(
                ("field", (self.part.name, self.part.data.decode("utf-8", "replace")))
            )

    async def __aiter__(self) -> AsyncIterator[tuple[str, object]]:
        try:
            async for chunk in self.body:
                self.parser.write(chunk)
                while self.events:
                    yield self.events.pop(0)
            self.parser.finalize()
        except ValueError as exc:  # python-multipart reports malformed bodies this way
            raise Unprocessable(f"The multipart body is malformed: {exc}") from exc
        while self.events:
            yield self.events.pop(0)


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a Content-Type header, or a 415."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType("Send the evidence as multipart/form-data with a `file` part.")
    return options[b"boundary"]


async def receive_upload(
    storage: Storage,
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    max_bytes: int,
    claim: Claim,
) -> ReceivedUpload:
    """Stream the form's `file` part into storage; 413 past max_bytes, 415 for a refused type.

    `claim` holds the stored file for the caller's transaction, whose rollback removes it
    unless a committed row needs it; so nothing here deletes a file.
    """
    boundary = boundary_of(content_type)
    if content_length is not None and content_length > max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"Evidence files are limited to {max_bytes // (1024 * 1024)} MB.")
    events = _FormReader(body, boundary).__aiter__()
    fields: dict[str, str] = {}
    filename: str | None = None
    async for kind, value in events:
        if kind == "field":
            name, text = _field(value)
            if len(fields) >= MAX_FIELDS:
                raise Unprocessable("The form has too many fields.")
            fields[name] = text
        elif kind == "file_start":
            filename = str(value)
            break
    else:
        raise Unprocessable(
            "The form has no `file` part.",
            extra={"errors": [{"loc": ["body", "file"], "msg": "required"}]},
        )
    sniffed: list[SniffedType] = []

    async def file_bytes() -> AsyncIterator[bytes]:
        head = bytearray()
        async for kind, value in events:
            if kind == "file_end":
                break
            if kind != "file_data":
                continue
            chunk = value if isinstance(value, bytes) else b""
            if not sniffed:
                head += chunk
                if len(head) < SNIFF_BYTES:
                    continue
                sniffed.append(_sniff(bytes(head)))
                chunk, head = bytes(head), bytearray()
            yield chunk
        if not sniffed:
            sniffed.append(_sniff(bytes(head)))
            yield bytes(head)

    try:
        blob = await storage.put_stream(file_bytes(), max_bytes=max_bytes, claim=claim)
    except BlobTooLarge as exc:
        raise PayloadTooLarge(
            f"Evidence files are limited to {exc.limit // (1024 * 1024)} MB; nothing was kept."
        ) from exc
    async for kind, value in events:  # fields sent after the file
        if kind == "field":
            name, text = _field(value)
            fields[name] = text
        elif kind == "file_start":
            raise Unprocessable("Send one file per upload.")
    return ReceivedUpload(blob=blob, media=sniffed[0], filename=filename, fields=fields)


def _sniff(head: bytes) -> SniffedType:
    if not head:
        raise Unprocessable("The file is empty.")
    try:
        return sniff(head)
    except UnsupportedType as exc:
        raise UnsupportedMediaType(str(exc)) from exc


def _field(value: object) -> tuple[str, str]:
    assert isinstance(value, tuple)
    return str(value[0]), str(value[1])
