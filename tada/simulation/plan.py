"""Planning a rehearsal world from a seed: its sites, cases and links, and each link's fate.

The plan is deterministic for a seed; what the engine then does with it is not
(timers, batching and thread scheduling vary), so figures differ a little between
runs of the same seed.
"""

from __future__ import annotations

import random
import secrets
from enum import StrEnum

from pydantic import BaseModel, Field

from tada.domain.states import Category, Escalation
from tada.simulation.behaviour import DEFAULT_BEHAVIOUR, Behaviour
from tada.simulation.sites import PROVIDERS, Site, site_catalogue


class Fate(StrEnum):
    ALREADY_GONE = "already_gone"  # dead when reported
    NOTICE = "notice"  # removed after the first notice
    FOLLOW_UP = "follow_up"  # removed after follow-up number ``follow_up``
    ESCALATION = "escalation"  # removed after the host or admin is written to
    NEVER = "never"


class PlannedLink(BaseModel):
    case: int  # index into the plan's cases
    site: int  # index into the plan's sites
    path: str
    fate: Fate
    follow_up: int = 0  # for Fate.FOLLOW_UP: removed at this follow-up
    confirms: bool = False  # the platform replies "removed"
    rejects: bool = False  # the platform replies "rejected" to the first notice
    reposted: bool = False  # comes back after removal
    repost_removed: bool = True  # the repost is removed after its notice
    gone_style: str = "404"


class Plan(BaseModel):
    seed: int
    sites: list[Site]
    cases: int
    links: list[PlannedLink] = Field(default_factory=list)


def _weighted(rng: random.Random, weights: list[float]) -> int:
    return rng.choices(range(len(weights)), weights=weights, k=1)[0]


def _case_sizes(rng: random.Random, cases: int, links: int) -> list[int]:
    """Every case has a link; the rest fall unevenly (a few cases hold many links, as in practice)."""
    weights = [rng.lognormvariate(0, 1.2) for _ in range(cases)]
    sizes = [1] * cases
    for _ in range(links - cases):
        sizes[_weighted(rng, weights)] += 1
    return sizes


def _fate(rng: random.Random, b: Behaviour, site: Site) -> tuple[Fate, int]:
    roll = rng.random()
    if roll < b.already_gone:
        return Fate.ALREADY_GONE, 0
    if roll >= b.removal:
        return Fate.NEVER, 0
    step = _weighted(rng, [b.at_notice, b.at_follow_up, b.at_escalation])
    if step == 2 and site.escalation == Escalation.NONE:
        step = 1  # nobody above the platform: it gives in at a follow-up instead
    if step == 0:
        return Fate.NOTICE, 0
    if step == 1:
        return Fate.FOLLOW_UP, 1 if rng.random() < 0.7 else 2
    return Fate.ESCALATION, 0


def plan_world(
    cases: int,
    links: int,
    seed: int,
    *,
    behaviour: dict[Category, Behaviour] | None = None,
    follow_ups: int = 2,
) -> Plan:
    if cases < 1 or links < cases:
        raise ValueError("need at least one case and at least as many links as cases")
    behaviour = behaviour or DEFAULT_BEHAVIOUR
    rng = random.Random(seed)
    sites = site_catalogue()
    for number, site in enumerate(sites, start=2):  # 127.0.0.1 stays for the SMTP, DNS and RDAP servers
        site.address = f"127.0.0.{number}"
    for index, site in enumerate(s for s in sites if s.escalation == Escalation.HOST):
        provider = PROVIDERS[index % len(PROVIDERS)]
        site.provider = provider
        network = provider.network.split("/")[0].rsplit(".", 2)[0]
        site.public_address = f"{network}.{10 + index}.{20 + index}"
    categories = [c for c in behaviour if any(s.category == c for s in sites)]
    by_category = {c: [i for i, s in enumerate(sites) if s.category == c] for c in categories}
    plan = Plan(seed=seed, sites=sites, cases=cases)
    tokens: set[str] = set()
    for case, size in enumerate(_case_sizes(rng, cases, links)):
        for _ in range(size):
            category = categories[_weighted(rng, [behaviour[c].share for c in categories])]
            b = behaviour[category]
            candidates = by_category[category]
            site_index = candidates[_weighted(rng, [sites[i].weight for i in candidates])]
            site = sites[site_index]
            fate, follow_up = _fate(rng, b, site)
            follow_up = min(follow_up, follow_ups)
            if fate == Fate.FOLLOW_UP and follow_up == 0:
                fate = Fate.NEVER  # the registry sends no follow-ups
            removed = fate not in (Fate.ALREADY_GONE, Fate.NEVER)
            confirms = removed and fate != Fate.ESCALATION and rng.random() < b.confirms
            token = f"{rng.getrandbits(40):010x}"
            while token in tokens:
                token = f"{rng.getrandbits(40):010x}"
            tokens.add(token)
            plan.links.append(
                PlannedLink(
                    case=case,
                    site=site_index,
                    path=f"{site.path_prefix}{token}",
                    fate=fate,
                    follow_up=follow_up,
                    confirms=confirms,
                    rejects=fate in (Fate.ESCALATION, Fate.NEVER) and rng.random() < b.rejects,
                    # A repost comes back once a liveness check has seen it gone; a removal the
                    # platform confirmed by reply is not checked until its watch, so it stays down.
                    reposted=removed and not confirms and rng.random() < b.reposted,
                    repost_removed=rng.random() < b.removal,
                    gone_style=rng.choice(site.gone_styles),
                )
            )
    return plan


def random_seed() -> int:
    return secrets.randbelow(2**31)
