"""Keyed audit chain against someone who can write the database but has no key (issue 20, items
3 and 4): re-chaining, renumbering, truncation, wipe-and-rebuild, decisions changed or inserted
behind the app's back; the exported head; the key file; the upgrade from revision 0001 with data;
and the sealing API other stages use for their own tables."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, delete, select, text, update
from typer.testing import CliRunner

from riskcohort.app import audit, decisions
from riskcohort.app.db import GENESIS, audit_head, make_engine, open_db
from riskcohort.app.db import audit as audit_table
from riskcohort.app.db import decisions as decisions_table
from riskcohort.errors import UserError


def _cli(*args):
    from riskcohort.cli import app

    return CliRunner().invoke(app, list(args))


def _filled(db_url, n=6):
    eng = open_db(db_url)
    for i in range(n):
        audit.append(eng, f"user{i % 2}", "view_person", f"P{i:06d}", "127.0.0.1", {"i": i})
    return eng


def _rows(eng):
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(select(audit_table).order_by(audit_table.c.id))
                .mappings()]


def _rechain_without_key(eng, rows):
    """What an attacker with write access but no key can do: rewrite rows, relink, reset head."""
    prev = GENESIS
    with eng.begin() as conn:
        conn.execute(delete(audit_table))
        for i, r in enumerate(rows, start=1):
            r = dict(r, id=i, prev_hash=prev)
            r["hash"] = audit.legacy_hash(r)
            conn.execute(audit_table.insert().values(**r))
            prev = r["hash"]
        conn.execute(update(audit_head).values(last_id=len(rows), last_hash=prev))


def test_edit_with_whole_chain_and_head_recomputed_is_detected(db_url):
    eng = _filled(db_url)
    rows = _rows(eng)
    rows[2]["target"] = "P999999"
    _rechain_without_key(eng, rows)
    v = audit.verify(eng)
    assert not v.ok and v.bad_id == 1 and "hash" in v.reason


def test_delete_renumber_and_rechain_is_detected(db_url):
    eng = _filled(db_url)
    rows = _rows(eng)
    del rows[3]
    _rechain_without_key(eng, rows)
    assert not audit.verify(eng).ok
    assert _cli("audit", "verify", "--db", db_url).exit_code == 1


def test_truncation_with_head_moved_back_is_detected(db_url):
    eng = _filled(db_url)
    rows = _rows(eng)
    with eng.begin() as conn:
        conn.execute(delete(audit_table).where(audit_table.c.id > 4))
        conn.execute(update(audit_head).values(last_id=4, last_hash=rows[3]["hash"]))
    v = audit.verify(eng)
    assert not v.ok and "MAC" in v.reason


def test_replayed_old_head_and_wipe_need_the_exported_head(db_url, tmp_path):
    """Inside the database a replayed head looks fine; the exported head kept elsewhere does not."""
    eng = open_db(db_url)
    with eng.connect() as conn:
        empty_head = dict(conn.execute(select(audit_head)).mappings().one())
    for i in range(5):
        audit.append(eng, "dee", "view_person", f"P{i}")
    head_file = tmp_path / "head.json"
    res = _cli("audit", "head", "--db", db_url, "--out", str(head_file))
    assert res.exit_code == 0, res.output
    assert json.loads(head_file.read_text())["last_id"] == 5
    assert _cli("audit", "verify", "--db", db_url, "--head", str(head_file)).exit_code == 0
    with eng.begin() as conn:  # wipe and put back the head of the empty database (replay)
        conn.execute(delete(audit_table))
        conn.execute(update(audit_head).values(**empty_head))
    assert audit.verify(eng).ok  # the database alone cannot tell
    v = audit.verify(eng, head=audit.read_head(eng, head_file))
    assert not v.ok and "truncated or wiped" in v.reason
    res = _cli("audit", "verify", "--db", db_url, "--head", str(head_file))
    assert res.exit_code == 1 and "exported head" in res.output


def test_exported_head_detects_rewrite_by_key_holder(db_url, tmp_path):
    """Someone with the key can re-chain; a head exported before still catches it."""
    eng = _filled(db_url)
    head = audit.export_head(eng)
    key = audit.key_of(eng)
    rows = _rows(eng)
    rows[1]["actor"] = "someone-else"
    prev = GENESIS
    with eng.begin() as conn:
        for r in rows:
            r["prev_hash"] = prev
            r["hash"] = audit.row_hash(r, key)
            conn.execute(update(audit_table).where(audit_table.c.id == r["id"])
                         .values(actor=r["actor"], prev_hash=r["prev_hash"], hash=r["hash"]))
            prev = r["hash"]
        conn.execute(update(audit_head).values(last_hash=prev,
                                               mac=audit.head_mac(key, len(rows), prev)))
    assert audit.verify(eng).ok
    v = audit.verify(eng, head=head)
    assert not v.ok and "rewritten" in v.reason


def test_edited_head_file_is_refused(db_url, tmp_path):
    eng = _filled(db_url, n=2)
    head = audit.export_head(eng)
    head["last_id"] = 1
    path = tmp_path / "head.json"
    path.write_text(json.dumps(head))
    with pytest.raises(UserError, match="MAC"):
        audit.read_head(eng, path)


def _decided(db_url):
    eng = open_db(db_url)
    for pid, d in (("P1", "adopt"), ("P2", "not_adopt")):
        decisions.record(eng, person_id=pid, iteration="2026-01", decision=d, refer_to=None,
                         rationale="a reasoned rationale", user="dee", ip="127.0.0.1")
    assert audit.verify(eng).ok
    return eng


@pytest.mark.parametrize("change", [{"decision": "refer", "refer_to": "marac"},
                                    {"rationale": "changed later"}, {"user_name": "mallory"}])
def test_decision_changed_in_the_database_is_detected(db_url, change):
    eng = _decided(db_url)
    with eng.begin() as conn:
        conn.execute(update(decisions_table).where(decisions_table.c.person_id == "P1")
                     .values(**change))
    v = audit.verify(eng)
    assert not v.ok and "decisions row" in v.reason and "changed" in v.reason


def test_decision_inserted_or_deleted_outside_the_app_is_detected(db_url):
    eng = _decided(db_url)
    with eng.begin() as conn:
        conn.execute(decisions_table.insert().values(
            person_id="P3", iteration="2026-01", decision="adopt", rationale="forged entry",
            user_name="dee", at=audit.now_iso()))
    v = audit.verify(eng)
    assert not v.ok and "not in the audit chain" in v.reason
    with eng.begin() as conn:
        conn.execute(delete(decisions_table).where(decisions_table.c.person_id.in_(["P3", "P2"])))
    v = audit.verify(eng)
    assert not v.ok and "deleted" in v.reason


def test_wrong_key_is_refused(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    _filled(url, n=2)
    key_file = tmp_path / "app.db.audit-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    monkeypatch.setenv(audit.KEY_ENV, "x" * 40)
    with pytest.raises(UserError, match="not the key"):
        open_db(url)
    monkeypatch.delenv(audit.KEY_ENV)
    os.rename(key_file, tmp_path / "moved.key")
    with pytest.raises(UserError, match="not the key"):  # a new key is not silently made
        open_db(url)
    assert not key_file.exists()
    assert audit.verify(open_db(url, tmp_path / "moved.key")).ok


def test_users_init_creates_the_key_and_says_where(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    res = _cli("users", "init", "--db", url)
    assert res.exit_code == 0, res.output
    assert str(tmp_path / "app.db.audit-key") in res.output and "key id" in res.output
    assert (tmp_path / "app.db.audit-key").exists()


# --- the sealing API for other stages' tables (e.g. casework plans) ---------------------------

_meta = MetaData()
plans = Table("plans_test", _meta, Column("id", Integer, primary_key=True),
              Column("person_id", String(32)), Column("text", String(200)),
              Column("audit_id", Integer))


@pytest.fixture
def sealed_plans():
    audit.register_sealed(plans)
    yield plans
    audit._SEALED.pop(plans.name, None)


def test_seal_row_api_for_another_table(tmp_path, sealed_plans):
    eng = open_db(f"sqlite:///{tmp_path / 'app.db'}")
    _meta.create_all(eng)
    with eng.begin() as conn:
        rid = conn.execute(plans.insert().values(person_id="P1", text="safety plan v1")
                           ).inserted_primary_key[0]
        first = audit.seal_row(conn, plans, rid, actor="dee", action="plan_add",
                               target="P1", detail={"text": "safety plan v1"})
    with eng.begin() as conn:
        conn.execute(update(plans).where(plans.c.id == rid).values(text="safety plan v2"))
        second = audit.seal_row(conn, plans, rid, actor="dee", action="plan_edit", target="P1")
    assert second > first and audit.verify(eng).ok
    with eng.begin() as conn:  # roll the row back to its first version behind the app's back
        conn.execute(update(plans).values(text="safety plan v1", audit_id=first))
    assert not audit.verify(eng).ok
    with eng.begin() as conn:
        conn.execute(delete(plans))
        audit.seal_delete(conn, plans, rid, actor="dee", action="plan_delete")
    assert audit.verify(eng).ok
    with eng.begin() as conn:
        conn.execute(text("DROP TABLE plans_test"))
    assert audit.verify(eng).ok  # only a deletion was recorded last


# --- upgrade from revision 0001 with data -------------------------------------------------------

def _db_at_0001(db_url):
    from tests.app.apptest_helpers import engine_at_revision

    eng = engine_at_revision(db_url, "0001")
    prev = GENESIS
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO users (name, role, pw_hash, active, created_at) VALUES "
                          "('dee', 'dapst', 'h', true, '2026-01-01')"))
        conn.execute(text("INSERT INTO login_failures (username, ip, at) VALUES "
                          "('dee', '10.0.0.1', :t)"), {"t": int(__import__('time').time())})
        conn.execute(text("INSERT INTO decisions (person_id, iteration, decision, rationale, "
                          "user_name, at) VALUES ('P1', '2026-01', 'adopt', 'old rationale', "
                          "'dee', '2026-01-02')"))
        for i in range(1, 4):
            r = {"id": i, "at": f"2026-01-0{i}T00:00:00.000000Z", "actor": "dee", "ip": "",
                 "action": "decision" if i == 3 else "login", "target": "P1", "detail": "{}",
                 "prev_hash": prev}
            r["hash"] = audit.legacy_hash(r)
            conn.execute(audit_table.insert().values(**r))
            prev = r["hash"]
        conn.execute(text("UPDATE audit_head SET last_id = 3, last_hash = :h"), {"h": prev})
    eng.dispose()


def test_upgrade_from_0001_keeps_data_and_keys_the_chain(db_url):
    _db_at_0001(db_url)
    eng = open_db(db_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0004"
        assert conn.execute(text("SELECT name FROM users")).scalar_one() == "dee"
        assert conn.execute(text("SELECT failures FROM login_throttle")).scalar_one() == 1
        dec = conn.execute(select(decisions_table)).mappings().one()
    assert dec["rationale"] == "old rationale" and dec["audit_id"] is not None
    rows = _rows(eng)
    assert [r["action"] for r in rows] == ["login", "login", "decision", "seal_existing",
                                           "audit_keyed"]
    assert rows[0]["at"] == "2026-01-01T00:00:00.000000Z"  # old rows kept, relinked
    assert audit.verify(eng).ok
    with eng.begin() as conn:  # the old rows are now protected by the key as well
        conn.execute(update(audit_table).where(audit_table.c.id == 2).values(actor="mallory"))
    assert not audit.verify(eng).ok
    eng2 = open_db(db_url)  # a second start does not key again
    assert len(_rows(eng2)) == 5


def test_upgrade_refuses_a_broken_old_chain(db_url):
    _db_at_0001(db_url)
    eng = make_engine(db_url)
    with eng.begin() as conn:
        conn.execute(update(audit_table).where(audit_table.c.id == 2).values(actor="mallory"))
    with pytest.raises(UserError, match="row 2"):
        open_db(db_url)
