"""Orders, custody spells, warning markers and referrals of one block.

Why these come from the latent world: custody release and breached orders are triggers in the
hazard, and markers (suicide/self-harm, weapons, firearms access, substances, mental health) are
the record system's partial view of the latent traits, added after police first meet a person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskcohort.simulate.dynamics import ORDER_KINDS, World
from riskcohort.simulate.records import dates, ids, ts

# marker kind -> (trait attribute or None, P(marker | trait), P(marker | no trait))
MARKERS = {
    "suicide_self_harm": ("suicidal", 0.5, 0.012),
    "mental_health": ("mental", 0.45, 0.03),
    "drugs": ("drugs", 0.4, 0.02),
    "alcohol": ("alcohol", 0.35, 0.02),
    "weapons": ("weapons", 0.4, 0.01),
    "firearms_access": ("firearms", 0.5, 0.002),
    "violence": (None, 0.0, 0.0),
    "other": (None, 0.0, 0.03),
}


def orders(w: World, pid, n, block, start_day, end_day) -> pd.DataFrame:
    o = w.orders
    keep = (o["start"] >= start_day) & (o["start"] < end_day)
    rel = o["rel"][keep]
    return pd.DataFrame({
        "order_id": ids("O", block, o["id"][keep]),
        "subject_id": pid[o["perp"][keep]],
        "protected_id": np.where(rel >= 0, pid[n + np.maximum(rel, 0)], None),
        "kind": np.array(ORDER_KINDS, dtype=object)[o["kind"][keep]],
        "start_date": dates(o["start"][keep]),
        "end_date": dates(o["end"][keep]),
        "recorded_at": ts(o["start"][keep] + 0.3),
    })


def custody(w: World, pid, block, start_day, end_day) -> pd.DataFrame:
    c = w.custody
    keep = (c["start"] >= start_day) & (c["start"] < end_day)
    end = np.where(c["end"][keep] < end_day, c["end"][keep], np.nan)
    return pd.DataFrame({
        "custody_id": ids("C", block, np.flatnonzero(keep)),
        "person_id": pid[c["perp"][keep]],
        "start_date": dates(c["start"][keep]),
        "end_date": dates(end),
        "kind": np.array(["remand", "sentence"], dtype=object)[c["kind"][keep]],
    })


def markers(w: World, first_seen: pd.Series, pid, block, end_day, rng) -> pd.DataFrame:
    """Markers for perpetrators police know (``first_seen``: perp index -> first record day)."""
    tr = w.traits
    p = first_seen.index.to_numpy()
    seen = first_seen.to_numpy()
    rows = []
    for kind, (attr, p_yes, p_no) in MARKERS.items():
        if attr is None and kind == "violence":
            prob = 1 / (1 + np.exp(-(-3.4 + 1.8 * tr.d[p] + 0.3 * tr.v[p])))
        else:
            trait = getattr(tr, attr)[p] if attr else np.zeros(len(p), bool)
            prob = np.where(trait, p_yes, p_no)
        has = rng.random(len(p)) < prob
        at = seen + rng.exponential(150, len(p)) - 60 * (rng.random(len(p)) < 0.3)
        ok = has & (at < end_day)
        rows.append(pd.DataFrame({"p": p[ok], "kind": kind, "at": at[ok]}))
    f = pd.concat(rows, ignore_index=True)
    expires = np.where(rng.random(len(f)) < 0.3, f["at"] + rng.uniform(730, 1825, len(f)), np.nan)
    return pd.DataFrame({
        "marker_id": ids("M", block, np.arange(len(f))),
        "person_id": pid[f["p"].to_numpy()],
        "kind": f["kind"].to_numpy(dtype=object),
        "recorded_at": ts(f["at"].to_numpy()),
        "expires_at": ts(expires),
    })


def referrals(w: World, assess: pd.DataFrame, first_seen: pd.Series, pid, block, start_day,
              end_day, rng) -> pd.DataFrame:
    """MARAC (victims of high gradings), MAPPA (released serious offenders), others."""
    tr = w.traits
    hi = assess[(assess["grade"] == "high").to_numpy() & (rng.random(len(assess)) < 0.8)]
    hi_at = hi["assessed_at"].to_numpy().astype("datetime64[s]").astype(np.int64) / 86400
    parts = [pd.DataFrame({"person_id": hi["victim_id"].to_numpy(), "role": "victim",
                           "kind": "marac", "at": hi_at + rng.uniform(3, 30, len(hi))})]
    c = w.custody
    mappa = (c["kind"] == 1) & (c["end"] - c["start"] > 300) & (rng.random(len(c["end"])) < 0.7)
    parts.append(pd.DataFrame({"person_id": pid[c["perp"][mappa]], "role": "perpetrator",
                               "kind": "mappa", "at": c["end"][mappa] - 30}))
    p = first_seen.index.to_numpy()
    at = first_seen.to_numpy() + rng.exponential(200, len(p))
    mh = tr.mental[p] & (rng.random(len(p)) < 0.3)
    pp = rng.random(len(p)) < 0.05
    parts.append(pd.DataFrame({"person_id": pid[p[mh]], "role": "perpetrator",
                               "kind": "mental_health", "at": at[mh]}))
    parts.append(pd.DataFrame({"person_id": pid[p[pp]], "role": "perpetrator",
                               "kind": "perpetrator_programme", "at": at[pp] + 30}))
    f = pd.concat(parts, ignore_index=True)
    f = f[(f["at"] >= start_day) & (f["at"] < end_day)].sort_values("at", kind="stable")
    return pd.DataFrame({
        "referral_id": ids("F", block, np.arange(len(f))),
        "person_id": f["person_id"].to_numpy(dtype=object),
        "role": f["role"].to_numpy(dtype=object),
        "kind": f["kind"].to_numpy(dtype=object),
        "referred_at": ts(f["at"].to_numpy()),
    })
