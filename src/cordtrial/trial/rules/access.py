"""Who may do what, and where: roles, permissions, site scope, passwords and lockout.

Roles (issue 4): ``admin`` (everything, every site); ``investigator`` (enter and correct clinical
data, assess eligibility, randomize, record administrations and adverse events, sign);
``coordinator`` (enter and correct data, schedule visits, enrol, answer data queries);
``monitor`` (read, raise and close data queries, read the audit trail); ``statistician``
(read-only, pseudonymized export); ``reader`` (issue 14: a central imaging reader, who sees
only the MRI reads assigned to them, blinded, and nothing else of the trial). Every role but
``admin`` sees only the sites it is assigned to, unless the user is given all sites.

Passwords are hashed with Argon2id (RFC 9106) through argon2-cffi. A password has 12 to 256
characters (NIST SP 800-63B 5.1.1.2 asks for at least 8 and for no composition rules, but for a
check against lists of common, expected or compromised values): it must not hold the user name,
the person's name or a trial's protocol id, and the zxcvbn strength estimator (Wheeler 2016,
USENIX Security) must rate it at least ``MIN_PASSWORD_SCORE`` (3: "safely unguessable", more than
10^8 guesses) with those words as known user inputs. After ``MAX_FAILED_LOGINS`` failures in a row
an account is locked for ``LOCKOUT_MINUTES``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from argon2 import Parameters, PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from cordtrial.trial.errors import InvalidValueError
from cordtrial.trial.rules.checks import check_text
from cordtrial.trial.rules.identifiers import check_identifier

__all__ = [
    "LOCKOUT_MINUTES",
    "MAX_FAILED_LOGINS",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MIN_PASSWORD_SCORE",
    "PASSWORD_HASH_PROFILES",
    "PERMISSIONS",
    "ROLES",
    "Action",
    "Role",
    "can",
    "can_see_site",
    "check_full_name",
    "check_password_policy",
    "check_username",
    "dummy_password_hash",
    "export_mode",
    "hash_password",
    "is_locked",
    "lockout_after_failure",
    "needs_rehash",
    "password_hash_parameters",
    "set_password_hash_profile",
    "verify_password",
]

Role = Literal["admin", "investigator", "coordinator", "monitor", "statistician", "reader"]
ROLES: Final = frozenset(get_args(Role))

Action = Literal[
    "read",
    "enter_data",
    "correct_data",
    "enrol",
    "assess_eligibility",
    "randomize",
    "administer",
    "report_adverse_event",
    "raise_query",
    "answer_query",
    "close_query",
    "sign",
    "export_pseudonymized",
    "manage_product",
    "manage_trial",
    "manage_users",
    "read_audit",
    # issue 14: make the central MRI reads assigned to oneself (blinded); assign readers
    "read_images",
    "manage_imaging",
    "report",
    # issue 15: mark a concomitant medication flagged for an interaction with the
    # immunosuppressant as reviewed (an investigator's clinical judgement)
    "review_medication",
    # issue 15: set the protocol's immunosuppression regimen (trial-wide); stop a participant's
    # immunosuppression with its reason (an investigator's decision)
    "manage_regimen",
    "stop_immunosuppression",
]

_CLINICAL: frozenset[Action] = frozenset(
    {"read", "enter_data", "correct_data", "enrol", "report_adverse_event", "raise_query",
     "answer_query"}
)  # fmt: skip
#: The actions each role may take.
PERMISSIONS: Final[dict[Role, frozenset[Action]]] = {
    "admin": frozenset(get_args(Action)),
    "investigator": _CLINICAL
    | {
        "assess_eligibility",
        "randomize",
        "administer",
        "sign",
        "manage_product",
        "manage_imaging",
        "report",
        "review_medication",
        "stop_immunosuppression",
    },
    "coordinator": _CLINICAL,
    "monitor": frozenset({"read", "raise_query", "close_query", "read_audit", "report"}),
    "statistician": frozenset({"read", "export_pseudonymized", "report"}),
    # a central reader reads no clinical data: only the MRIs assigned to them (issue 14)
    "reader": frozenset({"read_images"}),
}

MIN_PASSWORD_LENGTH = 12
#: Longer passwords are refused before hashing (a megabyte "password" costs the server, not the
#: attacker).
MAX_PASSWORD_LENGTH = 256
#: The least zxcvbn score accepted (0-4).
MIN_PASSWORD_SCORE = 3
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15

#: Argon2id cost profiles. ``production`` is RFC 9106's second recommended option (low memory:
#: t=3, m=64 MiB, p=4), argon2-cffi's default; ``test`` is the cheapest the library allows, for
#: test suites only (it makes a hash in microseconds, so it must never protect a real store).
PASSWORD_HASH_PROFILES: Final[dict[str, Parameters]] = {
    "production": profiles.RFC_9106_LOW_MEMORY,
    "test": profiles.CHEAPEST,
}

_HASHER = PasswordHasher.from_parameters(PASSWORD_HASH_PROFILES["production"])


def set_password_hash_profile(name: str) -> None:
    """Hash new passwords with the named cost profile (``production`` or ``test``).

    Verification reads the cost from each stored hash, so hashes made under either profile keep
    verifying; a hash made under a cheaper profile than the current one needs a rehash.
    """
    global _HASHER
    if name not in PASSWORD_HASH_PROFILES:
        raise InvalidValueError("password_hash_profile", name, " or ".join(PASSWORD_HASH_PROFILES))
    _HASHER = PasswordHasher.from_parameters(PASSWORD_HASH_PROFILES[name])


def password_hash_parameters() -> Parameters:
    """The Argon2 parameters new password hashes are made with."""
    return Parameters(
        type=_HASHER.type,
        version=19,
        salt_len=_HASHER.salt_len,
        hash_len=_HASHER.hash_len,
        time_cost=_HASHER.time_cost,
        memory_cost=_HASHER.memory_cost,
        parallelism=_HASHER.parallelism,
    )


def can(role: str, action: str) -> bool:
    """True when ``role`` may take ``action`` (unknown roles and actions may do nothing)."""
    return action in PERMISSIONS.get(role, frozenset())  # type: ignore[call-overload]


def can_see_site(role: str, all_sites: bool, site_ids: Collection[int], site_id: int) -> bool:
    """True when a user may see a site's data: admins and all-sites users everywhere, others
    only at their sites."""
    return role == "admin" or all_sites or site_id in site_ids


def export_mode(role: str) -> Literal["identified", "pseudonymized"] | None:
    """The export a role may make: admins an identified one, roles allowed
    ``export_pseudonymized`` (statisticians) a pseudonymized one, other roles none (they read
    through the API and pages, scoped to their sites)."""
    if role == "admin":
        return "identified"
    if can(role, "export_pseudonymized"):
        return "pseudonymized"
    return None


def check_username(value: object) -> str:
    """A user name: 3-64 letters, digits, ``.``, ``_`` or ``-``, NFKC-normalized, of one script,
    with no invisible character (see :mod:`.identifiers`)."""
    name = check_identifier("username", check_text("username", value, max_length=64))
    allowed = "3-64 letters, digits, '.', '_' or '-'"
    if len(name) < 3 or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise InvalidValueError("username", value, allowed)
    return name


def check_full_name(value: object) -> str:
    """A person's printed name: 1-200 visible characters."""
    name = check_text("full_name", value, max_length=200)
    if any(not c.isprintable() for c in name):
        raise InvalidValueError(
            "full_name", value, "a name of visible characters", "holds a control character"
        )
    return name


