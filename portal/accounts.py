"""Accounts, passwords, sessions and sign-in rate limiting.

- Passwords are hashed with argon2id (argon2-cffi); a sign-in for an unknown or disabled account
  still costs one hash verification, so timing does not say which accounts exist.
- A session is a random token: the browser holds it signed (itsdangerous) in an HttpOnly cookie,
  the database holds only its sha256 with the user, the CSRF token and two timestamps, so the
  server ends it after `idle_timeout` without a request or `absolute_timeout` after sign-in,
  whatever the cookie says. Signing out or disabling the account deletes it.
- Sign-in failures are counted per account and per client address within `lockout` (the
  window). Nobody is locked out: after `max_failures` failures for an account (or
  `address_max_failures` from one address) each further attempt must wait a growing delay after
  the latest failure (1 s, 2 s, 4 s, ... at most `max_delay`); an attempt inside the delay is
  answered "wait N seconds" without its password being checked, and is not counted. The owner
  with the right password gets in once the delay has passed, however many wrong guesses others
  made; a guesser gets one try per delay. The failure is recorded before the password is
  checked (and withdrawn on success), so concurrent guesses cannot all slip through one gap.
  The address is the one `portal.client.client_address` trusts (the right-most untrusted hop).
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from store import accounts as db
from store.engine import write_if_free

Role = Literal["council", "analyst", "admin"]
MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about accounts that cannot be met; the message is one plain-English line."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: Role
    council_code: str | None
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def label(self) -> str:
        return f"{self.email} ({self.role}{' ' + self.council_code if self.council_code else ''})"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class SignIn:
    outcome: Literal["ok", "bad", "locked"]  # locked: slowed down, try again in `wait_seconds`
    user: User | None = None
    wait_seconds: int = 0


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if password.strip() != password:
        raise AccountError("the password must not start or end with spaces")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user(mapping: Mapping[Any, Any]) -> User:
    return User(
        id=mapping["id"],
        email=mapping["email"],
        role=mapping["role"],
        council_code=mapping["council_code"],
        disabled=bool(mapping["disabled"]),
        created_at=mapping["created_at"],
        last_login_at=mapping["last_login_at"],
    )


class Accounts:
    """The rules about accounts and sessions; `store.accounts` keeps the rows."""

    def __init__(
        self,
        engine: Engine,
        *,
        idle_timeout: timedelta = timedelta(minutes=30),
        absolute_timeout: timedelta = timedelta(hours=8),
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        address_max_failures: int = 20,
        max_delay: timedelta = timedelta(seconds=60),
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.engine = engine
        self.hasher = hasher or _hasher  # tests pass cheaper argon2 parameters
        self._dummy_hash: str | None = None  # verified for unknown accounts, so timing says nothing
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.max_failures = max_failures
        self.lockout = lockout
        self.address_max_failures = address_max_failures
        self.max_delay = max_delay

    # ---- accounts ----
    def add_user(self, email: str, role: str, password: str, council_code: str | None = None) -> User:
        email = normalise_email(email)
        if not _EMAIL.fullmatch(email):
            raise AccountError(f"{email!r} is not an email address")
        if role not in db.ROLES:
            raise AccountError(f"role must be one of {', '.join(db.ROLES)}, not {role!r}")
        if role == "council":
            if not council_code:
                raise AccountError("a council user needs --council (the council's GSS code)")
            council_code = _check_council(council_code)
        elif council_code:
            raise AccountError(f"an {role} user belongs to no council; leave out --council")
        check_password_strength(password)
        with self.engine.begin() as conn:
            if db.find_user_by_email(conn, email) is not None:
                raise AccountError(f"there is already an account for {email}")
            db.insert_user(
                conn,
                email=email,
                role=role,
                council_code=council_code,
                password_hash=self.hasher.hash(password),
                now=db.utcnow(),
            )
        user = self.get_by_email(email)
        assert user is not None
        return user

    def get_by_email(self, email: str) -> User | None:
        with self.engine.connect() as conn:
            row = db.find_user_by_email(conn, normalise_email(email))
        return _user(row) if row else None

    def get(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            row = db.find_user_by_id(conn, user_id)
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_user(row) for row in db.all_users(conn)]

    def set_disabled(self, email: str, disabled: bool = True) -> User:
        user = self.get_by_email(email)
        if user is None:
            raise AccountError(f"there is no account for {normalise_email(email)}")
        with self.engine.begin() as conn:
            db.update_user(conn, user.id, disabled=disabled, updated_at=db.utcnow())
            if disabled:  # a disabled account is signed out everywhere at once
                db.delete_sessions(conn, user_id=user.id)
        result = self.get(user.id)
        assert result is not None
        return result

    def set_password(self, email: str, password: str) -> User:
        user = self.get_by_email(email)
        if user is None:
            raise AccountError(f"there is no account for {normalise_email(email)}")
        check_password_strength(password)
        with self.engine.begin() as conn:
            db.update_user(conn, user.id, password_hash=self.hasher.hash(password), updated_at=db.utcnow())
            db.delete_sessions(conn, user_id=user.id)
        return user

    # ---- sign-in ----
    def _delay(self, count: int, free: int) -> timedelta:
        """How long after the latest failure the next attempt must wait, `count` failures in."""
        if count < free:
            return timedelta(0)
        return min(self.max_delay, timedelta(seconds=2 ** min(count - free, 30)))

    def wait_needed(self, email: str, client_ip: str) -> timedelta:
        """How long this account, from this address, must still wait before a sign-in is tried."""
        since = db.utcnow() - self.lockout
        now = db.utcnow()
        wait = timedelta(0)
        with self.engine.connect() as conn:
            for scope, subject, free in (
                ("account", normalise_email(email), self.max_failures),
                ("ip", client_ip, self.address_max_failures),
            ):
                count, latest = db.login_failure_stats(conn, scope, subject, since)
                if latest is not None:
                    wait = max(wait, latest + self._delay(count, free) - now)
        return wait

    def is_locked(self, email: str, client_ip: str) -> bool:
        return self.wait_needed(email, client_ip) > timedelta(0)

    def authenticate(self, email: str, password: str, client_ip: str) -> SignIn:
        email = normalise_email(email)[:254]
        client_ip = client_ip[:254]
        wait = self.wait_needed(email, client_ip)
        if wait > timedelta(0):
            return SignIn("locked", wait_seconds=max(1, math.ceil(wait.total_seconds())))
        # counted against the account before the (slow) check, withdrawn on success: a burst of
        # guesses at one account sent together meets the delay too. Against the address only once
        # it has failed: many people signing in at once behind one gateway (a council's network, the
        # start of a collection day) are not a burst of guesses, and their pending checks must not
        # make each other wait
        attempted = db.utcnow()
        with self.engine.begin() as conn:
            db.insert_login_failures(conn, [("account", email)], attempted)
            db.delete_login_failures(conn, before=attempted - self.lockout)  # outside every window now
        with self.engine.connect() as conn:
            row = db.find_user_by_email(conn, email)
        if row is None and self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        stored_hash: str = row["password_hash"] if row else str(self._dummy_hash)
        ok: bool
        try:
            ok = self.hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        user = _user(row) if row else None
        if not ok or user is None or user.disabled:
            with self.engine.begin() as conn:
                db.insert_login_failures(conn, [("ip", client_ip)], attempted)
            return SignIn("bad")
        with self.engine.begin() as conn:
            db.delete_login_failures(conn, scope="account", subject=email)
            values: dict[str, object] = {"last_login_at": db.utcnow()}
            if self.hasher.check_needs_rehash(stored_hash):
                values["password_hash"] = self.hasher.hash(password)
            db.update_user(conn, user.id, **values)
        return SignIn("ok", user)

    # ---- sessions ----
    def create_session(self, user: User) -> tuple[str, str]:
        """A new session for the user: (token for the cookie, CSRF token)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = db.utcnow()
        with self.engine.begin() as conn:
            db.insert_session(conn, token_hash=_token_hash(token), user_id=user.id, csrf_token=csrf, now=now)
            # Housekeeping: sessions past the absolute limit are dead anyway.
            db.delete_sessions(conn, created_before=now - self.absolute_timeout)
        return token, csrf

    def load_session(self, token: str) -> Session | None:
        """The live session for a token, touching its idle timer; None when unknown or expired."""
        key = _token_hash(token)
        now = db.utcnow()
        # a read first (no write lock: on SQLite a stalled writer must not hold up every page);
        # a write only when the session ends or its idle timer is due a touch
        with self.engine.connect() as conn:
            row = db.find_session(conn, key)
        if row is None:
            return None
        created, seen = row["session_created_at"], row["session_last_seen_at"]
        user = _user(row)
        if now - created > self.absolute_timeout or now - seen > self.idle_timeout or user.disabled:
            with self.engine.begin() as conn:
                db.delete_sessions(conn, token_hash=key)
            return None
        if now - seen > timedelta(seconds=15):  # do not write on every request
            # best effort: when a writer holds SQLite's lock, the timer waits for the next request
            write_if_free(self.engine, lambda conn: db.touch_session(conn, key, now))
        return Session(user=user, csrf_token=row["csrf_token"], created_at=created, last_seen_at=now)

    def end_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            db.delete_sessions(conn, token_hash=_token_hash(token))


def _check_council(code: str) -> str:
    from schemas.register import load_register

    registry = load_register()
    try:
        council = registry.get(code)
    except KeyError as error:
        raise AccountError(str(error)) from None
    if council.council_code != code.strip().upper():
        raise AccountError(f"{code!r} is not a GSS council code; use the code, e.g. {council.council_code}")
    return council.council_code
