"""Users (argon2-hashed passwords), browser sessions and API tokens.

Session cookies and API tokens are random strings shown to their holder once; the database
keeps only their SHA-256, so a leaked database copy opens no session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from journeyscope.store.errors import Invalid, NotFound, Unauthorized
from journeyscope.store.models import ApiToken, Session, User, utcnow

TOKEN_PREFIX = "jst_"
MIN_PASSWORD = 8
_EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_hasher = PasswordHasher()
# Verifying against a dummy hash when the e-mail is unknown keeps login time the same for known
# and unknown addresses.
_DUMMY_HASH = _hasher.hash("journeyscope-dummy-password")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL_RE.match(email):
        raise Invalid(f"{email!r} is not an e-mail address", [(("email",), "not an e-mail "
                                                               "address, e.g. ana@example.com")])
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password too short: use at least {MIN_PASSWORD} characters",
                      [(("password",), f"use at least {MIN_PASSWORD} characters")])
    if len(password) > 1000:
        raise Invalid("password too long: use at most 1000 characters",
                      [(("password",), "use at most 1000 characters")])


def create_user(db: DbSession, email: str, password: str, *, name: str = "",
                admin: bool = False) -> User:
    """Add a user with an argon2 hash of `password`. Raises `Invalid` for a taken e-mail."""
    email = normalise_email(email)
    check_password(password)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid(f"a user with e-mail {email} exists already",
                      [(("email",), "a user with this e-mail exists already")])
    user = User(email=email, name=name.strip()[:200], password_hash=_hasher.hash(password),
                is_admin=admin)
    db.add(user)
    db.flush()
    return user


def set_password(db: DbSession, user: User, password: str) -> None:
    check_password(password)
    user.password_hash = _hasher.hash(password)
    db.execute(delete(Session).where(Session.user_id == user.id))


def user_by_email(db: DbSession, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(db: DbSession, email: str, password: str) -> User:
    """The user with this e-mail and password; `Unauthorized` otherwise (same message for an
    unknown e-mail and a wrong password). Only reads: run it outside a write transaction,
    since checking an argon2 hash takes tens of milliseconds on purpose."""
    user = user_by_email(db, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None:
        raise Unauthorized("wrong e-mail or password")
    return user


def needs_rehash(user: User) -> bool:
    """Whether the password hash was made with older argon2 parameters."""
    return _hasher.check_needs_rehash(user.password_hash)


# -- browser sessions ---------------------------------------------------------------------------


def start_session(db: DbSession, user: User, days: float = 14) -> str:
    """A new session for `user`; returns the cookie value (shown only here)."""
    token = secrets.token_urlsafe(32)
    db.add(Session(token_hash=digest(token), user_id=user.id,
                   expires_at=utcnow() + dt.timedelta(days=days)))
    db.execute(delete(Session).where(Session.user_id == user.id, Session.expires_at < utcnow()))
    return token


def session_user(db: DbSession, token: str) -> User | None:
    """The user of a live session cookie, or None."""
    if not token or len(token) > 200:
        return None
    row = db.scalar(select(Session).where(Session.token_hash == digest(token)))
    if row is None or row.expires_at < utcnow():
        return None
    return row.user


def end_session(db: DbSession, token: str) -> None:
    db.execute(delete(Session).where(Session.token_hash == digest(token)))


# -- API tokens -----------------------------------------------------------------------------


def create_token(db: DbSession, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token for `user`: the row and the secret (shown only here)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("token name: give the token a name of 1 to 200 characters",
                      [(("name",), "give the token a name of 1 to 200 characters")])
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(token_hash=digest(secret), prefix=secret[:10], name=name, user_id=user.id)
    db.add(row)
    db.flush()
    return row, secret


def token_user(db: DbSession, secret: str) -> User | None:
    """The user of an API token, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    return row.user if row else None


def list_tokens(db: DbSession, user: User) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.id)))


def revoke_token(db: DbSession, user: User, token_id: int) -> None:
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("no such token")
    db.delete(row)
