"""One streaming multipart/form-data reader: the form's fields and one capped, hashed file."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from corps.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType

MULTIPART_OVERHEAD = 256 * 1024  # room for the form's other fields and boundaries
MB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """What one kind of upload may hold, and the words its refusals use."""

    max_bytes: int
    max_field_bytes: int
    noun: str  # "Evidence files" are limited to ...
    send_as: str  # Send "the evidence" as multipart/form-data ...
    max_fields: int = 16


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    is_file: bool = False
    data: bytearray = field(default_factory=bytearray)


class MultipartUpload:
    """A multipart body read once, in order: fields, the one file part's bytes, later fields.

    Fields are kept (few and short, or 422); the file's bytes are handed on as they arrive,
    counted against the cap (413 the moment it is passed) and hashed, never held whole.
    """

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes, limits: UploadLimits) -> None:
        self.limits = limits
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self._digest = hashlib.sha256()
        self._body = body.__aiter__()
        self._events: deque[bytes | None] = deque()  # file bytes; None ends the file part
        self._body_done = self._seen_file = self._file_done = False
        self._part = _Part()
        self._hfield, self._hvalue = bytearray(), bytearray()
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._hfield.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._hvalue.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    @property
    def sha256(self) -> str:
        """The SHA-256 (hex) of the file bytes read so far; of the whole file once it is read."""
        return self._digest.hexdigest()

    def _begin(self) -> None:
        self._part = _Part()

    def _header_end(self) -> None:
        name = self._hfield.decode("latin-1").lower()
        self._part.headers[name] = self._hvalue.decode("utf-8", "replace")
        self._hfield, self._hvalue = bytearray(), bytearray()

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._part.headers.get("content-disposition", ""))
        raw_name, raw_filename = options.get(b"name"), options.get(b"filename")
        self._part.name = raw_name.decode("utf-8", "replace") if raw_name else None
        if raw_filename is not None or self._part.name == "file":
            if self._seen_file:
                raise Unprocessable("Send one file per upload.")
            self._part.is_file = self._seen_file = True
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename else None

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = bytes(data[start:end])
        if not self._part.is_file:
            self._part.data += chunk
            if len(self._part.data) > self.limits.max_field_bytes:
                raise Unprocessable(f"The form field {self._part.name!r} is too long.")
            return
        self.size += len(chunk)
        if self.size > self.limits.max_bytes:
            limit_mb = self.limits.max_bytes // MB
            raise PayloadTooLarge(
                f"{self.limits.noun} are limited to {limit_mb} MB; nothing was kept."
            )
        self._digest.update(chunk)
        self._events.append(chunk)

    def _end(self) -> None:
        if self._part.is_file:
            self._events.append(None)
        elif self._part.name:
            if len(self.fields) >= self.limits.max_fields:
                raise Unprocessable("The form has too many fields.")
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")

    async def _feed(self) -> bool:
        """Parse the next piece of the body; False once it is all parsed."""
        if self._body_done:
            return False
        try:
            chunk = await anext(self._body, None)
            if chunk is None:
                self._body_done = True
                self._parser.finalize()
            else:
                self._parser.write(chunk)
        except ValueError as exc:  # python-multipart reports malformed bodies this way
            raise Unprocessable(f"The multipart body is malformed: {exc}") from exc
        return True

    async def _until_file(self) -> None:
        while not self._seen_file:
            if not await self._feed():
                raise Unprocessable(
                    "The form has no `file` part.",
                    extra={"errors": [{"loc": ["body", "file"], "msg": "required"}]},
                )

    async def file(self) -> AsyncIterator[bytes]:
        """The file part's bytes as they arrive; 413 past the cap, 422 for a malformed body."""
        while not self._file_done:
            while self._events:
                chunk = self._events.popleft()
                if chunk is None:
                    self._file_done = True
                    return
                yield chunk
            if not await self._feed():
                self._file_done = True  # the body ended inside the file part: finalize said so

    async def finish(self) -> dict[str, str]:
        """Read the rest of the body (fields after the file); every field of the form."""
        async for _ in self.file():  # whatever of the file its reader left
            pass
        while await self._feed():
            self._events.clear()
        return self.fields


def boundary_of(content_type: str | None, send_as: str) -> bytes:
    """The multipart boundary of a Content-Type header, or a 415."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType(f"Send {send_as} as multipart/form-data with a `file` part.")
    return bytes(options[b"boundary"])


async def open_upload(
    body: AsyncIterator[bytes],
    *,
    content_type: str | None,
    content_length: int | None,
    limits: UploadLimits,
) -> MultipartUpload:
    """Read a multipart body up to its file part: 415 if not multipart, 413 if declared too big.

    422 when the form has no file part; the fields before the file are in `.fields`.
    """
    boundary = boundary_of(content_type, limits.send_as)
    if content_length is not None and content_length > limits.max_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"{limits.noun} are limited to {limits.max_bytes // MB} MB.")
    upload = MultipartUpload(body, boundary, limits)
    await upload._until_file()
    return upload
