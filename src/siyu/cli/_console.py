"""The rich Console every command prints with.

In a terminal it is rich's own. In a log (stdout not a terminal: the scheduled job, a pipe, CI),
rich assumes 80 columns and hard-wraps text there and squeezes tables into them: a model's
result line broke before its fit time and table cells were cut ("valid_a…"). There, lines stay
whole, whatever the environment says (FORCE_COLOR or TTY_COMPATIBLE make rich treat a pipe as a
terminal; CI systems set them for colour), and tables take the width their content needs unless
COLUMNS gives one.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

LOG_WIDTH = 240  # wide enough for every table siyu prints; narrower tables keep their own width


def _writes_to_a_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def cli_console(*, min_width: int = 0) -> Console:
    """A Console for a command's output, at least `min_width` columns wide."""
    from rich.console import Console

    console = Console()
    if _writes_to_a_terminal():
        return Console(width=min_width) if min_width > console.width else console
    width = console.width if "COLUMNS" in os.environ else LOG_WIDTH
    return Console(width=max(width, min_width), soft_wrap=True)
