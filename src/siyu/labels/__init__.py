"""siyu.labels: task populations and labels from [cutoff, cutoff + horizon), with the horizon check."""

from siyu.labels.tasks import (
    HorizonError,
    build_labels,
    check_horizon,
    data_bounds,
    label_sql,
    latest_usable_cutoff,
    population_mask,
    population_text,
    task_lacks,
    task_treatments,
)

__all__ = ["HorizonError", "build_labels", "check_horizon", "data_bounds", "label_sql", "latest_usable_cutoff",
           "population_mask", "population_text", "task_lacks", "task_treatments"]
