"""PostgreSQL: `orders_search_doc` reads the SKUs of lines written as the hub writes them
without its regular expression (docs/performance.md, "Ingest"): the lines' text split on
`"sku":"`, each SKU up to the next quote. The regular expression cost ~15 us an order of the
server's CPU in a bulk load (the search index computes the document of every row written);
the split ~6.

The function gives exactly the text migration 0017's gave, for every input: the split is
taken only where it cannot differ from the pattern `"sku"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`:

- no backslash in the lines (then there is no escape to read, and a SKU is `[^"]*`);
- no `"sku"` left once every `"sku":"` is removed (then every place the pattern could start,
  `"sku"` then spaces and a colon, is a `"sku":"` the split cuts at, or lies inside the SKU
  match before it);
- a quote in every piece after the first (each SKU ends before the next `"sku":"`; the
  pattern's closing quote is then the split's).

Anything else (and lines without a SKU) takes 0017's regular expression as it was.
tests/test_search_document.py compares both functions on hostile lines. The index need not be
rebuilt: the function's value is the same for every row."""

from alembic import op

revision = "0025"
down_revision = "0024"

_SIGNATURE = (
    "orders_search_doc(id bigint, external_id text, customer text, email text,"
    " vendor_ref text, tracking_number text, lines text)"
)
_HEAD = (
    f"CREATE OR REPLACE FUNCTION {_SIGNATURE} RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT concat_ws(' ', id::text, external_id,"
    " customer, email, vendor_ref, tracking_number, "
)
#: Migration 0017's SKUs: every match of the pattern, its escapes read.
_SKU = r'''"sku"\s*:\s*"((?:[^"\\]|\\.)*)"'''
_REGEX_SKUS = (
    r"array_to_string(ARRAY(SELECT regexp_replace(m[1], '\\(.)', '\1', 'g') FROM"
    f" regexp_matches(lines, '{_SKU}', 'g') AS m), ' ')"
)
#: The same SKUs by a split where it gives the same (the module's docstring), else NULL.
_SPLIT_SKUS = (
    "CASE WHEN strpos(lines, '\\') = 0"
    " AND strpos(replace(lines, '\"sku\":\"', ''), '\"sku\"') = 0 THEN"
    " (SELECT CASE WHEN bool_and(strpos(piece, '\"') > 0)"
    " THEN string_agg(split_part(piece, '\"', 1), ' ' ORDER BY n) END"
    ' FROM unnest(string_to_array(lines, \'"sku":"\')) WITH ORDINALITY AS s(piece, n)'
    " WHERE n > 1) END"
)
UPGRADED = f"{_HEAD}coalesce({_SPLIT_SKUS}, {_REGEX_SKUS})) $$"
#: Migration 0017's function, as it was.
DOWNGRADED = f"{_HEAD}{_REGEX_SKUS}) $$"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADED)
