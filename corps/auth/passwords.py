"""Argon2 password hashing, off the event loop in a small bounded thread pool."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from pwdlib import PasswordHash

# Argon2 spends ~50 ms of CPU and 64 MiB per hash and releases the GIL while it does: two
# threads keep sign-in floods from blocking the loop or the memory of the process.
HASH_THREADS = 2
_pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="argon2")


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache
def _dummy_hash() -> str:
    return _hasher().hash("ejcorps-dummy-password-for-timing")


def hash_password(password: str) -> str:
    """Hash a password with Argon2id."""
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash, spend the same time and fail (no user enumeration)."""
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    return _hasher().verify(password, password_hash)


async def hash_password_off_loop(password: str) -> str:
    """hash_password in the bounded Argon2 pool."""
    return await asyncio.get_running_loop().run_in_executor(_pool, hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    """verify_password in the bounded Argon2 pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, verify_password, password, password_hash)
