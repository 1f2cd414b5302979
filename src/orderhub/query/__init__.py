"""The MALL query language: parse request parameters to a small AST, compile it to SQL."""

from orderhub.query.ast import Count, Fields, Filter, OrderQuery, SortKey, View
from orderhub.query.compiler import Compiled, compile_query
from orderhub.query.cursor import Cursor, decode_cursor, encode_cursor
from orderhub.query.operators import OPERATORS, Operator
from orderhub.query.parser import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    default_visibility,
    parse_query,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "OPERATORS",
    "Compiled",
    "Count",
    "Cursor",
    "Fields",
    "Filter",
    "Operator",
    "OrderQuery",
    "SortKey",
    "View",
    "compile_query",
    "decode_cursor",
    "default_visibility",
    "encode_cursor",
    "parse_query",
]
