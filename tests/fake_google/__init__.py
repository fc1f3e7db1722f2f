"""A fake Google Sheets/Drive/OAuth backend on 127.0.0.1 for driving unmodified gspread in tests.

Start it with ``FakeGoogle()`` (context manager) or the ``fake_google`` pytest fixture in
``tests.fake_google.fixtures``; point ``make_gspread_client(api_url=server.url)`` at it.
Nothing here but ``fixtures`` imports pytest: the benchmark (``python -m bench``) runs the
server and writes its credentials (``credentials``) with the plain install.
"""

from .cells import Cell, Formatted, Formula, Percent
from .errors import ApiError
from .server import Call, FakeGoogle
from .store import Sheet, Spreadsheet

__all__ = [
    "ApiError",
    "Call",
    "Cell",
    "FakeGoogle",
    "Formatted",
    "Formula",
    "Percent",
    "Sheet",
    "Spreadsheet",
]
