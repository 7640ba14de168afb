"""The one multipart reader: fields, a file streamed with its hash, and the caps while streaming."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable

import pytest

from corps.errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from corps.uploads import MultipartUpload, UploadLimits, open_upload

BOUNDARY = "t3st"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
LIMITS = UploadLimits(
    max_bytes=64 * 1024, max_field_bytes=100, max_fields=3, noun="Test files", send_as="the test"
)


def field(name: str, value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )


def file_head(filename: str = "f.bin", name: str = "file") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()


END = f"--{BOUNDARY}--\r\n".encode()


class Body:
    """A request body handed over in small chunks, counting what the reader pulled."""

    def __init__(self, parts: Iterable[bytes], chunk: int = 1000) -> None:
        self.parts, self.chunk, self.pulled = parts, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            for start in range(0, len(part), self.chunk):
                piece = part[start : start + self.chunk]
                self.pulled += len(piece)
                yield piece


async def read_all(upload: MultipartUpload) -> bytes:
    return b"".join([chunk async for chunk in upload.file()])


async def open_body(body: Body, limits: UploadLimits = LIMITS) -> MultipartUpload:
    return await open_upload(
        body.__aiter__(), content_type=CONTENT_TYPE, content_length=None, limits=limits
    )


async def test_fields_around_the_file_and_the_file_with_its_hash_and_size() -> None:
    data = bytes(range(256)) * 100
    body = Body([field("title", "Før"), file_head("report.pdf"), data, b"\r\n"])
    body.parts = [*body.parts, field("kind", "photo"), END]  # a field after the file
    upload = await open_body(body)
    assert upload.fields == {"title": "Før"} and upload.filename == "report.pdf"
    assert await read_all(upload) == data
    assert await upload.finish() == {"title": "Før", "kind": "photo"}
    assert upload.size == len(data)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_part_named_file_without_a_filename_is_the_file() -> None:
    upload = await open_body(Body([field("file", "abc"), END]))
    assert upload.filename is None
    assert await read_all(upload) == b"abc"


async def test_the_file_streams_before_the_body_is_read() -> None:
    big = b"x" * 60_000
    body = Body([file_head(), big, b"\r\n", END])
    upload = await open_body(body)
    first = await anext(upload.file().__aiter__())
    assert first and body.pulled <= 2 * body.chunk  # one chunk in, not the whole body


async def test_the_cap_is_a_413_while_streaming_not_after() -> None:
    def endless() -> Iterable[bytes]:
        yield file_head()
        while True:
            yield b"y" * 10_000

    body = Body(endless())
    upload = await open_body(body)
    with pytest.raises(PayloadTooLarge) as caught:
        await read_all(upload)
    assert "Test files are limited to 0 MB; nothing was kept." in caught.value.detail
    assert body.pulled <= LIMITS.max_bytes + 2 * body.chunk


async def test_a_declared_length_past_the_cap_is_a_413_before_reading() -> None:
    body = Body([file_head(), b"z", END])
    with pytest.raises(PayloadTooLarge):
        await open_upload(
            body.__aiter__(), content_type=CONTENT_TYPE, content_length=10**9, limits=LIMITS
        )
    assert body.pulled == 0


async def test_a_field_past_its_length_is_422() -> None:
    with pytest.raises(Unprocessable, match="too long"):
        await open_body(Body([field("title", "t" * 101), file_head(), b"a\r\n", END]))


async def test_more_fields_than_allowed_is_422_before_or_after_the_file() -> None:
    many = [field(f"f{i}", "v") for i in range(4)]
    with pytest.raises(Unprocessable, match="too many fields"):
        await open_body(Body([*many, file_head(), b"a\r\n", END]))
    upload = await open_body(Body([file_head(), b"a\r\n", *many, END]))
    with pytest.raises(Unprocessable, match="too many fields"):
        await upload.finish()


async def test_a_form_without_a_file_is_422_naming_the_part() -> None:
    with pytest.raises(Unprocessable) as caught:
        await open_body(Body([field("title", "x"), END]))
    assert caught.value.extra["errors"][0]["loc"] == ["body", "file"]


async def test_a_second_file_is_422() -> None:
    upload = await open_body(Body([file_head(), b"a\r\n", file_head("two"), b"b\r\n", END]))
    with pytest.raises(Unprocessable, match="one file per upload"):
        await upload.finish()


async def test_a_malformed_body_is_422() -> None:
    with pytest.raises(Unprocessable, match="malformed"):
        await open_body(Body([b"--not-the-boundary\r\n\x00\x00garbage" * 10]))


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "multipart/form-data", "text/plain; boundary=x"]
)
async def test_anything_but_multipart_is_415(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType, match="Send the test as multipart/form-data"):
        await open_upload(
            Body([END]).__aiter__(), content_type=content_type, content_length=None, limits=LIMITS
        )
