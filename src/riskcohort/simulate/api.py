"""``simulate``: write a whole synthetic force (contract tables, ILAS scores, truth) to a folder.

Why this orchestration: blocks are simulated and written one at a time (bounded memory); the
incumbent ILAS cohort flag needs the global top 100 per date, so block scores go to a temporary
file first and the flag is set in a second pass over it. Same preset + seed + options -> identical
files.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

import riskcohort  # noqa: F401  (telemetry off first)
from riskcohort.contract.schema import (
    BASELINE_SCORES,
    DATE,
    ENUM,
    ID,
    TABLES,
    TIMESTAMP,
    Column,
    Table,
)
from riskcohort.errors import UserError
from riskcohort.io import write_json
from riskcohort.simulate import baseline, defects
from riskcohort.simulate.block import simulate_block
from riskcohort.simulate.presets import DATA_END, get_preset
from riskcohort.simulate.scenarios import get_scenario
from riskcohort.simulate.traits import ETHNICITIES
from riskcohort.simulate.writer import Sink, arrow_schema

TRUTH_COLUMNS = ("person_id", "month_start", "p_serious_harm")
DEFAULT_BIAS_RATE = 0.3
# The contract's v1.1 ``interventions`` table, used until the contract module defines it.
_INTERVENTIONS = TABLES.get("interventions") or Table("interventions", (
    Column("intervention_id", ID, False), Column("person_id", ID, False),
    Column("kind", ENUM, False), Column("start_date", DATE, False),
    Column("end_date", DATE, True), Column("recorded_at", TIMESTAMP, False),
    Column("end_recorded_at", TIMESTAMP, True)), key="intervention_id")
RECORD_TABLES = {k: v for k, v in TABLES.items() if k != "interventions"}


def _blocks(preset) -> list[int]:
    n, size = preset.n_perpetrators, preset.block_size or preset.n_perpetrators
    sizes = [size] * (n // size) + ([n % size] if n % size else [])
    return sizes


def _check_args(fmt, bias_group, bias_rate, managed, effect, tail):
    if fmt not in ("parquet", "csv"):
        raise UserError(f"option --format: rule known_format: {fmt!r} is not parquet or csv")
    if bias_group is not None and bias_group not in ETHNICITIES:
        raise UserError(f"option --bias-group: rule ethnicity_value: {bias_group!r} is not one "
                        f"of {', '.join(ETHNICITIES)}")
    if bias_rate is not None and not 0.0 <= bias_rate <= 1.0:
        raise UserError(f"option --bias-rate: rule between_0_and_1: {bias_rate!r}")
    if managed < 0:
        raise UserError(f"option --managed: rule not_negative: {managed!r}")
    if not 0.0 <= effect <= 1.0:
        raise UserError(f"option --intervention-effect: rule between_0_and_1: {effect!r}")
    if tail < 0:
        raise UserError(f"option --intervention-tail: rule not_negative: {tail!r}")


class _Sinks:
    """Every file a simulation streams to, so they are closed - or aborted, leaving no partial
    file behind - together."""

    def __init__(self, out: Path, fmt: str, tables_out: dict) -> None:
        self.records = {name: Sink(out / f"{name}.{fmt}", t, fmt) for name, t in tables_out.items()}
        self.truth = Sink(out / "_truth" / "risk.parquet", None, "parquet")
        self.ilas = Sink(out / "_truth" / ".ilas_blocks.parquet", None, "parquet")
        self.interventions = Sink(out / "_truth" / "interventions.parquet", None, "parquet")

    def all(self) -> list[Sink]:
        return [*self.records.values(), self.truth, self.ilas, self.interventions]

    def close(self) -> None:
        for s in self.all():
            s.close()

    def abort(self) -> None:
        for s in self.all():
            s.abort()


def _write_blocks(p, sizes: list[int], seed: int, sc, managed: int, effect: float, tail: float,
                  clean: bool, tables_out: dict, sinks: _Sinks) -> tuple[dict, dict, list]:
    """Simulate and write each block in turn (bounded memory): records, ILAS scores, defects and
    truth. Returns defect counts, rows per table and each block's ILAS top per date (the global
    cohort flag needs them all)."""
    counts: dict = {}
    rows: dict = {}
    top = []
    ilas_dates = baseline.as_of_dates(p.ilas_monthly, p.data_start)
    for b, n in enumerate(sizes):
        k = int(round(managed * n / p.n_perpetrators))  # blocks share the team's capacity
        tables, risk = simulate_block(p, n, b, seed, sc, k, effect, tail)
        if "_interventions_truth" in tables:
            sinks.interventions.append(tables.pop("_interventions_truth"), _itruth_schema())
        post = np.random.default_rng([seed, b, 3])
        scores = baseline.ilas(tables, post, ilas_dates)
        top.append(scores.sort_values("score", ascending=False).groupby("as_of").head(
            baseline.COHORT))
        if not clean:
            defects.merge_counts(counts, defects.inject(tables, post, b))
        for name, frame in tables.items():
            sinks.records[name].append(frame[list(tables_out[name].names)])
            rows[name] = rows.get(name, 0) + len(frame)
        sinks.truth.append(risk, _truth_schema())
        sinks.ilas.append(scores, _ilas_schema(False))
    return counts, rows, top


def _remove_stale(out: Path, fmt: str, managed: int) -> None:
    """Delete what an earlier simulation into the same folder left that this one did not
    write, so the folder never holds two versions of a table."""
    for other in ("csv", "parquet"):
        if other != fmt:  # a previous run in the other format must not leave a second copy
            for name in [*RECORD_TABLES, "interventions"]:
                (out / f"{name}.{other}").unlink(missing_ok=True)
    if managed == 0:  # a previous managed run must not leave its interventions behind
        (out / f"interventions.{fmt}").unlink(missing_ok=True)
        (out / "_truth" / "interventions.parquet").unlink(missing_ok=True)


def _write_truth_notes(out: Path, summary: dict, counts: dict, sc, clean: bool) -> None:
    """The ``_truth`` JSON files: defects injected, the summary (without timings, so the same
    seed gives identical files) and the scenario and management assumptions."""
    managed = summary["managed"]
    effect, tail = summary["intervention_effect"], summary["intervention_tail_months"]
    write_json(out / "_truth" / "defects.json", {"clean": clean, "counts": counts,
                                                 "total": sum(sum(d.values())
                                                              for d in counts.values())})
    write_json(out / "_truth" / "summary.json", {k: v for k, v in summary.items()
                                                 if k != "seconds"})
    write_json(out / "_truth" / "scenario.json", {
        "scenario": sc.to_dict(), "preset": summary["preset"], "seed": summary["seed"],
        "management": {"managed_per_quarter": managed, "every_months": 3, "months": 6,
                       "selected_by": "ILAS points from recorded incidents",
                       "effect": effect, "tail_months": tail,
                       "hazard_multiplier_while_managed": 1 - effect}
        if managed else None})


def simulate(out_dir: str | Path, preset: str = "small", seed: int = 0, fmt: str = "parquet",
             clean: bool = False, bias_group: str | None = None,
             bias_rate: float | None = None, max_blocks: int | None = None,
             scenario: str = "default", managed: int = 0, intervention_effect: float = 0.0,
             intervention_tail: float = 0.0) -> dict:
    """Write a synthetic force to ``out_dir``; return a summary dict (counts, timings).

    ``scenario`` names the mechanism assumptions (``scenarios.SCENARIOS``); ``bias_group`` /
    ``bias_rate`` override the scenario's measurement bias: the share of *unrecorded*
    non-serious incidents of ``bias_group``'s perpetrators already known to the police that get
    recorded anyway (p -> p + bias_rate * (1 - p); see docs/synthetic-force.md); the latent world
    and the true risk are unchanged. ``managed`` > 0 adds a team that manages its top
    ``managed`` people each quarter for six months, multiplying their serious-harm hazard by
    ``1 - intervention_effect`` (and a decaying tail of ``intervention_tail`` months after);
    the truth stays the risk without management. ``max_blocks`` limits the national preset
    (benchmarks only).
    """
    _check_args(fmt, bias_group, bias_rate, managed, intervention_effect, intervention_tail)
    sc = get_scenario(scenario, bias_group, bias_rate)
    p = get_preset(preset)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "_truth").mkdir(exist_ok=True)
    t0 = time.perf_counter()
    tables_out = dict(RECORD_TABLES)
    if managed > 0:
        tables_out["interventions"] = _INTERVENTIONS
    sinks = _Sinks(out, fmt, tables_out)
    try:
        sizes = _blocks(p)[:max_blocks] if max_blocks else _blocks(p)
        counts, rows, top = _write_blocks(p, sizes, seed, sc, managed, intervention_effect,
                                          intervention_tail, clean, tables_out, sinks)
        sinks.close()
        n_scores = _write_baseline(out, pd.concat(top))
    except BaseException:
        sinks.abort()
        raise
    _remove_stale(out, fmt, managed)
    summary = {
        "preset": preset, "seed": seed, "format": fmt, "clean": clean,
        "bias_group": sc.bias_group, "bias_rate": sc.bias_rate if sc.bias_group else None,
        "scenario": sc.name, "managed": managed,
        "intervention_effect": intervention_effect if managed else None,
        "intervention_tail_months": intervention_tail if managed else None,
        "data_start": str(p.data_start), "data_end": str(DATA_END), "blocks": len(sizes),
        "rows": rows, "baseline_rows": n_scores, "truth_rows": sinks.truth.rows,
        "defects": counts, "seconds": round(time.perf_counter() - t0, 2),
    }
    _write_truth_notes(out, summary, counts, sc, clean)
    return summary


def _truth_schema():
    import pyarrow as pa

    return pa.schema([("person_id", pa.string()), ("month_start", pa.date32()),
                      ("p_serious_harm", pa.float64())])


def _itruth_schema():
    import pyarrow as pa

    return pa.schema([("intervention_id", pa.string()), ("person_id", pa.string()),
                      ("start_date", pa.date32()), ("end_date", pa.date32()),
                      ("written", pa.bool_()), ("effect", pa.float64()),
                      ("tail_months", pa.float64())])


def _ilas_schema(cohort: bool):
    cols = ["person_id", "as_of", "score", "system"] + (["in_cohort"] if cohort else [])
    return arrow_schema(BASELINE_SCORES, cols)


def _write_baseline(out: Path, top: pd.DataFrame) -> int:
    """Second pass: flag the global top 100 per date and write ``baseline_scores.csv``."""
    import os

    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from riskcohort.simulate.writer import to_arrow

    chosen = baseline.flag_cohort(top)
    chosen = chosen[chosen["in_cohort"].astype(bool)][["person_id", "as_of"]]
    tmp = out / "_truth" / ".ilas_blocks.parquet"
    pf = pq.ParquetFile(tmp)
    chosen = chosen.assign(as_of=pd.to_datetime(chosen["as_of"]).astype("datetime64[ns]"),
                           in_cohort=True)
    schema = _ilas_schema(True)
    path = out / "baseline_scores.csv"
    part = path.with_name(f".{path.name}.tmp")
    rows = 0
    # Arrow's CSV writer: monthly scores are millions of rows on `force`, which pandas' writer
    # takes ~5x longer to format. Ids and "ILAS" never need quoting; the header is written here
    # because Arrow quotes it.
    opts = pcsv.WriteOptions(include_header=False, quoting_style="none")
    try:
        with open(part, "wb") as fh:
            fh.write((",".join(schema.names) + "\n").encode())
            for i in range(pf.num_row_groups):
                f = pf.read_row_group(i).to_pandas()
                f["as_of"] = pd.to_datetime(f["as_of"]).astype("datetime64[ns]")
                f = f.merge(chosen, on=["person_id", "as_of"], how="left")
                f["in_cohort"] = f["in_cohort"].fillna(False).astype("boolean")
                f = f.sort_values(["as_of", "person_id"], kind="stable")
                pcsv.write_csv(to_arrow(f, schema), fh, opts)
                rows += len(f)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    tmp.unlink()
    return rows


def remove(out_dir) -> None:
    """Delete a simulated folder (tests and benchmarks)."""
    shutil.rmtree(out_dir, ignore_errors=True)


def read_defects(data_dir) -> dict:
    return json.loads((Path(data_dir) / "_truth" / "defects.json").read_text())
