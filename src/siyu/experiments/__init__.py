"""Experiment readouts: treatment vs control after the horizon (SRM check, lift with intervals,
CUPED, lift by group, measured vs predicted gain), pure; the job is `siyu.jobs.experiment`."""

from siyu.experiments.readout import Comparison, Readout
from siyu.experiments.stats import CupedLift, Lift, SrmCheck, cuped_lift, mean_lift, srm_check

__all__ = ["Comparison", "CupedLift", "Lift", "Readout", "SrmCheck", "cuped_lift", "mean_lift", "srm_check"]
