"""The entity aggregation itself: one SQL statement, and what it counts."""

from __future__ import annotations

from conftest import ADMIN
from entities import selectors


def test_listing_is_one_query_whatever_the_number_of_entities(make_memory, django_assert_num_queries):
    for n in range(12):
        make_memory("Likes tea", user_id=f"u{n}", scope={"agent_id": f"a{n % 3}", "run_id": f"r{n}"})
    with django_assert_num_queries(1):
        page = selectors.entities_list(principal=ADMIN)
    assert len(page.results) == 12 + 3 + 12
    assert {e.id: e.total_memories for e in page.results if e.type == "agent"} == {"a0": 4, "a1": 4, "a2": 4}


def test_a_page_and_its_cursor_are_one_query_each(make_memory, django_assert_num_queries):
    for n in range(3):
        make_memory("Likes tea", user_id=f"u{n}")
    with django_assert_num_queries(1):
        first = selectors.entities_list(principal=ADMIN, limit=2)
    with django_assert_num_queries(1):
        second = selectors.entities_list(principal=ADMIN, limit=2, cursor=first.next_cursor)
    assert [e.id for e in first.results + second.results] == ["u0", "u1", "u2"]
    assert second.next_cursor is None
