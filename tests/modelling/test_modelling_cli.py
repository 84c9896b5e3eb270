"""The ``run`` command reports a user mistake as a UserError (one message, exit code 2)."""

from __future__ import annotations

from typer.testing import CliRunner

from riskcohort.cli import app


def test_run_before_the_data_is_a_clear_error(dataset_factory, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in dataset_factory(n=60, seed=4).items():
        frame.to_parquet(data / f"{name}.parquet", index=False)
    exp = tmp_path / "exp.toml"
    exp.write_text('[experiment]\nname = "cli"\ndata = "data"\n')
    res = CliRunner().invoke(app, ["run", str(exp), "--as-of", "2001-01-01",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "after the first record" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "out" / "scores.csv").exists()
