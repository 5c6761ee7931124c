from importlib import import_module

from django.db import migrations

# A posting repeats its memory's scope id, and each posting index leads with (scope id, lexeme). A btree row
# holds at most 2,704 bytes: a scope id (255 characters, up to 1,020 bytes of UTF-8) plus a long enough "word"
# (to_tsvector keeps up to 2,047 bytes) did not fit, and the add failed. Lexemes longer than 255 bytes (85 CJK
# characters, a long URL) are left out of the postings: 1,020 + 255 + the ~60 bytes of the other columns fit
# twice over, and BM25 over such a token is meaningless (a query matches it only by repeating it whole).
# memories/search.py leaves them out of the tsvector path as well (models.MAX_LEXEME_BYTES, the same number),
# so both paths rank alike. Undone, the 0009 triggers come back and the long lexemes' postings are written.
v9 = import_module("memories.migrations.0009_posting_without_length")
MAX_LEXEME_BYTES = 255
SHORT = f"octet_length(t.lexeme) <= {MAX_LEXEME_BYTES}"


def postings_of(rows: str, where: str = "") -> str:
    """0009's postings of the memories in `rows`, without the lexemes longer than MAX_LEXEME_BYTES."""
    condition = f"{where} AND {SHORT}" if where else f"WHERE {SHORT}"
    return v9.postings_of(rows, condition)


DROP_LONG = f"DELETE FROM memories_posting WHERE octet_length(lexeme) > {MAX_LEXEME_BYTES}"
ADD_LONG = f"""
INSERT INTO memories_posting ({v9.COLUMNS}) {v9.postings_of("memories_memory n", f"WHERE NOT {SHORT}")}
"""


class Migration(migrations.Migration):
    dependencies = [
        ("memories", "0012_server_config_urls_sealed"),
    ]

    operations = [
        migrations.RunSQL(v9.writers(v9.COLUMNS, postings_of), v9.writers(v9.COLUMNS, v9.postings_of)),
        migrations.RunSQL(DROP_LONG, ADD_LONG),
    ]
