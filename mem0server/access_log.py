"""gunicorn's access log without the secrets a client may put in what it prints (gunicorn.conf.py's logger_class).

The line shows the client's User-Agent; a client that names itself with a key (the admin key, its own, the call's
bearer token, a provider's `sk-…`) had it printed as sent, where the request log's `client` hid the same. Every atom
the format uses is cleaned as that field is (mem0server/echoes.py), so an operator's own access_log_format showing
a Referer, the query string or any header is cleaned too.
"""

from __future__ import annotations

from gunicorn.glogging import Logger, SafeAtoms

from mem0server.echoes import without_credentials, without_secrets

# Where atoms() leaves the request's headers for the atoms' cleaning: no format names it (a "{…}" name never
# holds a space).
_META = "request headers"


class _CleanAtoms(SafeAtoms):
    def __getitem__(self, key: str):
        value = super().__getitem__(key)
        if not isinstance(value, str) or key == _META:
            return value
        # The path as the request log keeps it (an id such as "key_customer_42" is no provider's key).
        clean = without_credentials if key == "U" else without_secrets
        return clean(value, dict.get(self, _META, {}))


class AccessLogger(Logger):
    """gunicorn's logger, its access lines without secrets."""

    atoms_wrapper_class = _CleanAtoms

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms[_META] = environ
        return atoms
