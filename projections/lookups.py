"""Search keys for the lookups: recipients by name or id, applications by file reference
or by their recipient's name (part of the grants projection, same transaction).

A name is indexed under each of its word-start suffixes ("Stadt Frankfurt am Main" under
"stadt frankfurt am main", "frankfurt am main", "am main", "main"), each in every spelling
("büdingen", "budingen", "buedingen"), so a search is a prefix range on one index whatever
the table's size. Keys are normalised (NFKC, case-folded,
anything not a letter or digit is a space) and stored as the hex of their UTF-8 bytes:
hex digits order the same under every collation, so the range `[key, key + "g")` is exactly
the keys that start with `key` on SQLite and on a PostgreSQL database of any locale.

Names and references never change once registered, so each row carries the position that
created it and an as-of search is the same range with `position <= at`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ledger.errors import ValidationFailed
from projections.base import Table
from projections.db import Tx, any_of, chunks
from projections.events import LoggedEvent

TEXT, EXACT = "text", "exact"  # prefix-searchable words, or the whole reference
MAX_KEY = 64  # characters of a searchable key: enough to tell names apart, small index
MAX_EXACT = 200
MAX_WORDS = 8  # of a search: each is an index range of its own
SPELLINGS_SCHEMA = 5  # the grants schema that indexes every spelling (read_models.py)

LOOKUP = Table(
    "lookup",
    (("kind", "TEXT NOT NULL"), ("field", "TEXT NOT NULL"), ("key", "TEXT NOT NULL"),
     ("entity_id", "TEXT NOT NULL"), ("position", "BIGINT NOT NULL")),
    # Every column in the key: a search reads the index alone (SQLite keeps a table with
    # another primary key apart from its rows, PostgreSQL answers index-only).
    key=("kind", "key", "field", "entity_id", "position"),
    # a probe of one entity's keys (`matching`): whether it matches a common word
    indexes=(("kind", "entity_id", "field", "key", "position"),),
    appended=True,
)

# (field, "prefix" or "equals", encoded keys: any of them matches)
Term = tuple[str, str, tuple[str, ...]]
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """What a search compares: 'Groß-Gerau ' and 'gross gerau' are the same."""
    return _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def fold(normalised: str) -> str:
    """Without accents and umlauts: 'büdingen' → 'budingen' (how a name is typed on a
    keyboard without them)."""
    decomposed = unicodedata.normalize("NFKD", normalised)
    return unicodedata.normalize(
        "NFKC", "".join(c for c in decomposed if not unicodedata.combining(c)))


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def spellings(normalised: str) -> set[str]:
    """A normalised name as it may be typed: as written, without accents ('budingen'),
    and with German umlauts spelt out ('buedingen')."""
    return {normalised, fold(normalised), fold(normalised.translate(_UMLAUTS))}


def encode(normalised: str) -> str:
    return normalised.encode().hex()


def suffixes(text: str) -> set[str]:
    """The word-start suffixes of `text`, in each of its spellings."""
    words = normalise(text).split(" ")
    return {spelt[:MAX_KEY] for n in range(len(words)) if words[n]
            for spelt in spellings(" ".join(words[n:]))}


# -- writing -----------------------------------------------------------------------------------


def apply(tx: Tx, tag: str, events: Sequence[LoggedEvent]) -> None:
    """Rows for recipients registered and applications submitted in `events`."""
    rows: list[tuple[Any, ...]] = []
    for e in events:
        if e.aggregate == "Recipient" and e.event_type == "Registered":
            rows.extend(_recipient_rows(e.field("recipient_id"), e.field("name"), e.position))
        elif e.aggregate == "Application" and e.event_type == "Submitted":
            rows.extend(_application_rows(e.field("application_id"), e.field("reference"),
                                          e.position))
    tx.insert_rows(LOOKUP.name(tag), LOOKUP.column_names, rows)


def _recipient_rows(rid: str, name: str, position: int) -> list[tuple[Any, ...]]:
    # the id's words too: 'r-aud-1' asks for words 'r', 'aud' and '1' (grants schema 6)
    keys = suffixes(name) | suffixes(rid)
    return [("recipient", TEXT, encode(k), rid, position) for k in keys if k]


def _application_rows(aid: str, reference: str | None, position: int) -> list[tuple[Any, ...]]:
    exact = normalise(reference or "")[:MAX_EXACT]
    if not exact:
        return []
    return [("application", EXACT, encode(exact), aid, position),
            *(("application", TEXT, encode(k), aid, position)
              for k in suffixes(reference or "") if k)]


def backfill(tx: Tx, tag: str, *, entities_table: str, history_table: str) -> int:
    """Fills an empty lookup table from the entity states (a database written before the
    table existed), with the rows a replay would write: a recipient's or application's
    first history row is its Registered or Submitted event. Answers the rows written.

    The caller holds the projection's tracking row (no batch runs meanwhile)."""
    if tx.execute(f"SELECT 1 FROM {LOOKUP.name(tag)} LIMIT 1"):
        return 0
    rows: list[tuple[Any, ...]] = []
    for kind, entity_id, state, position in tx.execute(
        f"SELECT e.kind, e.entity_id, e.state, (SELECT MIN(h.position) FROM {history_table} h "
        "WHERE h.kind = e.kind AND h.entity_id = e.entity_id) "
        f"FROM {entities_table} e WHERE e.kind IN ('recipient', 'application')"
    ):
        s = orjson.loads(state)
        rows.extend(_recipient_rows(str(entity_id), s["name"], int(position))
                    if kind == "recipient"
                    else _application_rows(str(entity_id), s["reference"], int(position)))
    tx.insert_rows(LOOKUP.name(tag), LOOKUP.column_names, rows)
    return len(rows)


