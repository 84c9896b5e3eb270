"""``riskcohort features`` end to end on a tiny folder: output, metadata, errors."""

import pandas as pd
from typer.testing import CliRunner

from riskcohort.cli import app
from riskcohort.features.output import read_metadata
from tests.features.feature_data import dataset


def _folder(tmp_path):
    data = dataset(incidents=[
        dict(incident_id="i1", occurred_at="2023-01-05", recorded_at="2023-01-06",
             perpetrator_id="p", victim_id="v", offence="abh"),
        dict(incident_id="i2", occurred_at="2024-06-01", recorded_at="2024-06-01",
             perpetrator_id="p", victim_id="v", offence="gbh"),
    ])
    folder = tmp_path / "data"
    folder.mkdir()
    for name, frame in data.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_features_command_writes_parquet_with_metadata(tmp_path):
    folder, out = _folder(tmp_path), tmp_path / "f.parquet"
    result = CliRunner().invoke(app, [
        "features", str(folder), "--as-of", "2023-02-01", "--monthly", "2023-03-15", "2023-05-01",
        "--out", str(out), "--labels", "--horizon", "365",
    ])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert sorted({str(d.date()) for d in frame["as_of"]}) == [
        "2023-02-01", "2023-03-01", "2023-04-01", "2023-05-01"]
    assert frame.loc[frame["as_of"] == "2023-02-01", "serious_harm"].tolist() == [0]
    meta = read_metadata(out)
    assert meta["labels"] is True and meta["catalogue_version"]
    assert "absent source: orders" in meta["notes"]
    assert not list(tmp_path.glob("*.tmp")) and not list(folder.glob("*.tmp"))


def test_labels_too_recent_is_one_clear_error(tmp_path):
    folder, out = _folder(tmp_path), tmp_path / "f.parquet"
    result = CliRunner().invoke(app, ["features", str(folder), "--as-of", "2024-01-01",
                                      "--out", str(out), "--labels"])
    assert result.exit_code == 2
    assert "horizon" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_no_dates_is_an_error(tmp_path):
    result = CliRunner().invoke(app, ["features", str(_folder(tmp_path)),
                                      "--out", str(tmp_path / "f.parquet")])
    assert result.exit_code == 2 and "as-of" in result.output
