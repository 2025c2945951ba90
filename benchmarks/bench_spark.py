"""The Spark engine beside the embedded one (issue 14), same data, same run.

Case A of bench_features (10M events / 500K users / 12 cutoffs, step 14 d; SIYU_BENCH_SCALE
scales events and users), the full default feature set resolved against the data's profile,
written to Parquet by each engine:
- embedded: DuckDB event scan + compiled passes, streamed into one Parquet file (2 threads);
- spark local[2]: the same program as Spark DataFrame operations, written as part files.

Each engine runs in its own child process. Spark's session start (JVM launch) is timed apart
from the build; its peak RSS is the Python driver's only (the JVM is a child of it and its heap
is capped by spark.driver.memory), so memory is given for the embedded engine alone.
"""

from __future__ import annotations

import json
import time

from benchmarks._util import load_average, run_measured, scale, write_result
from benchmarks.bench_features import BENCH, ROOT, _cutoffs, _duck_code, _generate

SPARK_SETTINGS = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "8", "spark.driver.memory": "4g"}


def _spark_code(data, specs_yaml: str, cutoffs: list[str]) -> str:
    return f"""
import time, yaml
from pathlib import Path
from siyu.io.duck import connect
from siyu.io.workspace import profile_clean
from siyu.features.vocabulary import resolve_feature_specs
from siyu.io.spark import spark_session, write_spark_features
con = connect(memory_limit='1GB', threads=2)
profile = profile_clean(con, Path({str(data / 'events.parquet')!r}), Path({str(data / 'users.parquet')!r}))
con.close()
specs = resolve_feature_specs(yaml.safe_load({specs_yaml!r}), profile).specs
t0 = time.perf_counter()
spark = spark_session("local[2]", {SPARK_SETTINGS!r})
t1 = time.perf_counter()
out = {str(data / 'features_spark')!r}
write_spark_features(spark, specs, {str(data / 'events.parquet')!r}, {str(data / 'users.parquet')!r}, {cutoffs!r}, out)
t2 = time.perf_counter()
n = spark.read.parquet(out).count()
print(n, len(specs.columns), t2 - t1, t1 - t0)
"""


def main() -> None:
    s = scale()
    n_a, u_a = int(10_000_000 * s), int(500_000 * s)
    full_yaml = (ROOT / "configs" / "features.yaml").read_text(encoding="utf-8")
    data = BENCH / f"a_{n_a}"
    t = time.perf_counter()
    _generate(data, n_a, u_a)
    print(f"inputs ready in {time.perf_counter() - t:.1f} s (data/bench/)", flush=True)
    cut12 = _cutoffs(12)
    rows = []
    for engine, code in [("embedded", _duck_code(data, full_yaml, cut12, "3GB")),
                         ("spark local[2]", _spark_code(data, full_yaml, cut12))]:
        wall, peak, out = run_measured(code)
        n, n_features, compute, extra = out.split()[-4:]
        # embedded: extra = Parquet write time (compute excludes it); spark: extra = session start
        build = float(compute) + (float(extra) if engine == "embedded" else 0.0)
        rows.append({
            "case": f"A {n_a / 1e6:g}M x 12", "engine": engine, "events": n_a, "cutoffs": 12,
            "users_x_cutoffs": int(n), "features": int(n_features), "wall_s": round(wall, 1),
            "build_and_write_s": round(build, 1), "session_start_s": round(float(extra), 1) if engine != "embedded" else 0.0,
            "peak_mb": round(peak) if engine == "embedded" else None,
            "event_cutoffs_per_s": round(n_a * 12 / build),
        })
        print(json.dumps(rows[-1]), flush=True)
    print(f"\nload average {load_average()}  (scale {s})")
    print(f"{'case':<12} {'engine':<15} {'rows':>10} {'feat':>5} {'build+write s':>13} {'start s':>8} "
          f"{'wall s':>7} {'ev*cut/s':>12}")
    for r in rows:
        print(f"{r['case']:<12} {r['engine']:<15} {r['users_x_cutoffs']:>10} {r['features']:>5} "
              f"{r['build_and_write_s']:>13} {r['session_start_s']:>8} {r['wall_s']:>7} {r['event_cutoffs_per_s']:>12,}")
    ratio = rows[1]["build_and_write_s"] / rows[0]["build_and_write_s"]
    print(f"spark local[2] / embedded build time: {ratio:.1f}x (same data, same run)")
    write_result("spark", {"scale": s, "load_average": load_average(), "rows": rows, "spark_over_embedded": ratio,
                           "spark_settings": SPARK_SETTINGS})


if __name__ == "__main__":
    main()
