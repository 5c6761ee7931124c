"""The schema fuzzing's end-of-run verdict (fuzz_tally, judged by the root conftest) on the tallies of several
test processes: it fails a run that sent too little or never reached the seeded rows, and says nothing about a
run that fuzzed only part of the schema."""

from __future__ import annotations

import pytest

from mem0server.tests import fuzz_tally


@pytest.fixture
def tally(monkeypatch):
    """An empty tally, as at the start of a run (the real one is left alone)."""
    monkeypatch.setattr(fuzz_tally, "CASES", fuzz_tally.Counter())
    monkeypatch.setattr(fuzz_tally, "ANSWERED", set())
    monkeypatch.setattr(fuzz_tally, "EXPECTED", set())
    monkeypatch.setattr(fuzz_tally, "PHASES", fuzz_tally.Counter())
    return fuzz_tally


def worker(pairs, *, cases_each: int, reached=(), coverage_share: float = 0.75) -> dict:
    """What one test process hands back: cases for each (pass, operation), the seeded rows it reached, and how
    many of its cases the coverage phase built (the rest generated)."""
    total = cases_each * len(pairs)
    coverage = round(total * coverage_share)
    return {
        "cases": [[name, label, cases_each] for name, label in pairs],
        "answered": [[name, label, 200] for name, label in reached],
        "expected": [list(pair) for pair in EVERYTHING],
        "phases": {"coverage": coverage, "fuzzing": total - coverage},
    }


EVERYTHING = [*fuzz_tally.MUST_REACH_ROWS, ("admin key", "GET /healthz")]


def test_two_processes_together_pass(tally):
    tally.merge(worker(EVERYTHING[:3], cases_each=200, reached=fuzz_tally.MUST_REACH_ROWS[:3]))
    tally.merge(worker(EVERYTHING[3:], cases_each=200, reached=fuzz_tally.MUST_REACH_ROWS[3:]))
    passed, summary = tally.verdict()
    assert passed, summary
    assert "1400 cases" in summary
    assert "'coverage': 1050" in summary


def test_too_few_cases_fail_the_run(tally):
    tally.merge(worker(EVERYTHING, cases_each=10, reached=fuzz_tally.MUST_REACH_ROWS))
    passed, summary = tally.verdict()
    assert not passed
    assert "fewer than 1000 cases" in summary


def test_too_few_coverage_cases_fail_the_run(tally):
    """Enough cases, but hardly any of them the coverage phase's: its cases were not built."""
    tally.merge(worker(EVERYTHING, cases_each=300, reached=fuzz_tally.MUST_REACH_ROWS, coverage_share=0.1))
    passed, summary = tally.verdict()
    assert not passed
    assert "fewer than 1000 cases of the coverage phase" in summary


def test_never_reaching_a_seeded_row_fails_the_run(tally):
    tally.merge(worker(EVERYTHING, cases_each=200, reached=fuzz_tally.MUST_REACH_ROWS[1:]))
    passed, summary = tally.verdict()
    assert not passed
    assert "GET /memories/{memory_id}" in summary


def test_a_partial_run_gets_no_verdict(tally):
    tally.merge(worker(EVERYTHING[:2], cases_each=900, reached=fuzz_tally.MUST_REACH_ROWS))
    assert tally.verdict() is None
    tally.EXPECTED.clear()  # a run without the fuzzing module: nothing expected
    assert tally.verdict() is None
