"""Warning markers in force at T and referrals known at T.

Why: a suicide/self-harm marker is 3-5x more common among deadly offenders (Bridger et al. 2017);
firearms access raises femicide risk (Campbell et al. 2003). Every marker kind of the contract is
offered. Referrals are agencies' *responses* to risk (MARAC, MAPPA, a perpetrator programme):
catalogue direction 0 and role ``response``. A marker counts while ``recorded_at < T`` and it has
not expired (``expires_at > T`` or none); referrals of the person as perpetrator count by
``referred_at < T``; MARAC referrals (made for victims) count once each for the victims of the
person's domestic incidents, when both are known at T.
"""

from riskcohort.features.spec import Active, Count, Distinct

MARKERS = ("mental_health", "suicide_self_harm", "drugs", "alcohol", "firearms_access",
           "weapons", "violence", "other")
REFERRALS = ("mappa", "mental_health", "perpetrator_programme", "other")

SPECS = (
    *(Active(f"marker_{k}", "markers", (("marker_kind", (k,)),)) for k in MARKERS),
    # MARAC discusses victims: count distinct MARAC referrals of this person's DA victims
    Distinct("referral_marac", "victim_referrals", (("referral_kind", ("marac",)),),
             column="record_id"),
    *(
        Count(f"referral_{k}", "referrals", (("role", ("perpetrator",)), ("referral_kind", (k,))))
        for k in REFERRALS
    ),
)
