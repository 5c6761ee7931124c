"""Dashboard accounts: email is the login; every memory will belong to one (tenancy)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(role=User.Role.ADMIN)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        # Emails are stored lower-case; logins match whatever case was typed. Of two accounts holding it in other
        # cases (the Django admin's forms once stored emails as typed), the lower-case one's: get() raised, a 500.
        found = sorted(self.filter(email__iexact=username), key=lambda user: user.email != username.lower())
        if not found:
            raise self.model.DoesNotExist(f"No account with the email {username!r}.")
        return found[0]


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    # Follows the role (save): an admin can use the Django admin, with every permission; a member cannot.
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin.")
    created_at = models.DateTimeField(auto_now_add=True)
    token_generation = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Carried by the account's tokens and recorded by its connected apps' grants; one from an earlier "
        "generation is refused. Raised when the account is deactivated, so a token from before does not work again "
        "once it is reactivated, and when its password is set, however that is done.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        # The role is the one switch: Django's own flags set apart from it let a demoted admin keep the Django
        # admin, and every account's memories in it.
        self.is_staff = self.is_superuser = self.role == self.Role.ADMIN
        if kwargs.get("update_fields") is not None and "role" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "is_staff", "is_superuser"}
        # set_password() since it was read (the services, the Django admin, `manage.py changepassword`; not the
        # hash upgrade at login, which clears it): a password is changed when someone else may know it, so what
        # was signed in with the old one ends, connected apps included (their grants record the generation).
        password_set = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_set:
            User.objects.filter(pk=self.pk).update(token_generation=models.F("token_generation") + 1)
            self.refresh_from_db(fields=["token_generation"])

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def account(self) -> User:
        """The account that owns what this principal writes (see apikeys.authentication.AdminPrincipal)."""
        return self


class RefreshToken(models.Model):
    """One issued refresh token, by its JWT id: consumed once, atomically, so a replay is refused."""

    jti = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="refresh_expires")]

    def __str__(self) -> str:
        return f"refresh token of {self.user_id}"