def check_password_policy(password: object, context: Collection[str] = ()) -> str:
    """A password people cannot guess, or InvalidValueError (the value is never echoed).

    Parameters
    ----------
    password : str
        12-256 characters, not blank.
    context : collection of str
        Words the password must not hold and that make it guessable: the user name, the
        person's name, the trials' protocol ids (compared case-insensitively, words of 3 or more
        characters).
    """
    allowed = (
        f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, not a common or guessable "
        "password, without the user name, the person's name or a study name"
    )
    if not isinstance(password, str) or not password.strip():
        raise InvalidValueError("password", "(hidden)", allowed, "is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValueError("password", "(hidden)", allowed, "is too short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValueError("password", "(hidden)", allowed, "is too long")
    words = sorted({w.strip() for w in context if len(w.strip()) >= 3})
    lowered = password.casefold()
    for word in words:
        if word.casefold() in lowered:
            raise InvalidValueError(
                "password", "(hidden)", allowed, "holds the user name, the person's name or a "
                "study name"
            )  # fmt: skip
    if zxcvbn(password, user_inputs=words)["score"] < MIN_PASSWORD_SCORE:
        raise InvalidValueError("password", "(hidden)", allowed, "is too easy to guess")
    return password


def hash_password(password: str) -> str:
    """An Argon2id hash of a password (check it with :func:`check_password_policy` first)."""
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValueError(
            "password", "(hidden)", f"1-{MAX_PASSWORD_LENGTH} characters", "is not allowed"
        )
    return _HASHER.hash(password)


_DUMMY_HASHES: dict[str, str] = {}


def dummy_password_hash() -> str:
    """A hash of a random password made with the current cost: a login for an unknown,
    inactive or locked user is verified against it, so that every refusal costs the same time
    as a wrong password (no timing oracle for which user names exist)."""
    parameters = password_hash_parameters()
    key = repr(parameters)
    if key not in _DUMMY_HASHES:
        hasher = PasswordHasher.from_parameters(parameters)
        _DUMMY_HASHES[key] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[key]


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (False for a malformed hash, or a
    password longer than any allowed, which is verified cut short so as to take the same time)."""
    try:
        return _HASHER.verify(password_hash, password[:MAX_PASSWORD_LENGTH]) and (
            len(password) <= MAX_PASSWORD_LENGTH
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters and should be replaced at login."""
    return _HASHER.check_needs_rehash(password_hash)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    """True while a lockout lasts."""
    return locked_until is not None and now < locked_until


def lockout_after_failure(failed_logins: int, now: datetime) -> datetime | None:
    """The end of the lockout due after ``failed_logins`` failures in a row, or None."""
    if failed_logins >= MAX_FAILED_LOGINS:
        return now + timedelta(minutes=LOCKOUT_MINUTES)
    return None
