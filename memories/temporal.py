"""The time a search query names ("last week", "yesterday", "in March 2025", "3 days ago"), as a window of time.

Search ranks memories of that window above those that are not, and also takes the window's own closest memories
as candidates (memories/search.py), so "What did I do last week?" finds last week's memories even when nothing
else in the query matches them. A memory's time is the one its own text names, read by the same patterns from
when it happened or was stored (Memory.date_event: "Yesterday I met Maya"), else its `timestamp`, else when it
was stored. This is Mem0 Platform's temporal reasoning; `reference_date` stands in for "now", as there.

English expressions only; the first one in the query counts. Days, weeks (Monday first), months and years are
those of `now`'s time zone. A window is [start, end): `start` inclusive, `end` exclusive.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple of": 2,
    "few": 3,
}
UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month"}
UNITS |= {"year": "year", "years": "year"}
MAX_AGO = 1000  # "5000 years ago" names no time a memory can have: no window

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(WEEKDAYS)
# Not the end of a number ("2.5 days ago", "1,500 days ago" are not 5 or 500 days ago).
_COUNT = r"(?<!\d[.,])(?:\d{1,4}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + ")"
_UNIT = "|".join(sorted(UNITS, key=len, reverse=True))
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
# Not the start of a longer number: "in 2023.1" is a version, not 2023.
_YEAR = r"(?P<year>(?:19|20)\d\d)(?![.,]\d)"
# Months that are also given names are more often a person than a time after "from" and "of" ("What did I hear from
# April?", "a photo of June"): there they count only with a day or a year ("from April 2024", "from June 3", read by
# the patterns for those) or after a part of a month ("the end of June"). Other months keep both words ("photos from
# March", "the ides of March"). Before "'s" they are a person after any word ("in June's car"; "in March's storms"
# is a time).
_NAME_MONTH = r"(?:april|may|june|jun|august|jan)"
# ... and after "since" before what people do: "since June moved out" (a month cannot move out; "since June ended"
# is a time). Only "since" begins a clause: after "in" or "during" the month ends one ("the note I got in May said to
# call", "what we planned in June worked").
_PERSON_VERBS = (
    "moved|left|said|says|told|tells|called|texted|wrote|went|got|bought|gave|asked|visited|lives|lived|works|worked|"
    "met|likes|liked|loves|loved|wants|wanted|thinks|thought|sent|brought|married|joined|quit|sold|came|had|took|made|"
    r"died|graduated|retired|and\s+I"
)
_SINCE = rf"since(?!\s+{_NAME_MONTH}\s+(?:{_PERSON_VERBS})\b)"
_OF_FROM = rf"(?:of|from)(?!\s+{_NAME_MONTH}\b)"
_PART_OF = r"(?:beginning|start|middle|end|rest|week|month)\s+of"
# "last March" is the latest March before this month; a lower-case "may" after "last" is the verb ("the last may be
# first").
_LAST = r"(?:since\s+)?(?P<last>last)(?!\s+(?-i:may)\b)"
_BEFORE_MONTH = rf"(?:{_LAST}|in|during|{_SINCE}|as of|{_PART_OF}|{_OF_FROM})"
_WHICH_DAY = r"last|this|next|on|past|every(?:\s+other)?|each"
# A weekday inside a name is no day: "Sunday school" is a place, and "Black Friday" or "Easter Sunday" a holiday, not
# the latest Friday or Sunday. Holidays are written with a capital ("a good Friday" is a day). The look-behinds are
# tried only before a weekday: at every word they cost the scan 6%.
_NOT_A_HOLIDAY = rf"(?=(?:{_WEEKDAY})\b)" + "".join(
    rf"(?<!\b(?-i:{word})\s)" for word in ("Good", "Black", "Cyber", "Easter", "Palm", "Ash")
)
# "Sunday school" is a place, and "Saturday Night Live" or "Monday Night Football" a show: a weekday before
# a capitalised "Night" and another capitalised word is a title.
_NOT_A_TITLE = r"(?!\s+school\b)(?!\s+(?-i:Night\s+[A-Z]))"
# "in 2000 words", "from 2010 steps": a number of things, not a year.
_QUANTITIES = "words|characters|pages|steps|calories|dollars|euros|pounds|points|miles|meters|metres|km|feet|pieces"
_NOT_A_QUANTITY = rf"(?!\s+(?:{_QUANTITIES})\b)"
_RELATIVE_UNIT = "week|weekend|month|year"
_DAY_WORD = "today|tonight|yesterday|tomorrow|last night|this morning|this afternoon|this evening"
# "the last week of March", "my last year of school", "the last night of the trip": the final or following ones of
# something, not the week, year or night before or after this one.
_NOT_FINAL = rf"(?!(?:last|next)\s+(?:{_COUNT}\s+)?(?:{_UNIT}|{_RELATIVE_UNIT}|night)\s+of\b)"

# "since June 3" runs from that day through today, not from June 1 ("since June" would match first otherwise).
_SINCE_DAY = r"(?:(?P<since>since)\s+(?:the\s+)?)?"

PATTERNS = [
    ("iso", rf"\b{_SINCE_DAY}{_YEAR}-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b"),
    # Day first, as written with dots in most of Europe ("on 10.01.2024" is 10 January); not inside a longer number.
    ("dotted", rf"(?<![\w.]){_SINCE_DAY}(?P<d>[0-3]?\d)\.(?P<m>[01]?\d)\.{_YEAR}\b"),
    ("month_day", rf"\b{_SINCE_DAY}(?P<month>{_MONTH})\.?\s+{_DAY}(?:,?\s+{_YEAR})?\b"),
    ("day_month", rf"\b{_SINCE_DAY}{_DAY}\s+(?P<of>of\s+)?(?P<month>{_MONTH})\.?(?:,?\s+{_YEAR})?\b"),
    ("month_year", rf"\b(?P<month>{_MONTH})\.?\s+(?:of\s+)?{_YEAR}\b"),
    (
        "in_month",
        rf"\b{_BEFORE_MONTH}\s+(?!{_NAME_MONTH}['’]s\b)(?P<month>{_MONTH})\b(?:\.?,?\s+(?:of\s+)?{_YEAR}\b)?",
    ),
    (
        "in_year",
        rf"\b(?:in|during|since|as of|from)\s+{_YEAR}\b{_NOT_A_QUANTITY}",
    ),  # not "of": "a crowd of 2000 people"
    ("ago", rf"\b(?P<count>{_COUNT})\s+(?P<unit>{_UNIT})\s+ago\b"),
    ("past", rf"\b{_NOT_FINAL}(?:past|last|previous)\s+(?P<count>{_COUNT})\s+(?P<unit>{_UNIT})\b"),
    ("relative", rf"\b{_NOT_FINAL}(?P<which>this|last|next|past|previous|coming)\s+(?P<unit>{_RELATIVE_UNIT})\b"),
    ("weekday", rf"\b(?:(?P<which>{_WHICH_DAY})\s+)?{_NOT_A_HOLIDAY}(?P<weekday>{_WEEKDAY})\b{_NOT_A_TITLE}"),
    ("day_word", rf"\b{_NOT_FINAL}(?P<word>{_DAY_WORD})\b"),
]


def _renamed(name: str, pattern: str) -> str:
    """`pattern` with its groups named `name__group`: group names must be unique across the alternatives."""
    return re.sub(r"\(\?P<(\w+)>", lambda group: f"(?P<{name}__{group.group(1)}>", pattern)


# ASCII: in Unicode mode IGNORECASE also matches "ſ" (long s), "ı", "İ" and the Kelvin sign to s, i and k, and such a
# word ("3 dayſ ago") lower-cases to no key of MONTHS, WEEKDAYS or UNITS (a KeyError, a 500 for a search or an add).
_COMPILED = re.compile(
    "|".join(f"(?P<_{name}>{_renamed(name, pattern)})" for name, pattern in PATTERNS), re.IGNORECASE | re.ASCII
)


@dataclass(frozen=True)
class TimeWindow:
    expression: str  # as the query wrote it
    start: datetime
    end: datetime


# "May 3 people join?": the verb asking, then a number of people, not 3 May ("on May 3 people came" is).
_COUNTED = re.compile(
    r"\s+(?:people|persons|guests|kids|children|friends|members|players|students|of\s+(?:us|you|them))\b", re.I
)
# "Friday before 10.01.2024": the Friday before that day, not the latest Friday.
_ANCHORED = re.compile(r"\s+(?P<side>before|after)\s+", re.I)
# "the Friday before last": the Friday before last Friday. Only where "last" ends the words ("the Friday before last
# Christmas" names a day this parser does not read).
_LAST_ALONE = re.compile(r"last\b(?=\s*(?:[^\w\s]|$))", re.I)

# Words without which no pattern above matches: most queries have none, and then the patterns are not tried (they
# cost about 3 microseconds a character). Only the first MAX_SCAN_CHARS characters are read.
_TRIGGERS = frozenset(MONTHS) | frozenset(WEEKDAYS) | {"ago", "week", "weekend", "month", "year", "tonight"}
_TRIGGERS |= {"today", "yesterday", "tomorrow", "night", "morning", "afternoon", "evening", "days", "weeks"}
_TRIGGERS |= {"day", "months", "years"}
_WORDS = re.compile(r"[a-z]+|\d{4}(?=-)|(?:19|20)\d\d\b")
MAX_SCAN_CHARS = 1_000


def named_window(query: str, now: datetime) -> TimeWindow | None:
    """The window of time `query` (a search's query, or a memory's text) names, relative to `now` (an aware
    datetime), or None when it names none."""
    query = query[:MAX_SCAN_CHARS]
    if not any(word in _TRIGGERS or word[0].isdigit() for word in _WORDS.findall(query.lower())):
        return None
    today = now.date()
    for match in _COMPILED.finditer(query):
        name, parts = _parts(match)
        if not _is_time(name, parts, query, match):
            continue
        try:
            lower = {key: value.lower() for key, value in parts.items()}
            expression, anchored = match.group(0), None
            if name == "weekday" and lower.get("which", "on") == "on":
                anchored = _anchored(query, match.end(), WEEKDAYS[lower["weekday"]], today)
            if anchored is not None:
                days, expression = anchored[0], query[match.start() : anchored[1]]
            else:
                days = _window(name, lower, today)
            if days is not None:
                if expression.lower().startswith("since"):  # "since March": from then until today, included
                    days = days[0], max(days[1], today + timedelta(days=1))
                start, end = _midnight(days[0], now), _midnight(days[1], now)
                # In year 1 or later in UTC too, as PostgreSQL stores it: 0001-01-01 00:00+14:00 is 1 BC there, and a
                # memory dated so could not be read back (psycopg: "timestamp too small"). OverflowError when not.
                start.astimezone(UTC)
                return TimeWindow(expression, start, end)
        except (ValueError, OverflowError):  # before year 1 or after 9999 ("yesterday" on 0001-01-01): no time
            continue
    return None


def _parts(match: re.Match) -> tuple[str, dict[str, str]]:
    """The name of the pattern `match` matched, and its groups that matched, as the query wrote them."""
    name = match.lastgroup.removeprefix("_")
    prefix = f"{name}__"
    return name, {
        key.removeprefix(prefix): value
        for key, value in match.groupdict().items()
        if value is not None and key.startswith(prefix)
    }


def _is_time(name: str, parts: dict[str, str], query: str, match: re.Match) -> bool:
    """False for the words a pattern matched that the words around them read otherwise."""
    # "the 2 may need a new battery": a number and the verb, not 2 May. The month after a number is written "May",
    # or has its year ("2 may 2025") or "of" ("the 2nd of may"); "may 2" and "in may" have no verb reading.
    if name == "day_month" and parts["month"] == "may" and not parts.keys() & {"of", "year"}:
        return False
    return not (
        name == "month_day"
        and parts["month"].lower() == "may"
        and not parts.keys() & {"year", "since"}
        and query[: match.start()].rstrip()[-1:] in ("", ".", "!", "?")  # a question's first word
        and _COUNTED.match(query, match.end())
    )


def _anchored(query: str, end: int, weekday: int, today: date) -> tuple[tuple[date, date], int] | None:
    """ "Friday before 10.01.2024" / "Monday after May 3" (a weekday that ends at `end`): that weekday, the latest
    before or the first after the one day named right after, and where that day's words end; None when no one day
    is named there ("the Friday before the trip", "Friday before March"). That day is read by one pattern, so a
    chain of them ("Friday before Friday before ...") costs one step a weekday, not one a way to read it."""
    side = _ANCHORED.match(query, end)
    if side and side["side"].lower() == "before" and (last := _LAST_ALONE.match(query, side.end())):
        day = _weekday("last", weekday, today)[0] - timedelta(weeks=1)  # "the Friday before last"
        return (day, day + timedelta(days=1)), last.end()
    anchor = side and _COMPILED.match(query, side.end())
    if not anchor:
        return None
    name, parts = _parts(anchor)
    if "since" in parts or not _is_time(name, parts, query, anchor):
        return None
    days = _window(name, {key: value.lower() for key, value in parts.items()}, today)
    if days is None or days[1] - days[0] != timedelta(days=1):
        return None
    # The latest such weekday before that day, or the first after it: "last" and "next" read from it.
    return _weekday("last" if side["side"].lower() == "before" else "next", weekday, days[0]), anchor.end()


def _midnight(day: date, now: datetime) -> datetime:
    return datetime.combine(day, time(), tzinfo=now.tzinfo)


def _window(name: str, parts: dict[str, str], today: date) -> tuple[date, date] | None:
    try:
        if name in ("iso", "dotted"):
            day = date(int(parts["year"]), int(parts["m"]), int(parts["d"]))
            return day, day + timedelta(days=1)
        if name in ("month_day", "day_month"):
            month, day_of_month = MONTHS[parts["month"].rstrip(".")], int(parts["day"])
            year = int(parts["year"]) if "year" in parts else _latest_year(today, month, day_of_month)
            while (month, day_of_month) == (2, 29) and "year" not in parts and not calendar.isleap(year):
                year -= 1  # "Feb 29" said in 2025: 2024's
            day = date(year, month, day_of_month)
            return day, day + timedelta(days=1)
        if name == "month_year":
            return _month(int(parts["year"]), MONTHS[parts["month"].rstrip(".")])
        if name == "in_month":
            month = MONTHS[parts["month"]]
            if "year" in parts:
                return _month(int(parts["year"]), month)
            if "last" in parts:
                return _month(today.year if month < today.month else today.year - 1, month)
            return _month(_latest_year(today, month, 1), month)
        if name == "in_year":
            year = int(parts["year"])
            return date(year, 1, 1), date(year + 1, 1, 1)
    except ValueError:  # February 30th, month 13: names no day
        return None
    if name in ("ago", "past"):
        count = int(parts["count"]) if parts["count"].isdigit() else NUMBERS[parts["count"]]
        if not 0 < count <= MAX_AGO:
            return None
        unit = UNITS[parts["unit"]]
        if name == "past":  # the last N days: up to and including today
            return _back(today, unit, count)[0], today + timedelta(days=1)
        return _unit_window(_back(today, unit, count)[0], unit)
    if name == "relative":
        return _relative(parts["which"], parts["unit"], today)
    if name == "weekday":
        if parts.get("which", "").startswith(("every", "each")):  # a habit ("every Sunday"), not a day
            return None
        return _weekday(parts.get("which"), WEEKDAYS[parts["weekday"]], today)
    word = parts["word"]
    if word in ("yesterday", "last night"):
        return today - timedelta(days=1), today
    if word == "tomorrow":
        return today + timedelta(days=1), today + timedelta(days=2)
    return today, today + timedelta(days=1)


def _latest_year(today: date, month: int, day: int) -> int:
    """The year of the latest such day that is not after today ("in March" in January: last year's)."""
    return today.year if (month, day) <= (today.month, today.day) else today.year - 1


def _month(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    return start, date(year + month // 12, month % 12 + 1, 1)


def _back(today: date, unit: str, count: int) -> tuple[date, date]:
    """The day `count` units before today, and today."""
    if unit == "day":
        return today - timedelta(days=count), today
    if unit == "week":
        return today - timedelta(weeks=count), today
    months = today.year * 12 + today.month - 1 - (count if unit == "month" else 12 * count)
    year, month = divmod(months, 12)
    return date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1])), today


