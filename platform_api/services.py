"""The Platform's organisation and project: each account is one organisation with one project, whose settings
(custom instructions, categories, …) live in ProjectSettings. The memory routes call memories.services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from mem0server.exceptions import NotFound
from mem0server.rows import row_get_or_create
from memories import services as memories_services
from memories.categories import catalog
from memories.timestamps import parse_timestamp
from platform_api.models import ProjectSettings

# Fixed, so an account's ids never change between runs or servers sharing one database.
_ID_NAMESPACE = uuid.UUID("5f0c7d3e-2b7a-4c1e-9a52-6d0f4e8b1c93")
PROJECT_FIELDS = (
    "custom_instructions",
    "agent_custom_instructions",
    "custom_categories",
    "memory_depth",
    "usecase_setting",
    "multilingual",
)


def _owner(principal) -> str:
    account = principal.account
    return "admin" if account is None else f"account:{account.pk}"


def project_ids(*, principal) -> tuple[str, str]:
    """The caller's (org_id, project_id): derived from its account (one fixed pair for the admin principal)."""
    owner = _owner(principal)
    org = uuid.uuid5(_ID_NAMESPACE, f"org|{owner}").hex
    project = uuid.uuid5(_ID_NAMESPACE, f"project|{owner}").hex
    return f"org_{org}", f"proj_{project}"


def project_check(*, principal, org_id: Any = None, project_id: Any = None) -> None:
    """NotFound unless every given id is the caller's own (another account's ids are as unknown as made-up ones)."""
    own_org, own_project = project_ids(principal=principal)
    if org_id not in (None, "") and org_id != own_org:
        raise NotFound(f"Organization {str(org_id)[:64]!r} not found; GET /v1/ping/ tells your org_id.")
    if project_id not in (None, "") and project_id != own_project:
        raise NotFound(f"Project {str(project_id)[:64]!r} not found; GET /v1/ping/ tells your project_id.")


def user_email(*, principal) -> str | None:
    """The caller's email: its account's, or ADMIN_EMAIL for the admin principal (None when unset)."""
    account = principal.account
    if account is None:
        return settings.ADMIN_EMAIL or None
    return account.email


# Each account is one project here (project_ids), so the SDK's project management has nothing to act on: it says so.
MEMBERS_REFUSAL = (
    "An organization and its project here have one member, their account: to give someone access, make them an "
    "account of their own (an admin does, on the dashboard's Users page or with POST /auth/register), with its own "
    "API key."
)
CREATE_REFUSAL = (
    "Each account here is one project, its own (GET /v1/ping/ tells its project_id): for another project, use "
    "another account (an admin makes one on the dashboard's Users page or with POST /auth/register)."
)
DELETE_REFUSAL = (
    "A project here is its account's and is not deleted: to delete its memories, use reset() or delete_all(); an "
    "admin deactivates an account on the dashboard's Users page."
)


ORG_CREATE_REFUSAL = (
    "Each account here is one organization with one project, its own (GET /v1/ping/ tells its org_id): for another "
    "organization, use another account (an admin makes one on the dashboard's Users page or with POST /auth/register)."
)
ORG_DELETE_REFUSAL = (
    "An organization here is its account's and is not deleted: to delete its memories, use reset() or delete_all(); "
    "an admin deactivates an account on the dashboard's Users page."
)


def organization(*, principal) -> dict[str, Any]:
    """The caller's one organization, as Mem0's organization routes show one: its account is its owner."""
    org_id, _ = project_ids(principal=principal)
    account, email = principal.account, user_email(principal=principal)
    return {
        "org_id": org_id,
        "name": (account.name or account.email) if account is not None else "admin",
        "created_at": account.created_at if account is not None else None,
        "updated_at": account.created_at if account is not None else None,
        "members": [{"username": email, "email": email, "role": "OWNER"}] if email else [],
        "is_default": True,
        "is_owner": True,
        "user_role": "OWNER",
    }


