"""What the schema fuzzing sent, tallied across test processes, and the verdict on it at the end of the run.

The fuzzing's operations are tests like any other, spread over the processes of a `pytest -n` run; what
it sent can only be judged once all of them are done. Each process records here; its counts reach the
controlling process through pytest-xdist (root conftest.py), which judges the whole at the end of the run.
Plain data, no Django: the controlling process imports this without setting anything up.
"""

from __future__ import annotations

from collections import Counter

# (pass, operation) → cases sent; (pass, operation, status) seen; (pass, operation) pairs a whole run covers.
CASES: Counter[tuple[str, str]] = Counter()
ANSWERED: set[tuple[str, str, int]] = set()
EXPECTED: set[tuple[str, str]] = set()
# Cases sent per schemathesis phase (coverage, fuzzing, examples).
PHASES: Counter[str] = Counter()
MIN_CASES = 1000
# The coverage phase's boundary and invalid values (about 5,000 cases in a whole run), built as each operation's test
# runs (test_schema_fuzz.coverage_cases): a run that sent fewer lost them.
MIN_COVERAGE_CASES = 1000
# Each succeeds only on a seeded path parameter, so a 200 here shows the hooks reach real rows (a random
# UUID or key id never would); it needs no lucky valid body, so it holds whatever else ran before.
MUST_REACH_ROWS = [
    ("admin key", "GET /memories/{memory_id}"),
    ("admin key", "DELETE /memories/{memory_id}"),
    ("admin key", "DELETE /entities/{entity_type}/{entity_id}"),
    ("member key", "GET /memories/{memory_id}"),
    ("member key", "GET /memories/{memory_id}/history"),
    ("member token", "DELETE /api-keys/{key_id}"),
]


def export() -> dict:
    """This process's tally, as JSON-able lists (pytest-xdist's workeroutput)."""
    return {
        "cases": [[*key, count] for key, count in CASES.items()],
        "answered": [list(item) for item in ANSWERED],
        "expected": [list(item) for item in EXPECTED],
        "phases": dict(PHASES),
    }


def merge(data: dict) -> None:
    """Add another process's tally (from export) to this one."""
    for pass_name, label, count in data["cases"]:
        CASES[(pass_name, label)] += count
    ANSWERED.update(tuple(item) for item in data["answered"])
    EXPECTED.update(tuple(item) for item in data["expected"])
    PHASES.update(data["phases"])


def verdict() -> tuple[bool, str] | None:
    """None when the fuzzing did not run whole (none of it, or part of it with -k); else (passed, summary)."""
    if not EXPECTED or set(CASES) != EXPECTED:
        return None
    per_pass: Counter[str] = Counter()
    for (pass_name, _), count in CASES.items():
        per_pass[pass_name] += count
    total = sum(per_pass.values())
    operations = len({label for _, label in EXPECTED})
    summary = (
        f"schema fuzzing: {total} cases, {operations} operations; per pass: {dict(per_pass)}; per phase: {dict(PHASES)}"
    )
    missing = [pair for pair in MUST_REACH_ROWS if (*pair, 200) not in ANSWERED]
    if missing:
        return False, f"{summary}\nno request reached a seeded row (no 200) for: {missing}"
    if total < MIN_CASES:
        return False, f"{summary}\nfewer than {MIN_CASES} cases were sent"
    if PHASES["coverage"] < MIN_COVERAGE_CASES:
        return False, f"{summary}\nfewer than {MIN_COVERAGE_CASES} cases of the coverage phase were sent"
    return True, summary
