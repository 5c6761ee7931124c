"""Generate bench/data/dialogues.json, the recall benchmark's own dataset (fixed seed: same file every run).

    .venv/bin/python bench/data/make_dialogues.py

Pairs of friends talk over many dated sessions. The dataset is built to contain what makes retrieval fail
on long chats (issue 12):
- every stored turn starts with its speaker's name (bench/recall.py stores "Name: text"), so the name in a
  question matches half the conversation;
- the decisive word of a question is rare: a place, an event, an object, a pet's name;
- most turns are short and generic (reactions, questions back, small talk) and sit close to many questions
  by meaning, while the turn that holds the answer is long and talks about several things;
- "when did ..." questions, whose answer turn says "yesterday" or "last weekend": only the session date
  answers them;
- the same kind of event happens to both speakers (the name decides), and some facts are told twice
  (multi-hop questions need both turns).
The layout is described in bench/recall.py.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20261201
OUT = Path(__file__).resolve().parent / "dialogues.json"

NAMES = [
    ("Maya", "Jonas"),
    ("Priya", "Tom"),
    ("Lena", "Omar"),
    ("Grace", "Mateo"),
    ("Aiko", "Daniel"),
    ("Sofia", "Kwame"),
    ("Hannah", "Ravi"),
    ("Elena", "Marcus"),
]
PLACES = [
    "Aveiro",
    "Tromsø",
    "Ljubljana",
    "Cuenca",
    "Hallstatt",
    "Matera",
    "Kotor",
    "Oaxaca",
    "Hobart",
    "Essaouira",
    "Bergen",
    "Cinque Terre",
    "Zermatt",
    "Valparaíso",
    "Hội An",
    "Luang Prabang",
    "Galway",
    "Sintra",
    "Bruges",
    "Queenstown",
    "Tallinn",
    "Cappadocia",
    "Kyoto",
    "Chefchaouen",
    "Banff",
    "Dubrovnik",
    "Porto",
    "Reykjavik",
    "Santorini",
    "Cusco",
    "Mostar",
    "Annecy",
    "Plovdiv",
    "Lofoten",
    "Gdańsk",
    "Granada",
    "Zanzibar",
    "Hakone",
]
PETS = [
    "Biscuit",
    "Pickle",
    "Nimbus",
    "Juniper",
    "Waffles",
    "Mochi",
    "Pepper",
    "Ziggy",
    "Clementine",
    "Otis",
    "Tofu",
    "Basil",
    "Marzipan",
    "Sprocket",
    "Hazel",
    "Noodle",
]
BANDS = [
    "the Velvet Owls",
    "Paper Lanterns",
    "Glass Harbor",
    "the Midnight Ferns",
    "Copper Tide",
    "Static Bloom",
    "the Lonely Comets",
    "Salt & Cedar",
    "Northbound Choir",
    "Marigold Radio",
]
BOOKS = [
    "The Salt Road",
    "Orchards of Winter",
    "A Map of Small Things",
    "The Lighthouse Ledger",
    "Seven Quiet Rivers",
    "The Clockmaker's Daughter",
    "Under the Linden Tree",
    "The Cartographer's Son",
    "Echoes in Amber",
    "The Last Ferry Home",
]
DISHES = [
    "mushroom risotto",
    "lamb tagine",
    "shakshuka",
    "pad see ew",
    "beef rendang",
    "pierogi",
    "ramen from scratch",
    "jollof rice",
    "a lemon tart",
    "focaccia",
    "bibimbap",
    "chicken adobo",
    "borscht",
    "moussaka",
]
INSTRUMENTS = [
    "the cello",
    "the ukulele",
    "the banjo",
    "the trumpet",
    "the harmonica",
    "the violin",
    "the drums",
    "the accordion",
    "the mandolin",
    "the saxophone",
]
SPORTS = [
    "bouldering",
    "fencing",
    "rowing",
    "ultimate frisbee",
    "archery",
    "water polo",
    "kickboxing",
    "curling",
    "roller derby",
    "paddleboarding",
    "squash",
    "orienteering",
]
CRAFTS = [
    "pottery",
    "watercolor painting",
    "woodcarving",
    "knitting",
    "calligraphy",
    "stained glass",
    "bookbinding",
    "embroidery",
    "linocut printing",
    "candle making",
    "macramé",
    "origami",
]
OBJECTS = [
    "a brass telescope",
    "a vintage typewriter",
    "a secondhand kayak",
    "an espresso machine",
    "a record player",
    "a sewing machine",
    "an electric bike",
    "a sourdough starter",
    "a 3D printer",
    "a weighted blanket",
    "a film camera",
    "a standing desk",
    "a telescope mount",
    "a bonsai tree",
]
EVENTS = [
    "a charity 10k",
    "a lantern festival",
    "a jazz festival",
    "a chili cook-off",
    "a book fair",
    "a hackathon",
    "a salsa night",
    "a pottery market",
    "a film festival",
    "a food truck rally",
    "a stargazing night",
    "a poetry slam",
    "a farmers' market fundraiser",
    "a tango workshop",
]
JOBS = [
    "a pediatric nurse",
    "a landscape architect",
    "a data analyst",
    "a high-school chemistry teacher",
    "a sous-chef",
    "a museum curator",
    "a physiotherapist",
    "a translator",
    "a carpenter",
    "a UX researcher",
]
RELATIVES = ["my sister", "my brother", "my mom", "my dad", "my cousin", "my grandma", "my aunt", "my nephew"]
CHARITIES = [
    "an animal shelter",
    "a food bank",
    "a literacy program",
    "a community garden",
    "a youth soccer club",
    "a refugee center",
    "a hospice",
    "a beach clean-up group",
]
WHEN = [
    ("yesterday", 1),
    ("last weekend", 8),
    ("last Friday", 5),
    ("two days ago", 2),
    ("this morning", 0),
    ("last week", 7),
    ("on Saturday", 4),
]

FILLER = [
    "It was honestly exhausting but so worth it.",
    "I didn't expect it to be that much fun, to be honest.",
    "The weather was all over the place, sun one minute and rain the next.",
    "I took way too many photos, I'll send you some later.",
    "Work has been hectic, so it was nice to get away from the screen for a bit.",
    "I kept thinking about how you would have loved it.",
    "There were so many people, but somehow it still felt relaxed.",
    "By the end of the day my feet were killing me.",
    "I've been wanting to do something like this for ages.",
    "It reminded me a bit of when we were kids.",
    "Afterwards we grabbed some food and talked for hours.",
    "I'm already planning to do it again next year.",
    "It was a bit scary at first, not going to lie.",
    "My phone died halfway through, which was probably a good thing.",
]
REACTIONS = [
    "Wow, that sounds amazing!",
    "Haha, that's so you.",
    "Oh no, that sounds stressful.",
    "That's awesome!",
    "I love that for you.",
    "No way, really?",
    "That's so cool, I'm jealous.",
    "Aww, that's really sweet.",
    "Ha! Classic.",
    "Sounds like a great time.",
    "That must have been hard.",
    "I'm so happy for you!",
    "Oh wow, I didn't know that.",
    "That's brilliant.",
    "Yikes. Are you okay?",
    "Nice, good for you!",
]
QUESTIONS_BACK = [
    "How did that make you feel?",
    "What made you decide to do that?",
    "Did you enjoy it?",
    "Tell me more about it!",
    "Who did you go with?",
    "Would you do it again?",
    "How was it?",
    "What was the best part?",
    "Was it expensive?",
    "How long did it take?",
    "What happened next?",
    "Where was that again?",
    "When are you going back?",
    "What did your family think?",
]
SMALL_TALK = [
    "I've been so busy with work lately, I barely had time to breathe.",
    "Honestly this week has flown by.",
    "Sorry for the late reply, it's been one of those days.",
    "Anyway, enough about me. What's new with you?",
    "I'm trying to sleep more, but it's not going great.",
    "Did you see the game last night? What a finish.",
    "I really need a holiday soon.",
    "Thanks for always listening, it means a lot.",
    "We should catch up properly over coffee sometime.",
    "I've been cooking at home more to save money.",
    "My neighbours are renovating again, the drilling never stops.",
    "I started journaling again, it helps me think.",
    "Talk soon! Take care of yourself.",
    "Good to hear from you, it's been a while!",
]

# Facts: (kind, slots, turn text, [(category, question)...]). {when} is a relative day the session date resolves.
# The question keeps the rare words of the turn only where a person asking would naturally repeat them.
FACTS = [
    (
        "trip",
        {"place": PLACES},
        "Guess what, I finally made it to {place} {when}! We walked the old town, ate far too much and I bought a "
        "tiny painted tile for the kitchen.",
        [
            ("single-hop", "Where did {name} travel to and buy a painted tile?"),
            ("temporal", "When did {name} go to {place}?"),
        ],
    ),
    (
        "pet",
        {"pet": PETS},
        "So we adopted a rescue dog {when}, a scruffy little terrier mix. We named him {pet} because he's round "
        "and golden. He already chewed one of my shoes.",
        [("single-hop", "What is the name of {name}'s dog?"), ("temporal", "When did {name} adopt a dog?")],
    ),
    (
        "concert",
        {"band": BANDS},
        "I went to see {band} live {when}. The encore went on for twenty minutes and I lost my voice singing along.",
        [("single-hop", "Which band did {name} see in concert?"), ("temporal", "When did {name} see {band} live?")],
    ),
    (
        "book",
        {"book": BOOKS},
        "I just finished reading '{book}'. It's about a family keeping a secret for three generations, and the ending "
        "made me cry on the train.",
        [
            ("single-hop", "What book made {name} cry on the train?"),
            ("open-domain", "What kind of novels does {name} enjoy reading?"),
        ],
    ),
    (
        "cooking",
        {"dish": DISHES},
        "I tried making {dish} for the first time {when}. It took three hours and the kitchen was a disaster, but "
        "everyone asked for seconds.",
        [
            ("single-hop", "What dish did {name} cook for the first time?"),
            ("temporal", "When did {name} first make {dish}?"),
        ],
    ),
    (
        "instrument",
        {"instrument": INSTRUMENTS},
        "I signed up for lessons and I'm learning to play {instrument}. My teacher says I have decent rhythm, my "
        "neighbours probably disagree.",
        [
            ("single-hop", "Which instrument is {name} learning?"),
            ("open-domain", "Does {name} have any musical hobbies?"),
        ],
    ),
    (
        "sport",
        {"sport": SPORTS},
        "I joined a {sport} club {when}. First session was brutal, my arms are still sore, but the group is lovely.",
        [("single-hop", "What sport club did {name} join?"), ("temporal", "When did {name} start {sport}?")],
    ),
    (
        "craft",
        {"craft": CRAFTS},
        "I took a {craft} class at the community center {when}. Mine came out lopsided but I'm weirdly proud of it.",
        [
            ("single-hop", "What class did {name} take at the community center?"),
            ("temporal", "When did {name} take the {craft} class?"),
        ],
    ),
    (
        "purchase",
        {"object": OBJECTS},
        "Treated myself and bought {object} {when}. Been wanting one for years and it finally went on sale.",
        [("single-hop", "What did {name} buy on sale?"), ("temporal", "When did {name} buy {object}?")],
    ),
    (
        "event",
        {"event": EVENTS},
        "We went to {event} downtown {when}. There was live music, far too many food stalls and I ran into my old "
        "roommate there.",
        [("single-hop", "Where did {name} run into an old roommate?"), ("temporal", "When did {name} go to {event}?")],
    ),
    (
        "job",
        {"job": JOBS},
        "Big news: I got the job! I'm starting as {job} next month. The interview was four rounds, I was a nervous "
        "wreck the whole time.",
        [("single-hop", "What job did {name} get?"), ("open-domain", "What does {name} do for a living?")],
    ),
    (
        "family",
        {"relative": RELATIVES, "place": PLACES},
        "{relative_cap} is moving to {place} for work, so we had a farewell dinner {when}. I'm going to miss "
        "having them close.",
        [
            ("single-hop", "Which relative of {name} is moving away?"),
            ("single-hop", "Where is {name}'s {relative_bare} moving to?"),
            ("temporal", "When did {name} have a farewell dinner for {relative_bare}?"),
        ],
    ),
    (
        "volunteer",
        {"charity": CHARITIES},
        "I've started volunteering at {charity} on Sunday mornings. It's humbling, and the people there are "
        "incredible.",
        [("single-hop", "Where does {name} volunteer?"), ("open-domain", "Is {name} involved in any community work?")],
    ),
]


def cap(text: str) -> str:
    return text[0].upper() + text[1:]


def render_fact(rng: random.Random, fact, name: str, used: set[str]) -> tuple[str, list[tuple[str, str]], dict]:
    kind, slots, template, questions = fact
    values = {}
    for slot, pool in slots.items():
        choices = [value for value in pool if value not in used] or pool
        values[slot] = rng.choice(choices)
        used.add(values[slot])
    when, _ = rng.choice(WHEN)
    values["when"] = when
    if "relative" in values:
        values["relative_cap"] = cap(values["relative"])
        values["relative_bare"] = values["relative"].removeprefix("my ")
    text = template.format(**values)
    # Long answer turns: the fact sits among other sentences.
    extra = rng.sample(FILLER, rng.randint(1, 3))
    sentences = [*extra[:1], text, *extra[1:]] if rng.random() < 0.4 else [text, *extra]
    asked = [(category, question.format(name=name, **values)) for category, question in questions]
    return " ".join(sentences), asked, {"kind": kind, "when": when, **values}


def session_turns(rng, speakers, facts_here):
    """A session: small talk, then each fact told by its speaker, answered by reactions and questions back."""
    turns = []
    a, b = speakers
    turns.append((a, rng.choice(SMALL_TALK)))
    turns.append((b, rng.choice(SMALL_TALK)))
    for speaker, text, key in facts_here:
        other = b if speaker == a else a
        turns.append((speaker, text, key))
        for _ in range(rng.randint(1, 3)):
            turns.append((other, rng.choice(REACTIONS + QUESTIONS_BACK)))
            turns.append((speaker, rng.choice(REACTIONS + FILLER + SMALL_TALK)))
    turns.append((a, rng.choice(SMALL_TALK)))
    return turns


def conversation(rng: random.Random, index: int, speakers: tuple[str, str], sessions: int) -> tuple[dict, list]:
    cid = f"c{index + 1}"
    start = datetime(2023, 1, 9, 18, 0, tzinfo=UTC) + timedelta(days=rng.randint(0, 200))
    used: set[str] = set()
    plan = []  # per session: list of (speaker, fact)
    # Each speaker tells each kind of event at most twice (a second telling makes a multi-hop question).
    pool = [(speaker, fact) for speaker in speakers for fact in FACTS for _ in range(2)]
    rng.shuffle(pool)
    for _ in range(sessions):
        plan.append([pool.pop() for _ in range(min(len(pool), rng.randint(1, 3)))])
    conv = {"id": cid, "speakers": list(speakers), "sessions": []}
    questions = []
    date = start
    for s, facts in enumerate(plan):
        date += timedelta(days=rng.randint(4, 20), hours=rng.randint(-3, 3))
        sid = f"{cid}s{s + 1}"
        rendered = []
        for speaker, fact in facts:
            text, asked, values = render_fact(rng, fact, speaker, used)
            rendered.append((speaker, text, (asked, values)))
        turns = []
        for t, turn in enumerate(session_turns(rng, speakers, rendered)):
            tid = f"{sid}t{t + 1}"
            turns.append({"id": tid, "speaker": turn[0], "text": turn[1]})
            if len(turn) == 3:
                asked, values = turn[2]
                for category, question in asked:
                    questions.append({"question": question, "evidence": [tid], "category": category})
        conv["sessions"].append({"id": sid, "date": date.isoformat().replace("+00:00", "Z"), "turns": turns})
    # The same question asked of two tellings (one speaker, one kind of event, twice): one question whose
    # answer needs both turns.
    merged: dict[str, dict] = {}
    for question in questions:
        if question["question"] in merged:
            first = merged[question["question"]]
            first["evidence"] += question["evidence"]
            first["category"] = "multi-hop"
        else:
            merged[question["question"]] = question
    questions = list(merged.values())
    for q, question in enumerate(questions):
        question["id"] = f"{cid}q{q + 1}"
        question["conversation"] = cid
    return conv, questions


def main() -> None:
    rng = random.Random(SEED)
    conversations, questions = [], []
    for index, speakers in enumerate(NAMES):
        conv, asked = conversation(rng, index, speakers, sessions=rng.randint(12, 16))
        conversations.append(conv)
        questions.extend(asked)
    data = {
        "name": f"mem0server dialogues (synthetic, seed {SEED})",
        "conversations": conversations,
        "questions": [
            {key: q[key] for key in ("id", "conversation", "question", "evidence", "category")} for q in questions
        ],
    }
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    turns = sum(len(s["turns"]) for c in conversations for s in c["sessions"])
    cats: dict[str, int] = {}
    for q in questions:
        cats[q["category"]] = cats.get(q["category"], 0) + 1
    print(f"{OUT}: {len(conversations)} conversations, {turns} turns, {len(questions)} questions {cats}")


if __name__ == "__main__":
    main()