def _unit_window(day: date, unit: str) -> tuple[date, date]:
    """The calendar day, week, month or year that holds `day`."""
    if unit == "day":
        return day, day + timedelta(days=1)
    if unit == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(weeks=1)
    if unit == "month":
        return _month(day.year, day.month)
    return date(day.year, 1, 1), date(day.year + 1, 1, 1)


def _relative(which: str, unit: str, today: date) -> tuple[date, date]:
    if which == "past" and unit != "weekend":  # the past week: the last 7 days, today included
        return _back(today, unit, 1)[0], today + timedelta(days=1)
    step = {"this": 0, "last": -1, "past": -1, "previous": -1, "next": 1, "coming": 1}[which]
    if unit == "weekend":
        saturday = today - timedelta(days=today.weekday() - 5)  # this week's
        if step < 0:
            saturday -= timedelta(weeks=1)
        elif step > 0 and today.weekday() >= 5:
            saturday += timedelta(weeks=1)
        return saturday, saturday + timedelta(days=2)
    if unit == "week":
        return _unit_window(today + timedelta(weeks=step), "week")
    if unit == "month":
        year, month = divmod(today.year * 12 + today.month - 1 + step, 12)
        return _month(year, month + 1)
    return date(today.year + step, 1, 1), date(today.year + step + 1, 1, 1)


def _weekday(which: str | None, weekday: int, today: date) -> tuple[date, date]:
    """ "last/past Monday": the latest Monday before today; "on Monday" and a bare "Monday": the latest not after
    today (on a Monday, that day); "this Monday": this week's; "next Monday": the first after today."""
    if which == "next":
        day = today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    elif which == "this":
        day = today - timedelta(days=today.weekday()) + timedelta(days=weekday)
    elif which in ("last", "past"):
        day = today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    else:
        day = today - timedelta(days=(today.weekday() - weekday) % 7)
    return day, day + timedelta(days=1)
