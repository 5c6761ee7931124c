"""Keys revoked, and accounts deactivated, deleted or given another role, by any process: every process that
remembers checked keys forgets them at once.

Triggers (apikeys migration 0002) NOTIFY the `mem0_auth` channel when a key's revoked_at changes, a key is
deleted, or an account's is_active, role or Django admin flags change or it is deleted; PostgreSQL delivers it
when that transaction commits. The process's listener (mem0server/listening.py), started by the first key the
cache keeps, clears the cache on each notification, and also each time it (re)connects, since it may have missed
some meanwhile. While it has no connection (the database restarting, or a pooler in transaction mode, which does
not pass notifications on, unless DATABASE_LISTEN_URL names PostgreSQL itself) cached keys still expire after
API_KEY_CACHE_SECONDS.
"""

CHANNEL = "mem0_auth"
