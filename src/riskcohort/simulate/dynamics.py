"""The month-by-month simulation of one block of perpetrators (vectorised over people).

Why this shape: a Python loop over *time* (about 100 monthly steps) with numpy over *people*
keeps the force preset to seconds and lets the national preset run block by block in bounded
memory. Every random draw is made whether or not the bias option is on, and police responses
(orders, custody) follow the *unbiased* recording decision, so the latent world - and the true
risk - is identical with and without measurement bias; only what gets recorded differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from riskcohort.contract.schema import OFFENCES
from riskcohort.simulate import hazard as hz
from riskcohort.simulate import offences as of
from riskcohort.simulate.scenarios import SCENARIOS, Scenario
from riskcohort.simulate.traits import Traits

OFF_CODE = {o: i for i, o in enumerate(OFFENCES)}
DA_CODES = np.array([OFF_CODE[o] for o in of.DA_KINDS])
SH_CODES = np.array([OFF_CODE[o] for o in of.SH_KINDS])
ND_CODES = np.array([OFF_CODE[o] for o in of.NON_DA_KINDS])
BONUS = np.array([of.RECORD_BONUS.get(o, 0.0) for o in OFFENCES])
SH_P = np.array([of.SH_RECORD_P.get(o, 0.0) for o in OFFENCES])
BREACH = OFF_CODE["breach_of_order"]
HOMICIDE = OFF_CODE["homicide"]
VIOLENT = np.isin(np.arange(len(OFFENCES)), [OFF_CODE[o] for o in (
    "abh", "strangulation", "threats_to_kill", "stalking", "sexual_offence", "breach_of_order")])
ORDER_KINDS = ("dvpn", "dvpo", "bail_conditions", "non_molestation", "restraining", "dapo")
ORDER_P = np.array([0.3, 0.15, 0.3, 0.15, 0.05, 0.05])
ORDER_DAYS = np.array([28, 28, 60, 270, 540, 365])


@dataclass
class Rows:
    """Column-wise append buffer: lists of per-month arrays, concatenated once at the end."""

    parts: dict = field(default_factory=dict)

    def add(self, **cols):
        for k, v in cols.items():
            self.parts.setdefault(k, []).append(np.asarray(v))

    def done(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.parts.items()}


@dataclass
class World:
    """Everything the records and the truth are made from, for one block."""

    traits: Traits
    month_day: np.ndarray  # day number (since 1970) of each simulated month start
    incidents: dict
    rels: dict
    orders: dict
    custody: dict
    perp_death: np.ndarray  # day number or NaN
    truth: dict


def _rel_new(R, n, perp, kind, month, rng, tr):
    """Append ``len(perp)`` relationships; return their indexes."""
    k = len(perp)
    idx = np.arange(n[0], n[0] + k)
    n[0] += k
    R["perp"][idx] = perp
    R["kind"][idx] = kind
    R["start"][idx] = month - np.where(kind == 0, rng.integers(1, 72, k), rng.integers(60, 400, k))
    R["end"][idx] = -1
    R["rep"][idx] = rng.normal(-0.3, 1.0, k) - 0.35 * tr.c[perp]
    return idx


def run(tr: Traits, rng, month_day, burn, bias_mask=None, bias_rate=0.0,
        sc: Scenario = SCENARIOS["default"], team=None) -> World:
    """Simulate all months for the perpetrators in ``tr``; truth rows from month ``burn`` on.

    ``sc`` holds the scenario's mechanism switches; ``team`` (a ``management.Team`` or None)
    picks people to manage each quarter and lowers their serious-harm hazard. The truth rows
    never include management (risk without intervention)."""
    n, M = len(tr.d), len(month_day) - 1
    cap = 4 * n + 16
    R = {k: np.full(cap, -1, dtype=np.int64) for k in ("perp", "kind", "start", "end")}
    R["rep"] = np.zeros(cap)
    nrel = [0]
    static = hz.static_log(tr, sc)
    intimate0 = tr.kind == 0
    cur = np.full(n, -1)
    ex = np.full(n, -1)
    E = np.zeros(n)
    sep_month = np.full(n, -1e9)
    cust_until = np.full(n, -1, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    alive = np.ones(n, dtype=bool)
    death = np.full(n, np.nan)
    order_until = np.full(n, -1e9)
    order_rel = np.full(n, -1)
    order_id = np.full(n, -1)
    partnered = np.zeros(n, dtype=bool)
    bias = np.zeros(n, dtype=bool) if bias_mask is None else bias_mask
    known = np.zeros(n, dtype=bool)  # has had a DA incident recorded (unbiased) in an earlier month
    nu = np.exp(-6.0 + 0.8 * tr.v + 0.4 * tr.d + 0.5 * tr.drugs + 1.2 * tr.chronic)
    q_desist = hz.desist_prob(tr)
    inc, ords, cus, truth = Rows(), Rows(), Rows(), Rows()
    n_orders = 0
    for m in range(M):
        d0, dim = month_day[m], month_day[m + 1] - month_day[m]
        entering = np.flatnonzero(tr.entry == m)
        if len(entering):
            rel = _rel_new(R, nrel, entering, tr.kind[entering], m, rng, tr)
            cur[entering] = rel
            partnered[entering] = True
        present = alive & (tr.entry <= m)
        free = present & (cust_until < m)
        sep_s = np.exp(-(m - sep_month) / hz.TAU_SEP)
        since = m - cust_until - 1
        rel_s = np.where((cust_until >= 0) & (since >= 0), np.exp(-since / hz.TAU_REL), 0.0)
        if m >= burn:
            p = hz.project_12m(m, static, tr, E, sep_month, cust_until, active, partnered,
                               intimate0, sc)
            w = np.flatnonzero(present)
            truth.add(person=w, month=np.full(len(w), m), p=p[w].astype(np.float32))
        act_mult = np.where(active, 1.0, hz.DESISTED_MULT)
        c_pos = np.maximum(tr.c, 0.0)
        lam = act_mult * tr.mu * (1 + 1.5 * c_pos * sep_s) + tr.beta * E
        k = rng.poisson(lam * free) * free
        k[entering] += free[entering]
        h = hz.monthly(static, tr, E, sep_s, rel_s, active, sc)
        if team is not None:
            team.select(m, d0, present & alive)
            mult = team.multiplier(m)
            if mult is not None:
                h = h * mult
        sh = free & (rng.random(n) < 1 - np.exp(-h))
        # --- ordinary DA incidents ------------------------------------------------------
        who = np.repeat(np.arange(n), k)
        recent = (sep_s[who] > 0.1) & (rng.random(len(who)) < 0.5)
        use_ex = (ex[who] >= 0) & (~partnered[who] | recent)
        tgt = np.where(use_ex, ex[who], cur[who])
        iv = R["kind"][np.maximum(tgt, 0)] == 0
        code = DA_CODES[of.categorical(rng, of.da_weights(tr, who, iv, sep_s[who] * iv))]
        breach = (order_until[who] >= m) & (order_rel[who] == tgt) & (rng.random(len(who)) < 0.55)
        code = np.where(breach, BREACH, code)
        oid = np.where(breach, order_id[who], -1)
        # --- serious harm ----------------------------------------------------------------
        shw = np.flatnonzero(sh)
        recent = (sep_s[shw] > 0.2) & (rng.random(len(shw)) < 0.6)
        sh_ex = (ex[shw] >= 0) & (~partnered[shw] | recent)
        sh_tgt = np.where(sh_ex, ex[shw], cur[shw])
        sh_code = SH_CODES[of.sh_kind(rng, tr, shw)]
        # --- non-domestic crime ----------------------------------------------------------
        kn = rng.poisson(nu * free * act_mult)
        nwho = np.repeat(np.arange(n), kn)
        n_code = ND_CODES[of.categorical(rng, np.tile(of.NON_DA_P, (len(nwho), 1)))]
        # --- recording -------------------------------------------------------------------
        all_who = np.concatenate([who, shw, nwho])
        all_code = np.concatenate([code, sh_code, n_code])
        all_rel = np.concatenate([tgt, sh_tgt, np.full(len(nwho), -1)])
        dom = np.concatenate([np.ones(len(who) + len(shw), bool), np.zeros(len(nwho), bool)])
        serious = np.isin(all_code, SH_CODES)
        rep = np.where(all_rel >= 0, R["rep"][np.maximum(all_rel, 0)], -0.2)
        p_rec = np.where(serious, SH_P[all_code], 1 / (1 + np.exp(-(rep + BONUS[all_code]))))
        u = rng.random(len(all_who))
        base_rec = u < p_rec
        # measurement bias: police who already know a perpetrator of the group record more of
        # his non-serious incidents (repeat calls, harassment, breaches); it never creates a
        # first record, so the bias inflates known histories rather than adding new people
        biased = bias[all_who] & known[all_who] & ~serious
        p_bias = np.where(biased, p_rec + bias_rate * (1 - p_rec), p_rec)
        occurred = d0 + rng.random(len(all_who)) * dim
        lag = of.recording_lag_days(rng, len(all_who), serious | (all_code == HOMICIDE))
        inc.add(perp=all_who, rel=all_rel, month=np.full(len(all_who), m), code=all_code,
                sep_s=sep_s[all_who], exc=E[all_who],
                domestic=dom, occurred=occurred, lag=lag, recorded=u < p_bias,
                base_rec=base_rec, order=np.concatenate([oid, np.full(len(shw) + len(nwho), -1)]))
        if team is not None:
            team.record(all_who, all_code, occurred + lag, u < p_bias, dom)
        prompt = base_rec & dom & (lag < 30)
        known[all_who[base_rec & dom]] = True
        # --- responses: orders and custody (from unbiased, prompt recording) -------------
        resp = np.zeros(n, bool)
        resp[all_who[prompt & ~serious]] = True
        viol = np.zeros(n, bool)
        viol[all_who[prompt & VIOLENT[all_code]]] = True
        give = np.flatnonzero(resp & (rng.random(n) < 0.12))
        okind = of.categorical(rng, np.tile(ORDER_P, (len(give), 1)))
        ostart = d0 + rng.random(len(give)) * dim
        oend = ostart + ORDER_DAYS[okind] * rng.uniform(0.8, 1.2, len(give))
        ords.add(perp=give, rel=cur[give], kind=okind, start=ostart, end=oend,
                 id=np.arange(n_orders, n_orders + len(give)))
        order_id[give] = np.arange(n_orders, n_orders + len(give))
        n_orders += len(give)
        order_rel[give] = np.where(cur[give] >= 0, cur[give], ex[give])
        order_until[give] = m + (oend - ostart) / 30.4
        sh_prompt = np.zeros(n, bool)
        sh_prompt[all_who[prompt & serious]] = True
        ru = rng.random(n)
        long = sh_prompt & (ru < 0.85)
        remand = ~sh_prompt & viol & (ru < 0.07)
        sent = ~sh_prompt & viol & (ru >= 0.07) & (ru < 0.09)
        months = np.where(long, rng.integers(10, 96, n), np.where(remand, rng.integers(1, 4, n),
                                                                   rng.integers(3, 19, n)))
        jail = np.flatnonzero(long | remand | sent)
        cs = d0 + rng.random(len(jail)) * dim
        cus.add(perp=jail, start=cs, end=cs + months[jail] * 30.4,
                kind=np.where(remand[jail], 0, 1))
        cust_until[jail] = m + months[jail]
        # --- homicide: victim dies, relationship ends, some perpetrators take their own life -
        hom = shw[sh_code == HOMICIDE]
        hrel = sh_tgt[sh_code == HOMICIDE]
        R["end"][hrel] = m
        cust_until[hom] = M + 999
        cust_until[hom] = np.maximum(cust_until[hom], m + 200)
        sui = hom[rng.random(len(hom)) < 0.12 + 0.3 * tr.suicidal[hom]]
        alive[sui] = False
        death[sui] = d0 + rng.random(len(sui)) * dim
        partnered[hom] = partnered[hom] & (cur[hom] != hrel)
        cur[hom] = np.where(cur[hom] == hrel, -1, cur[hom])
        # --- separation and new partners (intimate only) ---------------------------------
        ru = rng.random(n)
        p_sep = hz.SEP_BASE + hz.SEP_AFTER_INCIDENT * (k > 0)
        sep = partnered & intimate0 & present & (ru < p_sep)
        sep_idx = np.flatnonzero(sep)
        R["end"][cur[sep_idx]] = m
        ex[sep_idx] = cur[sep_idx]
        cur[sep_idx] = -1
        partnered[sep_idx] = False
        sep_month[sep_idx] = m + rng.random(len(sep_idx))
        newp = np.flatnonzero(~partnered & intimate0 & free & (rng.random(n) < 0.035))
        if len(newp):
            rel = _rel_new(R, nrel, newp, np.zeros(len(newp), np.int64), m, rng, tr)
            R["start"][rel] = m
            cur[newp] = rel
            partnered[newp] = True
        # --- state updates ---------------------------------------------------------------
        E = hz.DECAY * E + k + 2.0 * sh
        active &= ~(present & (rng.random(n) < q_desist))
        nat = present & alive & (rng.random(n) < 0.0003)
        death[nat] = d0 + rng.random(nat.sum()) * dim
        alive &= ~nat
    R = {k: v[: nrel[0]] for k, v in R.items()}
    return World(tr, month_day, inc.done(), R, ords.done(), cus.done(), death, truth.done())
