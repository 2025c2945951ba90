"""The rich Console every command prints with.

In a terminal it is rich's own. In a log (stdout not a terminal: the scheduled job, a pipe, CI),
rich assumes 80 columns and hard-wraps text there and squeezes tables into them: a model's
result line broke before its fit time and table cells were cut ("valid_a…"). There, lines stay
whole and tables take the width their content needs, unless COLUMNS says otherwise.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

LOG_WIDTH = 240  # wide enough for every table siyu prints; narrower tables keep their own width


def cli_console(*, min_width: int = 0) -> Console:
    """A Console for a command's output, at least `min_width` columns wide."""
    from rich.console import Console

    console = Console()
    if console.is_terminal or "COLUMNS" in os.environ:
        return Console(width=max(console.width, min_width)) if min_width > console.width else console
    return Console(width=max(LOG_WIDTH, min_width), soft_wrap=True)
