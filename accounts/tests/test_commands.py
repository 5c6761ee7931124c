"""Operator commands and the startup guard for the JWT secret."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from accounts.models import User
from mem0server.startup import announce


def test_createadmin_creates_an_admin_who_can_log_in(db, client):
    call_command("createadmin", "--email", "Root@Example.com", "--password", "a long passphrase", "--name", "Root")
    user = User.objects.get()
    assert (user.email, user.role, user.is_staff, user.is_superuser) == ("root@example.com", "admin", True, True)
    response = client.post(
        "/auth/login", {"email": "root@example.com", "password": "a long passphrase"}, content_type="application/json"
    )
    assert response.status_code == 200


def test_createadmin_reads_the_environment_defaults(db, settings):
    settings.ADMIN_EMAIL, settings.ADMIN_PASSWORD = "env@example.com", "from the environment"
    call_command("createadmin", email=settings.ADMIN_EMAIL, password=settings.ADMIN_PASSWORD)
    assert User.objects.get().email == "env@example.com"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--email", "x@example.com", "--password", "short"], "8 characters"),
        (["--email", "", "--password", ""], "--email"),
        (["--email", "x@example.com"], "--password"),
    ],
)
def test_createadmin_refuses_bad_input(db, args, says):
    with pytest.raises(CommandError, match=says):
        call_command("createadmin", *args)
    assert not User.objects.exists()


def test_createuser_makes_a_member_who_sees_only_their_own_memories(db, client):
    call_command("createuser", "--email", "Member@Example.com", "--password", "a member passphrase")
    user = User.objects.get()
    assert (user.email, user.role, user.is_staff) == ("member@example.com", "member", False)
    tokens = client.post(
        "/auth/login",
        {"email": "member@example.com", "password": "a member passphrase"},
        content_type="application/json",
    ).json()
    response = client.post("/reset", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 403


def test_createuser_can_make_an_admin(db):
    call_command("createuser", "--email", "boss@example.com", "--password", "a long passphrase", "--role", "admin")
    assert User.objects.get().is_admin


def test_createadmin_refuses_an_existing_email(db):
    call_command("createadmin", "--email", "a@example.com", "--password", "a long passphrase")
    with pytest.raises(CommandError, match="already exists"):
        call_command("createadmin", "--email", "A@example.com", "--password", "a long passphrase")


@pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "spaces in@example.com"])
def test_createuser_refuses_an_invalid_email(db, email):
    with pytest.raises(CommandError, match="not a valid email address"):
        call_command("createuser", "--email", email, "--password", "a member passphrase")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("password", "too common"),
        ("12345678901", "entirely numeric"),
        ("carol.danvers", "too similar"),
        ("short", "at least 8 characters"),
    ],
)
def test_createuser_runs_djangos_password_validators(db, password, says):
    with pytest.raises(CommandError, match=says):
        call_command("createuser", "--email", "carol.danvers@example.com", "--password", password)
    assert not User.objects.exists()


def test_createadmin_refuses_a_role_instead_of_creating_a_member(db):
    with pytest.raises(CommandError, match="unrecognized arguments: --role"):
        call_command("createadmin", "--email", "m@example.com", "--password", "a long passphrase", "--role", "member")
    assert not User.objects.exists()


def test_createuser_help_promises_no_environment_variable(capsys):
    from accounts.management.commands.createuser import Command

    parser = Command().create_parser("manage.py", "createuser")
    ours = parser.description + " ".join(action.help or "" for action in parser._actions if action.dest != "settings")
    assert "env" not in ours.lower()
    assert "asks for it" in ours


class Terminal:
    """Standard input as a terminal, and what its user types at getpass's prompts (stdlib: the outside edge)."""

    def __init__(self, monkeypatch, *typed: str):
        self.typed, self.prompts = list(typed), []
        monkeypatch.setattr("sys.stdin", self)
        monkeypatch.setattr("getpass.getpass", self.getpass)

    def isatty(self) -> bool:
        return True

    def getpass(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.typed.pop(0)


def test_createuser_asks_for_the_password_twice_in_a_terminal(db, monkeypatch, client):
    terminal = Terminal(monkeypatch, "typed at the prompt", "typed at the prompt")
    call_command("createuser", "--email", "prompted@example.com")
    assert terminal.prompts == ["Password: ", "Password (again): "]
    login = {"email": "prompted@example.com", "password": "typed at the prompt"}
    assert client.post("/auth/login", login, content_type="application/json").status_code == 200


def test_createuser_refuses_two_different_passwords_at_the_prompt(db, monkeypatch):
    Terminal(monkeypatch, "typed at the prompt", "typed at the prompt, differently")
    with pytest.raises(CommandError, match="differ"):
        call_command("createuser", "--email", "prompted@example.com")
    assert not User.objects.exists()


def test_createuser_without_a_password_or_a_terminal_says_to_give_one(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a pipe, as in a script or CI
    with pytest.raises(CommandError, match="Give --password"):
        call_command("createuser", "--email", "scripted@example.com")
    assert not User.objects.exists()


def test_djangos_createsuperuser_and_changepassword_work_as_before(db, monkeypatch, client):
    # Ours (accounts' commands, found first) only add the one line on a database not set up (mem0server/tests).
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long passphrase")
    call_command("createsuperuser", "--noinput", "--email", "super@example.com")
    assert User.objects.get().is_admin
    Terminal(monkeypatch, "another long passphrase", "another long passphrase")
    call_command("changepassword", "super@example.com")
    login = {"email": "super@example.com", "password": "another long passphrase"}
    assert client.post("/auth/login", login, content_type="application/json").status_code == 200


def test_serving_without_a_jwt_secret_stops_at_startup(settings):
    settings.JWT_SECRET = ""
    settings.AUTH_DISABLED = False
    with pytest.raises(ImproperlyConfigured, match="JWT_SECRET is not set"):
        announce()


def test_ensure_jwt_secret_writes_a_private_file_once(settings, tmp_path, capsys):
    settings.JWT_SECRET = ""
    settings.JWT_SECRET_FILE = tmp_path / "jwt_secret"
    call_command("ensure_jwt_secret")
    secret = settings.JWT_SECRET_FILE.read_text()
    assert len(secret) >= 40
    assert settings.JWT_SECRET_FILE.stat().st_mode & 0o777 == 0o600
    call_command("ensure_jwt_secret")
    assert settings.JWT_SECRET_FILE.read_text() == secret
    assert "kept" in capsys.readouterr().out
