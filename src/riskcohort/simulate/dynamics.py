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


@dataclass
class _Month:
    """What one month's steps share: its dates and who is present, free and how recently
    separated or released (computed once, before any of the month's random draws)."""

    m: int
    d0: float
    dim: float
    entering: np.ndarray
    present: np.ndarray
    free: np.ndarray
    sep_s: np.ndarray
    rel_s: np.ndarray
    act_mult: np.ndarray


@dataclass
class _Events:
    """The month's offending: ordinary DA incidents (``who``...), serious harm (``shw``...) and
    non-domestic crime (``nwho``...), each one row per event, before recording."""

    k: np.ndarray
    sh: np.ndarray
    who: np.ndarray
    tgt: np.ndarray
    code: np.ndarray
    oid: np.ndarray
    shw: np.ndarray
    sh_tgt: np.ndarray
    sh_code: np.ndarray
    nwho: np.ndarray
    n_code: np.ndarray


class _Block:
    """The state of one block of perpetrators carried from month to month.

    Why a class of small steps: each step (offending, recording, responses, homicide,
    separation) reads and updates the same per-person arrays; keeping them on one object lets
    each step be read alone while the random draws stay in exactly the original order (same
    seed -> identical files).
    """

    def __init__(self, tr: Traits, rng, month_day, burn: int, bias_mask, bias_rate: float,
                 sc: Scenario, team) -> None:
        n = len(tr.d)
        self.tr, self.rng, self.month_day, self.burn = tr, rng, month_day, burn
        self.sc, self.team, self.bias_rate, self.n = sc, team, bias_rate, n
        self.M = len(month_day) - 1
        cap = 4 * n + 16
        self.R: dict[str, np.ndarray] = {
            k: np.full(cap, -1, dtype=np.int64) for k in ("perp", "kind", "start", "end")}
        self.R["rep"] = np.zeros(cap)
        self.nrel = [0]
        self.static = hz.static_log(tr, sc)
        self.intimate0 = tr.kind == 0
        self.cur = np.full(n, -1)
        self.ex = np.full(n, -1)
        self.E = np.zeros(n)
        self.sep_month = np.full(n, -1e9)
        self.cust_until = np.full(n, -1, dtype=np.int64)
        self.active = np.ones(n, dtype=bool)
        self.alive = np.ones(n, dtype=bool)
        self.death = np.full(n, np.nan)
        self.order_until = np.full(n, -1e9)
        self.order_rel = np.full(n, -1)
        self.order_id = np.full(n, -1)
        self.partnered = np.zeros(n, dtype=bool)
        self.bias = np.zeros(n, dtype=bool) if bias_mask is None else bias_mask
        self.known = np.zeros(n, dtype=bool)  # a DA incident recorded (unbiased) before
        self.nu = np.exp(-6.0 + 0.8 * tr.v + 0.4 * tr.d + 0.5 * tr.drugs + 1.2 * tr.chronic)
        self.q_desist = hz.desist_prob(tr)
        self.inc, self.ords, self.cus, self.truth = Rows(), Rows(), Rows(), Rows()
        self.n_orders = 0

    def month(self, m: int) -> None:
        """One month, step by step (the order of the steps is the order of the draws)."""
        mo = self._start(m)
        ev = self._offending(mo)
        all_who, all_code, serious, prompt = self._record(mo, ev)
        self._orders(mo, all_who, prompt, serious)
        self._custody(mo, all_who, all_code, prompt, serious)
        self._homicides(mo, ev)
        self._separations(mo, ev.k)
        self._update(mo, ev)

    def _start(self, m: int) -> _Month:
        """New perpetrators enter with a relationship; the month's exposures; truth rows."""
        tr, d0 = self.tr, self.month_day[m]
        dim = self.month_day[m + 1] - d0
        entering = np.flatnonzero(tr.entry == m)
        if len(entering):
            rel = _rel_new(self.R, self.nrel, entering, tr.kind[entering], m, self.rng, tr)
            self.cur[entering] = rel
            self.partnered[entering] = True
        present = self.alive & (tr.entry <= m)
        free = present & (self.cust_until < m)
        sep_s = np.exp(-(m - self.sep_month) / hz.TAU_SEP)
        since = m - self.cust_until - 1
        rel_s = np.where((self.cust_until >= 0) & (since >= 0), np.exp(-since / hz.TAU_REL), 0.0)
        if m >= self.burn:
            p = hz.project_12m(m, self.static, tr, self.E, self.sep_month, self.cust_until,
                               self.active, self.partnered, self.intimate0, self.sc)
            w = np.flatnonzero(present)
            self.truth.add(person=w, month=np.full(len(w), m), p=p[w].astype(np.float32))
        act_mult = np.where(self.active, 1.0, hz.DESISTED_MULT)
        return _Month(m, d0, dim, entering, present, free, sep_s, rel_s, act_mult)

    def _offending(self, mo: _Month) -> _Events:
        """Draw the month's incidents and serious harm; a managed person's hazard is lowered."""
        tr, rng, free, n = self.tr, self.rng, mo.free, self.n
        c_pos = np.maximum(tr.c, 0.0)
        lam = mo.act_mult * tr.mu * (1 + 1.5 * c_pos * mo.sep_s) + tr.beta * self.E
        k = rng.poisson(lam * free) * free
        k[mo.entering] += free[mo.entering]
        h = hz.monthly(self.static, tr, self.E, mo.sep_s, mo.rel_s, self.active, self.sc)
        if self.team is not None:
            self.team.select(mo.m, mo.d0, mo.present & self.alive)
            mult = self.team.multiplier(mo.m)
            if mult is not None:
                h = h * mult
        sh = free & (rng.random(n) < 1 - np.exp(-h))
        who, tgt, code, oid = self._da_incidents(mo, k)
        shw, sh_tgt, sh_code = self._serious_harm(mo, sh)
        kn = rng.poisson(self.nu * free * mo.act_mult)
        nwho = np.repeat(np.arange(n), kn)
        n_code = ND_CODES[of.categorical(rng, np.tile(of.NON_DA_P, (len(nwho), 1)))]
        return _Events(k, sh, who, tgt, code, oid, shw, sh_tgt, sh_code, nwho, n_code)

    def _da_incidents(self, mo: _Month, k: np.ndarray) -> tuple[np.ndarray, ...]:
        """Ordinary DA incidents: victim (a recent ex or the current partner), kind, breaches."""
        rng, sep_s, ex = self.rng, mo.sep_s, self.ex
        who = np.repeat(np.arange(self.n), k)
        recent = (sep_s[who] > 0.1) & (rng.random(len(who)) < 0.5)
        use_ex = (ex[who] >= 0) & (~self.partnered[who] | recent)
        tgt = np.where(use_ex, ex[who], self.cur[who])
        iv = self.R["kind"][np.maximum(tgt, 0)] == 0
        code = DA_CODES[of.categorical(rng, of.da_weights(self.tr, who, iv, sep_s[who] * iv))]
        breach = ((self.order_until[who] >= mo.m) & (self.order_rel[who] == tgt)
                  & (rng.random(len(who)) < 0.55))
        code = np.where(breach, BREACH, code)
        oid = np.where(breach, self.order_id[who], -1)
        return who, tgt, code, oid

    def _serious_harm(self, mo: _Month, sh: np.ndarray) -> tuple[np.ndarray, ...]:
        """Serious harm events: who, against whom (a recent ex is at higher risk), what kind."""
        rng, sep_s, ex = self.rng, mo.sep_s, self.ex
        shw = np.flatnonzero(sh)
        recent = (sep_s[shw] > 0.2) & (rng.random(len(shw)) < 0.6)
        sh_ex = (ex[shw] >= 0) & (~self.partnered[shw] | recent)
        sh_tgt = np.where(sh_ex, ex[shw], self.cur[shw])
        sh_code = SH_CODES[of.sh_kind(rng, self.tr, shw)]
        return shw, sh_tgt, sh_code

    def _record(self, mo: _Month, ev: _Events) -> tuple[np.ndarray, ...]:
        """Which events the police record, when, and (under measurement bias) which extra ones.

        Measurement bias: police who already know a perpetrator of the group record more of his
        non-serious incidents (repeat calls, harassment, breaches); it never creates a first
        record, so the bias inflates known histories rather than adding new people."""
        rng, m = self.rng, mo.m
        all_who = np.concatenate([ev.who, ev.shw, ev.nwho])
        all_code = np.concatenate([ev.code, ev.sh_code, ev.n_code])
        all_rel = np.concatenate([ev.tgt, ev.sh_tgt, np.full(len(ev.nwho), -1)])
        dom = np.concatenate([np.ones(len(ev.who) + len(ev.shw), bool),
                              np.zeros(len(ev.nwho), bool)])
        serious = np.isin(all_code, SH_CODES)
        rep = np.where(all_rel >= 0, self.R["rep"][np.maximum(all_rel, 0)], -0.2)
        p_rec = np.where(serious, SH_P[all_code], 1 / (1 + np.exp(-(rep + BONUS[all_code]))))
        u = rng.random(len(all_who))
        base_rec = u < p_rec
        biased = self.bias[all_who] & self.known[all_who] & ~serious
        p_bias = np.where(biased, p_rec + self.bias_rate * (1 - p_rec), p_rec)
        occurred = mo.d0 + rng.random(len(all_who)) * mo.dim
        lag = of.recording_lag_days(rng, len(all_who), serious | (all_code == HOMICIDE))
        self.inc.add(perp=all_who, rel=all_rel, month=np.full(len(all_who), m), code=all_code,
                     sep_s=mo.sep_s[all_who], exc=self.E[all_who], domestic=dom,
                     occurred=occurred, lag=lag, recorded=u < p_bias, base_rec=base_rec,
                     order=np.concatenate([ev.oid, np.full(len(ev.shw) + len(ev.nwho), -1)]))
        if self.team is not None:
            self.team.record(all_who, all_code, occurred + lag, u < p_bias, dom)
        prompt = base_rec & dom & (lag < 30)
        self.known[all_who[base_rec & dom]] = True
        return all_who, all_code, serious, prompt

    def _orders(self, mo: _Month, all_who, prompt, serious) -> None:
        """Protective orders after promptly recorded non-serious incidents (unbiased recording,
        so the bias option never changes the police response)."""
        rng, n = self.rng, self.n
        resp = np.zeros(n, bool)
        resp[all_who[prompt & ~serious]] = True
        give = np.flatnonzero(resp & (rng.random(n) < 0.12))
        okind = of.categorical(rng, np.tile(ORDER_P, (len(give), 1)))
        ostart = mo.d0 + rng.random(len(give)) * mo.dim
        oend = ostart + ORDER_DAYS[okind] * rng.uniform(0.8, 1.2, len(give))
        ids = np.arange(self.n_orders, self.n_orders + len(give))
        self.ords.add(perp=give, rel=self.cur[give], kind=okind, start=ostart, end=oend, id=ids)
        self.order_id[give] = ids
        self.n_orders += len(give)
        self.order_rel[give] = np.where(self.cur[give] >= 0, self.cur[give], self.ex[give])
        self.order_until[give] = mo.m + (oend - ostart) / 30.4

    def _custody(self, mo: _Month, all_who, all_code, prompt, serious) -> None:
        """Custody after prompt recording: long after serious harm, remand or a short sentence
        after other violence."""
        rng, n = self.rng, self.n
        viol = np.zeros(n, bool)
        viol[all_who[prompt & VIOLENT[all_code]]] = True
        sh_prompt = np.zeros(n, bool)
        sh_prompt[all_who[prompt & serious]] = True
        ru = rng.random(n)
        long = sh_prompt & (ru < 0.85)
        remand = ~sh_prompt & viol & (ru < 0.07)
        sent = ~sh_prompt & viol & (ru >= 0.07) & (ru < 0.09)
        months = np.where(long, rng.integers(10, 96, n), np.where(remand, rng.integers(1, 4, n),
                                                                   rng.integers(3, 19, n)))
        jail = np.flatnonzero(long | remand | sent)
        cs = mo.d0 + rng.random(len(jail)) * mo.dim
        self.cus.add(perp=jail, start=cs, end=cs + months[jail] * 30.4,
                     kind=np.where(remand[jail], 0, 1))
        self.cust_until[jail] = mo.m + months[jail]

    def _homicides(self, mo: _Month, ev: _Events) -> None:
        """A homicide: the victim dies, the relationship ends, some perpetrators take their own
        life, the rest are held for the rest of the simulation."""
        m, cur = mo.m, self.cur
        hom = ev.shw[ev.sh_code == HOMICIDE]
        hrel = ev.sh_tgt[ev.sh_code == HOMICIDE]
        self.R["end"][hrel] = m
        self.cust_until[hom] = self.M + 999
        self.cust_until[hom] = np.maximum(self.cust_until[hom], m + 200)
        sui = hom[self.rng.random(len(hom)) < 0.12 + 0.3 * self.tr.suicidal[hom]]
        self.alive[sui] = False
        self.death[sui] = mo.d0 + self.rng.random(len(sui)) * mo.dim
        self.partnered[hom] = self.partnered[hom] & (cur[hom] != hrel)
        cur[hom] = np.where(cur[hom] == hrel, -1, cur[hom])

    def _separations(self, mo: _Month, k: np.ndarray) -> None:
        """Intimate relationships end (more often after an incident) and new ones start."""
        rng, n, m, cur = self.rng, self.n, mo.m, self.cur
        ru = rng.random(n)
        p_sep = hz.SEP_BASE + hz.SEP_AFTER_INCIDENT * (k > 0)
        sep = self.partnered & self.intimate0 & mo.present & (ru < p_sep)
        sep_idx = np.flatnonzero(sep)
        self.R["end"][cur[sep_idx]] = m
        self.ex[sep_idx] = cur[sep_idx]
        cur[sep_idx] = -1
        self.partnered[sep_idx] = False
        self.sep_month[sep_idx] = m + rng.random(len(sep_idx))
        newp = np.flatnonzero(~self.partnered & self.intimate0 & mo.free
                              & (rng.random(n) < 0.035))
        if len(newp):
            rel = _rel_new(self.R, self.nrel, newp, np.zeros(len(newp), np.int64), m, rng,
                           self.tr)
            self.R["start"][rel] = m
            cur[newp] = rel
            self.partnered[newp] = True

    def _update(self, mo: _Month, ev: _Events) -> None:
        """Excitation decays and grows with the month's events; desistance; natural deaths."""
        rng, n, present = self.rng, self.n, mo.present
        self.E = hz.DECAY * self.E + ev.k + 2.0 * ev.sh
        self.active &= ~(present & (rng.random(n) < self.q_desist))
        nat = present & self.alive & (rng.random(n) < 0.0003)
        self.death[nat] = mo.d0 + rng.random(nat.sum()) * mo.dim
        self.alive &= ~nat

    def world(self) -> World:
        """The block's records and truth, relationships trimmed to those created."""
        R = {k: v[: self.nrel[0]] for k, v in self.R.items()}
        return World(self.tr, self.month_day, self.inc.done(), R, self.ords.done(),
                     self.cus.done(), self.death, self.truth.done())


def run(tr: Traits, rng, month_day, burn, bias_mask=None, bias_rate=0.0,
        sc: Scenario = SCENARIOS["default"], team=None) -> World:
    """Simulate all months for the perpetrators in ``tr``; truth rows from month ``burn`` on.

    ``sc`` holds the scenario's mechanism switches; ``team`` (a ``management.Team`` or None)
    picks people to manage each quarter and lowers their serious-harm hazard. The truth rows
    never include management (risk without intervention)."""
    block = _Block(tr, rng, month_day, burn, bias_mask, bias_rate, sc, team)
    for m in range(block.M):
        block.month(m)
    return block.world()
