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


def test_pages_of_every_size_walk_the_entities_in_type_then_byte_order(make_user, make_memory):
    """Ids that other collations sort together or otherwise (case, accents composed or not, a hyphen), an id in
    several types and, for the admin, in two accounts: every page size gives the one list, sorted by bytes."""
    member = make_user("member@example.com")
    memories = [
        ("Zed", {"agent_id": "bot"}, ADMIN),
        ("zed", {"run_id": "Zed"}, ADMIN),
        ("\u00e9b\u00e9", {"app_id": "notes"}, member),
        ("e\u0301be", {"agent_id": "Bot"}, member),
        ("Ebe", {"run_id": "r-1"}, member),
        ("a-b", {"agent_id": "bot"}, member),
        ("zed", {"run_id": "r1"}, member),
    ]
    for user_id, scope, principal in memories:
        make_memory("Likes tea", user_id=user_id, scope=scope, principal=principal)
    for principal in (ADMIN, member):
        counts: dict[tuple[str, str], int] = {}
        for user_id, scope, owner in memories:
            if principal is ADMIN or owner is member:
                for entity_type, field in selectors.ENTITY_FIELDS.items():
                    entity_id = {"user_id": user_id, **scope}.get(field)
                    if entity_id is not None:
                        counts[entity_type, entity_id] = counts.get((entity_type, entity_id), 0) + 1
        expected = sorted(((t, i, n) for (t, i), n in counts.items()), key=lambda e: (e[0], e[1].encode()))
        for limit in (1, 2, 3, 100):
            seen, cursor = [], None
            while True:
                page = selectors.entities_list(principal=principal, limit=limit, cursor=cursor)
                seen += [(e.type, e.id, e.total_memories) for e in page.results]
                if not (cursor := page.next_cursor):
                    break
            assert seen == expected, (principal, limit)
        for entity_type in selectors.ENTITY_FIELDS:
            page = selectors.entities_list(principal=principal, entity_type=entity_type, limit=2)
            assert [(e.type, e.id) for e in page.results] == [e[:2] for e in expected if e[0] == entity_type][:2]