# -- reading -----------------------------------------------------------------------------------


def search_terms(*, q: str | None = None, reference: str | None = None) -> list[Term]:
    """(field, operator, key) for each term asked; ValidationFailed when a term has no
    letter or digit (it would match everything or nothing)."""
    terms = []
    if q is not None:
        # Every word must start a word of the name or reference, in any order: "frankfurt
        # main" finds "Stadt Frankfurt am Main" (one term per word, all of them hold).
        words = normalise(q).split()
        if not words:
            raise ValidationFailed("q: at least one letter or digit")
        if len(words) > MAX_WORDS:
            raise ValidationFailed(f"q: at most {MAX_WORDS} words")
        # A word typed without umlauts ('budingen') matches the folded keys; one typed
        # with them matches the keys as written too (rows written before the folded
        # spellings were indexed have only those).
        terms += [(TEXT, "prefix", tuple(sorted({encode(word[:MAX_KEY]),
                                                 encode(fold(word)[:MAX_KEY])})))
                  for word in dict.fromkeys(words)]
    if reference is not None:
        key = normalise(reference)[:MAX_EXACT]
        if not key:
            raise ValidationFailed("reference: at least one letter or digit")
        terms.append((EXACT, "equals", (encode(key),)))
    return terms


DRIVES = 256  # lookup rows: a term that matches fewer is read as a set, the others probed


