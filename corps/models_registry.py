"""Imports every ORM model so Alembic and the worker see the whole schema."""

from corps.audit import AuditEntry
from corps.db import Base
from corps.members.models import User
from corps.organizations.models import Organization

metadata = Base.metadata
__all__ = ["AuditEntry", "Organization", "User", "metadata"]
