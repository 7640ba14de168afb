"""Evidence storage keeps bytes exact, content-addressed, bounded, and inside its root."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from obstore.store import MemoryStore

from corps.storage import (
    HEAD_BYTES,
    BlobNotFound,
    BlobTooLarge,
    FileStorage,
    InvalidKey,
    Storage,
    key_for,
    parse_s3_url,
    storage_from_url,
)
from corps.storage.s3 import S3Storage

MiB = 1 << 20


async def stream(data: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


async def read_all(storage: Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open(key)])


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> FileStorage:
    return FileStorage(tmp_path / "storage")


async def test_a_stream_comes_back_byte_identical_under_its_sha256(store: FileStorage) -> None:
    data = os.urandom(3 * MiB + 12345)
    blob = await store.put_stream(stream(data), max_bytes=10 * MiB)

    sha = hashlib.sha256(data).hexdigest()
    assert (blob.sha256, blob.size, blob.existed) == (sha, len(data), False)
    assert blob.key == key_for(sha) == f"sha256/{sha[:2]}/{sha[2:4]}/{sha}"
    assert blob.head == data[:HEAD_BYTES]
    assert await read_all(store, blob.key) == data
    assert await store.sha256_of(blob.key) == sha
    assert await store.size(blob.key) == len(data)
    assert await store.exists(blob.key)


async def test_stored_evidence_is_read_only_and_under_the_root(store: FileStorage) -> None:
    blob = await store.put_stream(stream(b"photo bytes"), max_bytes=100)
    path = store.local_path(blob.key)
    assert path.is_relative_to(store.root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


async def test_the_same_content_twice_is_stored_once(store: FileStorage) -> None:
    data = b"the same testimony" * 1000
    first = await store.put_stream(stream(data, 1000), max_bytes=MiB)
    second = await store.put_stream(stream(data, 777), max_bytes=MiB)

    assert (first.existed, second.existed) == (False, True)
    assert first.key == second.key
    assert files_under(store.root) == [store.local_path(first.key)]


async def test_simultaneous_uploads_of_the_same_bytes_agree_on_one_first(
    store: FileStorage,
) -> None:
    data = os.urandom(200_000)
    blobs = await asyncio.gather(*(store.put_stream(stream(data), max_bytes=MiB) for _ in range(8)))
    assert sorted(b.existed for b in blobs) == [False] + [True] * 7
    assert files_under(store.root) == [store.local_path(blobs[0].key)]


async def test_exactly_max_bytes_is_accepted(store: FileStorage) -> None:
    blob = await store.put_stream(stream(b"x" * 1000, 300), max_bytes=1000)
    assert blob.size == 1000


async def test_one_byte_over_max_bytes_is_refused_and_leaves_nothing(store: FileStorage) -> None:
    with pytest.raises(BlobTooLarge) as caught:
        await store.put_stream(stream(b"x" * 1001, 300), max_bytes=1000)
    assert caught.value.limit == 1000
    assert files_under(store.root) == []


async def test_a_stream_that_fails_midway_leaves_nothing(store: FileStorage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * MiB
        yield b"b" * MiB
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put_stream(broken(), max_bytes=10 * MiB)
    assert files_under(store.root) == []


@pytest.mark.parametrize(
    "key",
    [
        "../outside",
        "sha256/../../outside",
        "dossiers/../../outside",
        "/etc/passwd",
        "//etc/passwd",
        "tmp/anything",
        "a//b",
        "./a",
        "a/./b",
        "Upper",
        "ok\n",
        "",
        "sha256/ab/cd/" + "0" * 64 + "/../x",
    ],
)
async def test_keys_that_could_escape_or_clash_are_refused(store: FileStorage, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.local_path(key)
    with pytest.raises(InvalidKey):
        await store.exists(key)
    with pytest.raises(InvalidKey):
        await read_all(store, key)
    with pytest.raises(InvalidKey):
        await store.delete(key)


async def test_a_symlink_inside_the_root_does_not_lead_outside(
    store: FileStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not evidence")
    (store.root / "reports").symlink_to(outside)
    with pytest.raises(InvalidKey):
        await read_all(store, "reports/secret")


async def test_sha256_of_detects_an_edited_byte(store: FileStorage) -> None:
    data = os.urandom(100_000)
    blob = await store.put_stream(stream(data), max_bytes=MiB)
    path = store.local_path(blob.key)
    path.chmod(0o644)
    with path.open("r+b") as fh:
        fh.seek(54_321)
        original = fh.read(1)
        fh.seek(54_321)
        fh.write(bytes([original[0] ^ 0x01]))

    assert await store.sha256_of(blob.key) != blob.sha256


async def test_a_64_mib_upload_never_holds_more_than_a_few_chunks(store: FileStorage) -> None:
    async def big() -> AsyncIterator[bytes]:
        for i in range(64):
            yield bytes([i]) * MiB

    tracemalloc.start()
    try:
        blob = await store.put_stream(big(), max_bytes=100 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size == 64 * MiB
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"


async def test_open_streams_in_the_requested_chunk_size(store: FileStorage) -> None:
    blob = await store.put_stream(stream(b"z" * 2500), max_bytes=MiB)
    sizes = [len(chunk) async for chunk in store.open(blob.key, chunk_size=1000)]
    assert sizes == [1000, 1000, 500]


async def test_a_missing_blob_is_reported_as_not_found(store: FileStorage) -> None:
    key = key_for("0" * 64)
    assert not await store.exists(key)
    with pytest.raises(BlobNotFound):
        await read_all(store, key)
    with pytest.raises(BlobNotFound):
        await store.size(key)
    with pytest.raises(BlobNotFound):
        await store.sha256_of(key)


async def test_delete_undoes_a_put(store: FileStorage) -> None:
    blob = await store.put_stream(stream(b"row failed to commit"), max_bytes=100)
    await store.delete(blob.key)
    assert not await store.exists(blob.key)
    await store.delete(blob.key)  # a retried undo is harmless
    await store.delete(key_for("f" * 64))  # and so is one for a put that never landed


async def test_put_file_stores_and_replaces_a_dossier(store: FileStorage, tmp_path: Path) -> None:
    local = tmp_path / "dossier.zip"
    local.write_bytes(b"first render")
    await store.put_file("dossiers/42/dossier.zip", local)
    local.write_bytes(b"second render")
    await store.put_file("dossiers/42/dossier.zip", local)

    assert await read_all(store, "dossiers/42/dossier.zip") == b"second render"
    assert list((store.root / "tmp").iterdir()) == []


async def test_put_file_cannot_forge_a_content_address(store: FileStorage, tmp_path: Path) -> None:
    local = tmp_path / "fake.bin"
    local.write_bytes(b"not what the hash says")
    with pytest.raises(InvalidKey):
        await store.put_file(key_for("a" * 64), local)


def test_key_for_refuses_what_is_not_a_hex_digest() -> None:
    for bad in ("A" * 64, "a" * 63, "../" + "a" * 61, "g" * 64):
        with pytest.raises(InvalidKey):
            key_for(bad)


def test_a_relative_file_url_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = storage_from_url("file://./var/storage")
    assert isinstance(storage, FileStorage)
    assert storage.root == tmp_path / "var" / "storage"
    assert (tmp_path / "var" / "storage" / "tmp").is_dir()


def test_an_absolute_file_url_is_used_as_is(tmp_path: Path) -> None:
    storage = storage_from_url(f"file://{tmp_path}/abs store")
    assert isinstance(storage, FileStorage)
    assert storage.root == tmp_path / "abs store"


def test_s3_urls_name_a_bucket_and_a_prefix() -> None:
    assert parse_s3_url("s3://evidence-bucket/ej/prod/") == ("evidence-bucket", "ej/prod")
    assert parse_s3_url("s3://evidence-bucket") == ("evidence-bucket", "")
    assert isinstance(storage_from_url("s3://evidence-bucket/ej"), S3Storage)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3://b/p?x=1", "gs://b/p", "file://"])
def test_unusable_storage_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        storage_from_url(url)


# S3Storage cannot reach S3 here; obstore's in-memory store exercises the same code paths.


@pytest.fixture
def memory_store() -> S3Storage:
    return S3Storage(MemoryStore())


async def test_object_storage_round_trip_and_dedupe(memory_store: S3Storage) -> None:
    data = os.urandom(300_000)
    first = await memory_store.put_stream(stream(data), max_bytes=MiB)
    second = await memory_store.put_stream(stream(data, 4096), max_bytes=MiB)

    sha = hashlib.sha256(data).hexdigest()
    assert (first.key, first.sha256, first.existed, second.existed) == (
        key_for(sha),
        sha,
        False,
        True,
    )
    assert await read_all(memory_store, first.key) == data
    assert await memory_store.sha256_of(first.key) == sha
    assert await memory_store.size(first.key) == len(data)
    assert memory_store.local_path(first.key) is None


async def test_object_storage_leaves_nothing_after_a_refused_upload(
    memory_store: S3Storage,
) -> None:
    import obstore

    with pytest.raises(BlobTooLarge):
        await memory_store.put_stream(stream(b"x" * 1001, 100), max_bytes=1000)
    assert obstore.list(memory_store._store).collect() == []
