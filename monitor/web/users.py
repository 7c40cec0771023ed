"""Review-inbox users: names, roles, argon2 password hashes, kept in the database."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import UserError
from monitor.storage.schema import UserRow, WebSecretRow

ROLES = ("agent", "viewer")
"""agent: works the inbox (status, labels, drafts, incidents); viewer: reads only."""
MIN_PASSWORD = 10
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_change(self) -> bool:
        return self.role == "agent"


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError("a user name is 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def add_user(session: Session, name: str, role: str, password: str) -> User:
    check_name(name)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (use {' or '.join(ROLES)})")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(UserRow).where(UserRow.name == name)) is not None:
        raise UserError(f"user {name!r} exists already (use `users passwd` or `users remove`)")
    session.add(UserRow(name=name, role=role, password_hash=_HASHER.hash(password)))
    session.flush()
    return User(name, role)


def set_password(session: Session, name: str, password: str) -> None:
    row = _get(session, name)
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    row.password_hash = _HASHER.hash(password)


def remove_user(session: Session, name: str) -> None:
    session.delete(_get(session, name))


def list_users(session: Session) -> list[User]:
    return [User(r.name, r.role) for r in session.scalars(select(UserRow).order_by(UserRow.name))]


def _get(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise UserError(f"no user {name!r}")
    return row


def authenticate(session: Session, name: str, password: str) -> User | None:
    row = session.scalar(select(UserRow).where(UserRow.name == name)) if _NAME.fullmatch(name or "") else None
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = _HASHER.hash(password)
    return User(row.name, row.role)


def current_user(session: Session, name: str | None) -> User | None:
    """The user a session names, if they still exist (a removed user's session stops working)."""
    if not name:
        return None
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    return User(row.name, row.role) if row else None


def session_secret(session: Session) -> str:
    """The key that signs session cookies: made once, kept in the database."""
    row = session.get(WebSecretRow, "session")
    if row is None:
        row = WebSecretRow(name="session", value=secrets.token_urlsafe(48))
        session.add(row)
        session.flush()
    return row.value
