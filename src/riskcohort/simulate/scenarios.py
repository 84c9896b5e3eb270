"""Named scenarios: different *mechanisms* of domestic abuse, not just different seeds.

Why: a generator is our assumption, not the world. A ranking that only works on the world we
happened to write is fitted to the generator; to judge robustness, the same engine has to be
run on forces where the assumptions differ: whether DASH/DARA answers carry information, how much
separation triggers serious harm, whether harm is driven by recent history (self-exciting) or by
stable traits, and whether the police record one group more thoroughly. Each scenario below is
one such assumption set; ``default`` is the generator as it always was (byte-identical output).

Every scenario keeps the published stylized facts (``simulate --check``): where a mechanism is
weakened, the baseline hazard is rescaled so the *volume* of serious harm stays in range. These
values were set to meet the facts, never to make any model look good.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from riskcohort.errors import UserError

DASH_MODES = ("mixed", "informative", "noise")


@dataclass(frozen=True)
class Scenario:
    """The mechanism switches of one synthetic world (see docs/synthetic-force.md)."""

    name: str
    summary: str
    dash: str = "mixed"  # mixed | informative | noise: how DASH/DARA answers relate to risk
    separation: float = 1.0  # scale of the post-separation trigger of serious harm (1 = strong)
    d_coef: float = 0.75  # log-hazard per SD of latent dangerousness (trait-driven risk)
    kappa: float = 0.15  # serious-harm multiplier per unit of recent abuse (history-driven risk)
    beta_scale: float = 1.0  # self-excitation of ordinary incidents (x the trait-based rate)
    sh_base: float = 2.2e-4  # monthly serious-harm hazard at the population centre
    strangler_coef: float = 0.8  # log-hazard of a perpetrator who strangles (any time)
    suicidal_coef: float = 0.7  # log-hazard of a suicidal perpetrator (any time)
    bias_group: str | None = None  # ethnicity recorded more thoroughly once known (or None)
    bias_rate: float = 0.3  # share of unrecorded non-serious incidents recorded anyway

    def to_dict(self) -> dict:
        return asdict(self)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("default", "The generator as documented: a few DASH/DARA items informative, "
                 "strong separation trigger, mixed trait and history drivers, no recording "
                 "bias."),
        Scenario("dash-informative", "Every DASH/DARA item reflects the perpetrator's latent "
                 "traits or current state (fear, control, sexual abuse, pregnancy, victim "
                 "despair, child-contact conflict after separation) and officers grade with less "
                 "noise.", dash="informative"),
        Scenario("dash-noise", "DASH/DARA judgement and context items (fear, isolation, "
                 "control, escalation, separation, stalking, sexual abuse, pregnancy, victim or "
                 "perpetrator suicidal, child contact, money, substances, mental health) carry "
                 "no information about the person: each is yes at its usual rate. Only the "
                 "items that record a specific past act (strangulation, threats to kill, "
                 "weapon) still reflect it; the officer's grade adds weight for the offence and "
                 "the recent history the officer can see.", dash="noise"),
        Scenario("weak-separation", "Separation raises serious harm only a little (a quarter of "
                 "the default trigger and of its interactions); strangling weighs more on its "
                 "own, as the published strangulation odds ratio (fact 6) requires.",
                 separation=0.25, strangler_coef=1.3),
        Scenario("self-exciting", "Hawkes-like escalation: serious harm is driven by recent "
                 "abuse (strong excitation, near-critical repeat victimisation), stable "
                 "dangerousness matters less.", d_coef=0.45, kappa=0.6, beta_scale=1.2,
                 sh_base=2.0e-4, suicidal_coef=1.3),
        Scenario("latent-trait", "Stable traits dominate: dangerousness matters more, recent "
                 "abuse barely raises serious harm and repeat incidents excite each other "
                 "less.", d_coef=0.95, kappa=0.1, beta_scale=0.6, sh_base=1.5e-4,
                 strangler_coef=1.1, suicidal_coef=0.4),
        Scenario("biased", "The default world recorded with measurement bias: once known, "
                 "black perpetrators' non-serious incidents are recorded more often (true risk "
                 "unchanged).", bias_group="black", bias_rate=0.3),
    )
}


def get_scenario(name: str, bias_group: str | None = None,
                 bias_rate: float | None = None) -> Scenario:
    """Look a scenario up by name; explicit bias options override the scenario's."""
    try:
        sc = SCENARIOS[name]
    except KeyError:
        raise UserError(f"option --scenario: rule known_scenario: {name!r} is not one of "
                        f"{', '.join(SCENARIOS)}") from None
    if bias_group is not None:
        sc = replace(sc, bias_group=bias_group)
    if bias_rate is not None:
        sc = replace(sc, bias_rate=bias_rate)
    return sc
