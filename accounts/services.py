"""Accounts: first-admin registration, login, single-use refresh tokens, profile and password changes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import SESSION_KEY, authenticate, password_validation
from django.contrib.auth.models import update_last_login
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken as JWTRefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import RefreshToken, User
from mem0server.exceptions import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from mem0server.rows import rows_streamed

logger = logging.getLogger("mem0server")

# The account's token generation when the token was issued (User.token_generation).
GENERATION_CLAIM = "gen"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth token type, not a secret)


def setup_needed() -> bool:
    """True until the first account exists."""
    return not User.objects.exists()


def tokens_issue(*, user: User) -> TokenPair:
    """A fresh access + refresh pair; the refresh token's id is recorded so it can be used once."""
    refresh = JWTRefreshToken.for_user(user)
    refresh[GENERATION_CLAIM] = user.token_generation  # copied into the access token
    RefreshToken.objects.create(
        jti=refresh[jwt_settings.JTI_CLAIM],
        user=user,
        expires_at=timezone.now() + jwt_settings.REFRESH_TOKEN_LIFETIME,
    )
    return TokenPair(access_token=str(refresh.access_token), refresh_token=str(refresh))


def _validate_password(password: str, user: User | None = None, *, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field=field) from None


def first_admin_create(*, name: str, email: str, password: str) -> User:
    """Create the first account, as admin; Forbidden once any account exists."""
    _validate_password(password)
    with transaction.atomic():
        # Registrations queue on this lock, so of two racing calls exactly one finds the table empty.
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{User._meta.db_table}" IN SHARE ROW EXCLUSIVE MODE')
        if User.objects.exists():
            raise Forbidden("Setup is complete; ask an admin for an account.")
        user = User.objects.create_superuser(email=email, password=password, name=name)
    update_last_login(None, user)
    return user


def user_register(*, name: str, email: str, password: str) -> TokenPair:
    """Create the first account, as admin, and log it in; refused once any account exists."""
    return tokens_issue(user=first_admin_create(name=name, email=email, password=password))


def user_login(*, request, email: str, password: str) -> TokenPair:
    """Tokens for a valid email and password; the same answer, after the same hashing work, otherwise."""
    # Django's ModelBackend hashes the password for unknown emails too, so timing does not tell them apart.
    user = authenticate(request, email=email, password=password)
    if user is None:
        raise Unauthorized("Invalid email or password.")
    update_last_login(None, user)
    return tokens_issue(user=user)


