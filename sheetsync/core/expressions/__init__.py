"""Safe row filters and KPI formulas written in the config file.

Config text comes from users, so it is never handed to eval/exec/pandas.eval/DataFrame.query.
Instead it is parsed with ``ast.parse(mode="eval")`` and the tree is checked against a strict
whitelist at parse time (so a bad config fails when loaded, not mid-report) and then
interpreted here. Anything not explicitly allowed raises ExpressionError naming the construct
and the offending text. One idea per module: `syntax` (what both share: limits, parsing,
messages), `filter_walk` (what a filter means, for every backend that runs one), `filters`
(row conditions over a DataFrame), `formulas` (arithmetic over KPIs).

Pure computation: no I/O, no logging.
"""

from sheetsync.core.expressions.filters import FILTER_FUNCTIONS, Filter, parse_filter
from sheetsync.core.expressions.formulas import (
    FORMULA_FUNCTIONS,
    MAX_EXPONENT,
    Formula,
    FormulaValueError,
    parse_formula,
)
from sheetsync.core.expressions.syntax import MAX_DEPTH, MAX_LENGTH, ExpressionError

__all__ = [
    "FILTER_FUNCTIONS",
    "FORMULA_FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "ExpressionError",
    "Filter",
    "Formula",
    "FormulaValueError",
    "parse_filter",
    "parse_formula",
]