def organization_members(*, principal) -> list[dict[str, str]]:
    """The organization's members as Mem0 lists them (`user_id`): its account alone, as its owner."""
    return [{"user_id": member["username"], "role": member["role"]} for member in project_members(principal=principal)]


def project_members(*, principal) -> list[dict[str, str]]:
    """The project's members: its account alone, as its owner (none for the admin principal without ADMIN_EMAIL)."""
    email = user_email(principal=principal)
    return [{"username": email, "role": "OWNER"}] if email else []


def project_settings_get(*, principal) -> ProjectSettings:
    """The caller's project settings, created with defaults on first use."""
    return row_get_or_create(ProjectSettings, account=principal.account)


def project_settings_update(*, principal, changes: dict[str, Any]) -> ProjectSettings:
    """Change the given settings of the caller's project (the others stay); returns the whole project."""
    unknown = set(changes) - set(PROJECT_FIELDS)
    if unknown:
        raise ValueError(f"not project settings: {sorted(unknown)}")
    project_settings_get(principal=principal)
    with transaction.atomic():
        project = ProjectSettings.objects.select_for_update().get(account=principal.account)
        for field, value in changes.items():
            setattr(project, field, value)
        project.save()
    return project


def extraction_instructions(
    *,
    project: ProjectSettings | None,
    scope: dict[str, str],
    custom_instructions: str | None = None,
    agent_custom_instructions: str | None = None,
) -> str | None:
    """The extraction prompt of a Platform add: the request's instructions, else the project's.

    An agent's own memories (agent_id without user_id) use the agent instructions when there are any.
    """
    agent_only = bool(scope.get("agent_id")) and not scope.get("user_id")
    if agent_only and agent_custom_instructions:
        return agent_custom_instructions
    if custom_instructions:
        return custom_instructions
    if project is None:
        return None
    if agent_only and project.agent_custom_instructions:
        return project.agent_custom_instructions
    return project.custom_instructions or None


# --- add ----------------------------------------------------------------------------------------------------

ADD_FIELDS = (
    "messages",
    "scope",
    "metadata",
    "infer",
    "timestamp",
    "custom_instructions",
    "agent_custom_instructions",
    "custom_categories",
    "includes",
    "excludes",
    "deduced_memories",
)


def add_payload(data: dict[str, Any]) -> dict[str, Any]:
    """A validated add request (PlatformAddRequestSerializer) as plain JSON, the form an async add's event keeps."""
    payload = {key: data.get(key) for key in ADD_FIELDS}
    payload["messages"] = [dict(message) for message in data["messages"]]
    expiration = data.get("expiration_date")
    payload["expiration_date"] = expiration.isoformat() if isinstance(expiration, date) else expiration
    return payload


def memories_add_payload(
    *, principal, payload: dict[str, Any], before_commit=None, said_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Run a Platform add given as add_payload(); the same path for a synchronous add and an event's job (`said_at`:
    when its request came, see memories.services.memories_add)."""
    scope = payload["scope"]
    timestamp = payload.get("timestamp")
    expiration = payload.get("expiration_date")
    infer = payload["infer"]
    project = ProjectSettings.objects.filter(account=principal.account).first() if infer else None
    return memories_services.memories_add(
        principal=principal,
        messages=[memories_services.Message(**message) for message in payload["messages"]],
        scope=scope,
        timestamp=parse_timestamp(timestamp) if timestamp is not None else None,
        metadata=payload.get("metadata"),
        infer=infer,
        expiration_date=date.fromisoformat(expiration) if expiration else None,
        prompt=extraction_instructions(
            project=project,
            scope=scope,
            custom_instructions=payload.get("custom_instructions"),
            agent_custom_instructions=payload.get("agent_custom_instructions"),
        ),
        before_commit=before_commit,
        said_at=said_at,
        includes=payload.get("includes"),
        excludes=payload.get("excludes"),
        deduced=payload.get("deduced_memories"),
        # What inferred memories are tagged from: the add's custom_categories, the project's, else the defaults.
        categories=catalog(payload.get("custom_categories") or (project.custom_categories if project else None))
        if infer
        else None,
    )
