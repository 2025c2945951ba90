"""The operations view: what owned-audience teams watch, computed from the clean EventLog as of a
date (events with `ts < as_of` only): acquisition and activity by channel, retention cohorts,
lifecycle flows, funnels, commerce and channel economics (realized LTV, LTV / CAC).

`stage(con, events, users, as_of)` puts the data on a DuckDB connection once; each table is a
function of it; `analyze` runs them all as the configuration says.
"""

from siyu.operations.analysis import OperationsResult, analyze
from siyu.operations.inputs import OpsData, stage

__all__ = ["OperationsResult", "OpsData", "analyze", "stage"]
