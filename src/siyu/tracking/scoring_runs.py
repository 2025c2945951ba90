"""Log a scoring run to MLflow: the payload is built without MLflow (`siyu.scoring.runlog`)."""

from __future__ import annotations

import time

from mlflow.entities import Metric, Param

from siyu.config import TrackingConfig
from siyu.scoring.runlog import RunLog
from siyu.tracking.store import connect


def log_scoring_payload(cfg: TrackingConfig, experiment: str, run_name: str, payload: RunLog) -> str:
    """One finished MLflow run in `experiment` with the payload's tags, metrics, params, figures
    and texts; returns its run id."""
    client, experiment_id = connect(cfg.model_copy(update={"experiment": experiment}))
    run = client.create_run(experiment_id, run_name=run_name, tags=payload.tags)
    rid = run.info.run_id
    stamp = int(time.time() * 1000)
    client.log_batch(rid, metrics=[Metric(k, v, stamp, 0) for k, v in payload.metrics.items()],
                     params=[Param(k, v) for k, v in payload.params.items()])
    for path, text in (payload.figures | payload.texts).items():
        client.log_text(rid, text, path)
    client.set_terminated(rid)
    return rid