def matching(tx: Tx, tag: str, kind: str, terms: Sequence[Term], params: dict[str, Any], *,
             entities_table: str, probe_all: bool = True,
             sizes: dict[tuple[str, Term], int] | None = None) -> list[str]:
    """SQL conditions on a row `t`, one per term; adds their parameters (with `:at` already
    among them) to `params`. An application's text matches its reference or its
    recipient's name (the recipient's rows, not one per application).

    The narrowest term — fewer than DRIVES rows of the lookup, counted with that cap — is
    read as a set, `t.entity_id IN (…)`, and drives; every other term is a probe of the
    row's own keys (`EXISTS`, one seek of the (kind, entity_id) index). A common word
    ("gemeinde", "de" of every "de-…" id) was a set of every application too, built whole
    before the page could start: 1.3 s for 20 rows of the 1M bench log. A single common
    term is a probe (`probe_all`: a page read in id order stops at its limit); several
    common terms, and a count's, which reads every match anyway, are sets. `sizes` keeps
    the terms' counts for the next call of the same question (a page, then its count)."""
    table = LOOKUP.name(tag)
    parts = [_term_sql(table, n, term, params) for n, term in enumerate(terms)]
    # an application's text: its recipient's name rows too
    names = [kind == "application" and term[0] == TEXT for term in terms]
    known = sizes if sizes is not None else {}
    for term, (selects, _), by_name in zip(terms, parts, names, strict=True):
        if (kind, term) not in known:
            kinds = (kind, "recipient") if by_name else (kind,)
            known[(kind, term)] = _size(tx, [s.format(kind=k) for k in kinds for s in selects],
                                        params)
    counts = [known[(kind, term)] for term in terms]
    driver = min(range(len(terms)), key=counts.__getitem__, default=None)
    if driver is not None and counts[driver] >= DRIVES:
        # One common word: its matches are dense, a page probed in id order stops soon.
        # Several: they may rarely meet ("gemeinde stadt"), and probing would read the
        # whole list to find so; their sets are intersected instead, as a count's are.
        driver = None if probe_all and len(terms) == 1 else -1
    conditions = []
    for n, ((selects, probe), by_name) in enumerate(zip(parts, names, strict=True)):
        if driver in (n, -1):
            ids = " UNION ".join(s.format(kind=kind) for s in selects)
            if by_name:
                recipients = " UNION ".join(s.format(kind="recipient") for s in selects)
                ids += (f" UNION SELECT a.entity_id FROM {entities_table} a WHERE "
                        f"a.kind = 'application' AND a.recipient_id IN ({recipients})")
            conditions.append(f"t.entity_id IN ({ids})")
        else:
            # OFFSET 0 keeps PostgreSQL from turning the probe into a join with every
            # matching row (SQLite has no OFFSET without LIMIT, and never does).
            end = " OFFSET 0" if tx.dialect == "postgresql" else ""
            own = f"EXISTS ({probe.format(id='t.entity_id', kind=kind)}{end})"
            if by_name:
                name = probe.format(id="t.recipient_id", kind="recipient")
                own = f"({own} OR EXISTS ({name}{end}))"
            conditions.append(own)
    return conditions


def _term_sql(table: str, n: int, term: Term, params: dict[str, Any]) -> tuple[list[str], str]:
    """A term's statements of matching ids (`l.entity_id` of the lookup rows of `{kind}`,
    one index range per spelling), and its probe (with `{id}` too: a row when that
    entity matches); `{kind}` and `{id}` are left to fill."""
    field, operator, keys = term
    params[f"lf{n}"] = field
    bounds = []
    for m, key in enumerate(keys):
        params[f"lk{n}_{m}"] = key
        if operator == "prefix":
            params[f"lh{n}_{m}"] = key + "g"  # just above every hex key starting `key`
            bounds.append(f"(l.key >= :lk{n}_{m} AND l.key < :lh{n}_{m})")
        else:
            bounds.append(f"l.key = :lk{n}_{m}")
    selects = [f"SELECT l.entity_id FROM {table} l WHERE l.kind = '{{kind}}' AND {bound} "
               f"AND l.field = :lf{n} AND l.position <= :at" for bound in bounds]
    probe = (f"SELECT 1 FROM {table} l WHERE l.kind = '{{kind}}' AND l.entity_id = {{id}} "
             f"AND l.field = :lf{n} AND ({' OR '.join(bounds)}) AND l.position <= :at")
    return selects, probe


def _size(tx: Tx, selects: list[str], params: dict[str, Any]) -> int:
    """How many lookup rows `selects` match, counted up to DRIVES: short index ranges,
    none read whole."""
    rows = " UNION ALL ".join(selects)
    return int(tx.execute(f"SELECT COUNT(*) FROM ({rows} LIMIT {DRIVES}) x", params)[0][0])


def recipient_names(tx: Tx, entities_table: str, ids: Iterable[str]) -> dict[str, str]:
    """The names of recipients (for application rows): a name never changes, so the
    current states answer for any as-of too."""
    found: dict[str, str] = {}
    wanted = set(ids)
    if not wanted:
        return found
    for chunk in chunks(tx, wanted):
        condition, params = any_of(tx, "entity_id", chunk)
        for entity_id, state in tx.execute(
            f"SELECT entity_id, state FROM {entities_table} WHERE kind = 'recipient' "
            f"AND {condition}", params,
        ):
            found[str(entity_id)] = orjson.loads(state)["name"]
    return found
