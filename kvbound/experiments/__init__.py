"""Experiments run on top of the reduction: the attack sweep (plan, run, pool).

``planning`` decides which cache configurations run, ``running`` runs them (sequentially,
on a local process pool, or on a Dask cluster), ``pooling`` pools each point's seeds and
holds the results. Everything public is re-exported here.
"""

from kvbound.experiments.planning import (
    DEFAULT_AXIS,
    DEFAULT_BUDGETS,
    PACKER_CACHE,
    SWEEP_AXES,
    SweepAxis,
    SweepTask,
    plan_sweep,
    sweep_axis,
)
from kvbound.experiments.pooling import SweepPoint, SweepResult, pooled_information
from kvbound.experiments.running import PointJob, run_point, run_sweep

__all__ = [
    "DEFAULT_AXIS",
    "DEFAULT_BUDGETS",
    "PACKER_CACHE",
    "SWEEP_AXES",
    "SweepAxis",
    "SweepTask",
    "SweepPoint",
    "SweepResult",
    "PointJob",
    "plan_sweep",
    "pooled_information",
    "run_point",
    "run_sweep",
    "sweep_axis",
]