def valid_user_id(value) -> bool:
    """Whether a token's user id claim can be a user's primary key (a positive bigint): a forged token's
    string, list or huge number reached the database as a 500."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return type(value) is int and 0 < value < 2**63


def tokens_refresh(*, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; each refresh token works once, even under concurrent replays."""
    try:
        token = JWTRefreshToken(refresh_token)
    except TokenError:
        raise Unauthorized("Invalid or expired refresh token.") from None
    # One conditional UPDATE on the token's own row: of concurrent replays exactly one changes it. (No join
    # here: Django would turn one into a subquery, whose condition PostgreSQL does not re-check after waiting
    # on a concurrent update, and two replays would both win.)
    consumed = RefreshToken.objects.filter(jti=token.get(jwt_settings.JTI_CLAIM), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    user_id = token.get(jwt_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id, is_active=True).first() if valid_user_id(user_id) else None
    if consumed != 1 or user is None or token_revoked(user=user, claims=token):
        raise Unauthorized("Invalid or expired refresh token.")
    return tokens_issue(user=user)


def user_update(*, user: User, name: str | None = None, email: str | None = None) -> User:
    """Change the caller's name and/or email; Conflict if the email belongs to another account. Only the fields
    given are written: `user` is the account as the request loaded it, so writing the other back could undo a
    change committed meanwhile."""
    changed = []
    if name is not None:
        user.name = name
        changed.append("name")
    if email is not None:
        email = User.objects.normalize_email(email).lower()
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise Conflict("That email is already in use.")
        user.email = email
        changed.append("email")
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except IntegrityError:  # a concurrent change took the email between the check and the write
        raise Conflict("That email is already in use.") from None
    return user


def user_change_password(*, user: User, current_password: str, new_password: str) -> None:
    """Set a new password after checking the current one; every earlier token stops working."""
    if not user.check_password(current_password):
        raise Unauthorized("Current password is incorrect.")
    _validate_password(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        # Access tokens carry a hash of the old password (CHECK_REVOKE_TOKEN); refresh tokens are consumed here.
        RefreshToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())


def user_create(*, email: str, password: str, name: str = "", role: str = User.Role.MEMBER) -> User:
    """An admin creates an account; Conflict if the email is taken, InvalidInput for a weak password."""
    email = User.objects.normalize_email(email).lower()
    if role not in User.Role.values:
        raise InvalidInput(f"role must be one of {', '.join(User.Role.values)}.", field="role")
    _validate_password(password)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("That email is already in use.")
    try:
        with transaction.atomic():
            if role == User.Role.ADMIN:
                return User.objects.create_superuser(email=email, password=password, name=name)
            return User.objects.create_user(email=email, password=password, name=name, role=role)
    except IntegrityError:
        raise Conflict("That email is already in use.") from None


def _other_user(*, actor: User, user_id: int) -> User:
    """Another account, its row locked until the transaction ends: an account deleted meanwhile (the Django admin) is
    a NotFound, not an update of no row."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"Account {user_id} not found.")
    if user.pk == actor.pk:
        raise InvalidInput("An admin cannot do this to its own account here; use the settings page.")
    return user


def user_set_active(*, actor: User, user_id: int, active: bool) -> User:
    """Deactivate (or reactivate) another account; a deactivated one can no longer log in or use its keys, and
    its dashboard sessions end (reactivated, it logs in afresh: they no longer come back with it)."""
    with transaction.atomic():
        user = _other_user(actor=actor, user_id=user_id)
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            user_credentials_revoke(user=user)
    return user


def account_deactivated(account_id: int | None, *, hold: bool = False) -> bool:
    """Whether the account owning a queued job has been deactivated since, read from the database (False for the
    admin principal's jobs, which have no account). With `hold` (inside the job's write transaction) its row stays
    share-locked until that commits: a deactivation then waits for the job's writes, and a job checking after the
    deactivation sees it."""
    if account_id is None:
        return False
    with connection.cursor() as cursor:
        lock = " FOR SHARE" if hold else ""
        cursor.execute(f"SELECT is_active FROM {User._meta.db_table} WHERE id = %s{lock}", [account_id])  # noqa: S608
        row = cursor.fetchone()
    return row is None or not row[0]


def job_gone(*, job: str, account_id: int | None) -> None:
    """Say in one line, without a traceback, that a job's row was deleted while the job ran: with its account (an
    account's exports, imports and profile jobs go with it), so there is nobody left to tell how it ended."""
    if account_id is not None and not User.objects.filter(pk=account_id).exists():
        logger.info("%s stopped: its account was deleted while it ran", job)
    else:
        logger.warning("%s stopped: it was deleted while it ran", job)


def user_credentials_revoke(*, user: User) -> None:
    """End everything the account signed in with: its access and refresh tokens, its dashboard sessions and the
    OAuth grants of its connected apps, which record the token_generation raised here (its API keys are its own to
    revoke). Run when an account is deactivated, on the users page or in the Django
    admin: refused only while inactive, they all worked again once it was reactivated."""
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])
    RefreshToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    _end_sessions(user)


def token_revoked(*, user: User, claims) -> bool:
    """Whether a token of `user` with these claims is from before its credentials were last revoked, or before
    its password last changed. (simplejwt checks the latter itself for access tokens, CHECK_REVOKE_TOKEN; a
    refresh token needs it here: a password set in the Django admin or by `manage.py changepassword` consumes
    no refresh token, and the earlier ones went on minting new pairs.)"""
    return claims.get(GENERATION_CLAIM, 0) != user.token_generation or claims.get(
        jwt_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(user.password)


def _end_sessions(user: User) -> None:
    """Delete the account's live dashboard sessions (a session names its user only inside its encoded data)."""
    live = Session.objects.filter(expire_date__gt=timezone.now())
    with rows_streamed(live, chunk_size=2000) as sessions:
        mine = [s.session_key for s in sessions if s.get_decoded().get(SESSION_KEY) == str(user.pk)]
    Session.objects.filter(session_key__in=mine).delete()


def user_reset_password(*, actor: User, user_id: int, new_password: str) -> User:
    """An admin sets another account's password; that account's earlier tokens and sessions stop working."""
    with transaction.atomic():
        user = _other_user(actor=actor, user_id=user_id)
        _validate_password(new_password, user, field="new_password")
        user.set_password(new_password)
        user.save(update_fields=["password"])
        RefreshToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    return user
