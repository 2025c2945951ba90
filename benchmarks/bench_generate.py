"""Benchmark: generating a synthetic world of ~10M events (events/s, peak memory).

Each run is a fresh child process (`run_measured`), so the peak RSS is the generator's own.
Figures: with and without the ground truth, and the demo world's statistics (events, label
rates, the truth's AUC against realized labels, computed from the files by the §3 labels).
Target on the 2-core box: >= 1M events/s.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks._util import load_average, run_measured, scale, write_result

EVENTS_PER_USER_420D = 115  # measured on the default parameters (demo world: ~2.3M / 20k users)
DAYS = 420

_GENERATE = """
import json, time
from siyu.jobs.generate import generate_world
began, cpu = time.perf_counter(), time.process_time()
s = generate_world({users}, {days}, 7, {out!r}, with_truth={truth})
print(json.dumps({{"seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu,
                  "events": s.n_events, "truth_rows": s.n_truth_rows}}))
"""

_DEMO_STATS_SQL = """
WITH daily AS (
    SELECT user_id, CAST(ts AS DATE) AS day, bool_or(event_type <> 'campaign_contact') AS active,
           bool_or(event_type = 'purchase') AS bought,
           sum(CASE WHEN event_type IN ('purchase', 'refund') THEN amount ELSE 0 END) AS net
    FROM read_parquet('{world}/events/*.parquet') GROUP BY ALL)
SELECT t.cutoff, t.p_churn_30d, t.p_purchase_7d, t.ltv_net_90d,
       count(*) FILTER (d.active AND d.day < t.cutoff) > 0 AS churn_population,
       count(*) FILTER (d.active AND d.day >= t.cutoff AND d.day < t.cutoff + INTERVAL 30 DAY) = 0 AS churned,
       count(*) FILTER (d.bought AND d.day >= t.cutoff AND d.day < t.cutoff + INTERVAL 7 DAY) > 0 AS bought_7d,
       coalesce(sum(d.net) FILTER (d.day >= t.cutoff), 0) AS net_spend_90d,
       max(d.day) FILTER (d.active AND d.day < t.cutoff) AS last_active_day
FROM read_parquet('{world}/truth/truth.parquet') t LEFT JOIN daily d
  ON d.user_id = t.user_id AND d.day >= t.cutoff - INTERVAL 30 DAY AND d.day < t.cutoff + INTERVAL 90 DAY
GROUP BY ALL
"""


def _generate(users: int, out: str, truth: bool) -> dict:
    wall, peak_mb, stdout = run_measured(_GENERATE.format(users=users, days=DAYS, out=out, truth=truth))
    result = json.loads(stdout.strip().splitlines()[-1])
    return {**result, "wall_s": wall, "peak_mb": peak_mb, "events_per_s": result["events"] / result["seconds"],
            "events_per_cpu_s": result["events"] / result["cpu_seconds"]}


def demo_stats(world: str, end: str) -> dict:
    """Label rates and the truth's AUC on the demo world, by the INTERFACES §3 definitions."""
    import duckdb
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    frame = duckdb.connect().execute(_DEMO_STATS_SQL.format(world=world)).df()
    end_ts = pd.Timestamp(end)

    def usable(days: int) -> pd.DataFrame:
        return frame[frame["cutoff"] + pd.Timedelta(days=days) <= end_ts]

    churn = usable(30)
    churn = churn[churn["churn_population"]]
    buy, ltv = usable(7), usable(90)
    return {
        "churn_rows": len(churn), "churn_rate": churn["churned"].mean(), "churn_truth_mean": churn["p_churn_30d"].mean(),
        "churn_truth_auc": roc_auc_score(churn["churned"], churn["p_churn_30d"]),
        "churn_recency_rule_auc": roc_auc_score(
            churn["churned"], (churn["cutoff"] - pd.to_datetime(churn["last_active_day"])).dt.days),
        "purchase_rows": len(buy), "purchase_7d_rate": buy["bought_7d"].mean(),
        "purchase_truth_mean": buy["p_purchase_7d"].mean(),
        "purchase_truth_auc": roc_auc_score(buy["bought_7d"], buy["p_purchase_7d"]),
        "ltv_rows": len(ltv), "ltv_mean": ltv["net_spend_90d"].mean(), "ltv_truth_mean": ltv["ltv_net_90d"].mean(),
        "ltv_zero_share": (ltv["net_spend_90d"] == 0).mean(),
        "ltv_corr": ltv[["net_spend_90d", "ltv_net_90d"]].corr().iloc[0, 1],
    }


def main() -> None:
    users = max(1000, int(10_000_000 * scale() / EVENTS_PER_USER_420D))
    demo_users = max(1000, int(20_000 * min(1.0, scale() * 4)))
    with tempfile.TemporaryDirectory(prefix="siyu-bench-generate-") as tmp:
        load = load_average()
        runs = {
            "no_truth": _generate(users, f"{tmp}/big", truth=False),
            "with_truth": _generate(users, f"{tmp}/big", truth=True),
        }
        demo = _generate(demo_users, f"{tmp}/demo", truth=True)
        world = json.loads(Path(tmp, "demo", "world.json").read_text(encoding="utf-8"))
        stats = demo_stats(f"{tmp}/demo", world["end"])
    print(f"generation: {users:,} users x {DAYS} days (load average {load}; 2 cores shared)")
    print(f"{'run':<12}{'events':>12}{'seconds':>10}{'events/s':>12}{'CPU s':>8}{'events/CPU s':>14}{'peak MB':>10}")
    for name, r in runs.items():
        print(f"{name:<12}{r['events']:>12,}{r['seconds']:>10.1f}{r['events_per_s']:>12,.0f}"
              f"{r['cpu_seconds']:>8.1f}{r['events_per_cpu_s']:>14,.0f}{r['peak_mb']:>10.0f}")
    print(f"demo world {demo_users:,} users x {DAYS} days: {demo['events']:,} events, {demo['truth_rows']:,} truth rows, "
          f"{demo['seconds']:.1f} s with truth")
    print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in stats.items()))
    write_result("generate", {"users": users, "days": DAYS, "load_average": load, "runs": runs,
                              "demo": {**demo, "users": demo_users, **stats}})


if __name__ == "__main__":
    main()
