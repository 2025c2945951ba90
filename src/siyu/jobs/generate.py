"""Job: generate a synthetic world and write it (`siyu generate`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from siyu.io.world_writer import WorldWriter
from siyu.synth.params import WorldParams
from siyu.synth.world import plan_world, simulate_world

DEFAULT_START = date(2025, 1, 6)


@dataclass(frozen=True)
class WorldSummary:
    """What `generate_world` wrote."""

    out: Path
    seed: int
    users: int
    days: int
    start: date
    end: date  # exclusive
    n_events: int
    event_counts: dict[str, int]
    n_event_parts: int
    n_truth_rows: int | None
    n_cutoffs: int


def generate_world(
    users: int,
    days: int,
    seed: int,
    out: str | Path,
    start: date = DEFAULT_START,
    *,
    with_truth: bool = True,
    params: WorldParams | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> WorldSummary:
    """Simulate a world of `users` over `days` from `start` and write it to `out`.

    Writes `events/part-*.parquet`, `users.parquet`, `truth/truth.parquet` (unless
    `with_truth` is False) and `world.json`. `on_chunk(done, total)` reports progress
    after each chunk of users.
    """
    plan = plan_world(users, days, start, seed, params)
    with WorldWriter(out, plan, with_truth=with_truth) as writer:
        for i, chunk in enumerate(simulate_world(plan, with_truth=with_truth)):
            writer.write_events(chunk.events)
            if chunk.members is not None:
                writer.write_members(chunk.members, chunk.lo, chunk.hi)
            if chunk.truth is not None:
                writer.write_truth(chunk.truth)
            if chunk.uplift is not None:
                writer.write_uplift(chunk.uplift)
            if on_chunk is not None:
                on_chunk(i + 1, plan.n_chunks)
        writer.write_users()
    manifest = writer.write_manifest(seed)
    return WorldSummary(
        out=Path(out),
        seed=seed,
        users=users,
        days=days,
        start=start,
        end=start + timedelta(days=days),
        n_events=writer.n_events,
        event_counts=manifest["event_counts"],
        n_event_parts=manifest["event_parts"],
        n_truth_rows=writer.n_truth_rows if with_truth else None,
        n_cutoffs=int(plan.cutoff_days.size),
    )
