"""The password hasher the tests use: Django's Argon2 hasher at argon2's lowest cost."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id as deployed, but 1 KiB and one pass: about 0.05 ms where Django's defaults take about 370 ms of CPU
    (100 MiB, 8 lanes) for every password set or checked. The stored hashes are argon2 hashes all the same; the
    deployed cost is asserted where an account registers (accounts/tests/test_auth.py)."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1
