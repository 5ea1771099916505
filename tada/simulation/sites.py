"""The simulated platforms and web hosts: fictional names under the reserved .test TLD.

Each site is served from its own loopback address (127.0.0.2, 127.0.0.3, ...): the
platform registry matches links by host, so one address per site is what lets the
registry tell them apart. Sites whose escalation goes to the web host have a
host name that the simulation's DNS server resolves to an address in a hosting
provider's block; those addresses are only ever looked up at the simulation's
RDAP server, never connected to.
"""

from __future__ import annotations

from pydantic import BaseModel

from tada.domain.states import Category, Channel, Escalation

C = Category

#: How a removed page looks to a liveness check.
GONE_404, GONE_410, GONE_SOFT, GONE_HOME = "404", "410", "soft", "home"
REMOVED_MARKER = "This content has been removed"


class Provider(BaseModel):
    name: str
    domain: str  # abuse@<domain> is its abuse desk
    network: str  # the address block RDAP gives it

    @property
    def abuse_email(self) -> str:
        return f"abuse@{self.domain}"


PROVIDERS = [
    Provider(name="Shadowhost LLC (simulated)", domain="shadowhost.test", network="45.86.0.0/16"),
    Provider(name="Offshore Layer Inc (simulated)", domain="offshorelayer.test", network="46.19.0.0/16"),
    Provider(name="Nordic Cloud AB (simulated)", domain="nordiccloud.test", network="5.56.0.0/16"),
    Provider(name="Pacific Hosting Ltd (simulated)", domain="pacifichosting.test", network="77.93.0.0/16"),
]
REGISTRAR = Provider(name="Example Names Registrar (simulated)", domain="registrar.test", network="0.0.0.0/32")


class Site(BaseModel):
    """One simulated platform."""

    name: str
    category: Category
    slug: str  # www.<slug>.test
    channel: Channel  # email or form (no manual channel: nobody files by hand in the simulation)
    escalation: Escalation
    escalation_email: str | None = None  # admin escalations: the channel admins' address
    language: str | None = None
    path_prefix: str
    gone_styles: list[str]
    provider: Provider | None = None
    weight: float = 1.0  # share of its category's links
    address: str = ""  # 127.0.0.N, assigned when the world is planned
    port: int = 0  # assigned when its server starts
    public_address: str | None = None  # what DNS answers for hostname (escalation to host only)

    @property
    def hostname(self) -> str:
        return f"www.{self.slug}.test"

    @property
    def email(self) -> str:
        return f"abuse@{self.slug}.test"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def form_url(self) -> str:
        return f"{self.base_url}/report"


def _sites(category: Category, count: int, stem: str, slug: str, prefix: str, **fields) -> list[Site]:
    return [
        Site(name=f"{stem} {n:02d} (simulated)", category=category, slug=f"{slug}{n:02d}", path_prefix=prefix,
             weight=1.0 / n, **{key: (value(n) if callable(value) else value) for key, value in fields.items()})
        for n in range(1, count + 1)
    ]  # fmt: skip


def site_catalogue() -> list[Site]:
    """Every simulated platform, each category represented; the biggest site of a category first."""
    email_or_form = lambda n: Channel.EMAIL if n % 2 else Channel.FORM  # noqa: E731
    return [
        *_sites(C.PORNOGRAPHIC_SITE, 10, "Tube", "tube", "/video/", channel=email_or_form,
                escalation=Escalation.HOST, gone_styles=[GONE_404, GONE_HOME, GONE_SOFT]),
        Site(name="Chatgram (simulated)", category=C.SOCIAL_MEDIA, slug="chatgram", channel=Channel.EMAIL,
             escalation=Escalation.ADMIN, escalation_email="channel-admins@chatgram.test", path_prefix="/c/",
             gone_styles=[GONE_SOFT], weight=1.2),
        Site(name="Facespace (simulated)", category=C.SOCIAL_MEDIA, slug="facespace", channel=Channel.FORM,
             escalation=Escalation.NONE, path_prefix="/posts/", gone_styles=[GONE_SOFT, GONE_404], weight=0.8),
        Site(name="Instapic (simulated)", category=C.SOCIAL_MEDIA, slug="instapic", channel=Channel.FORM,
             escalation=Escalation.NONE, path_prefix="/p/", gone_styles=[GONE_404], weight=0.6),
        Site(name="HK Forum (simulated)", category=C.SOCIAL_MEDIA, slug="hkforum", channel=Channel.EMAIL,
             escalation=Escalation.NONE, language="zh-Hant", path_prefix="/thread/", gone_styles=[GONE_HOME],
             weight=0.4),
        Site(name="Seeker Search (simulated)", category=C.SEARCH_ENGINE, slug="seeker", channel=Channel.FORM,
             escalation=Escalation.NONE, path_prefix="/result/", gone_styles=[GONE_404], weight=2.0),
        Site(name="Findr (simulated)", category=C.SEARCH_ENGINE, slug="findr", channel=Channel.EMAIL,
             escalation=Escalation.NONE, path_prefix="/r/", gone_styles=[GONE_410], weight=0.5),
        *_sites(C.CONTENT_FARM, 4, "Daily Buzz", "dailybuzz", "/article/", channel=Channel.EMAIL,
                escalation=Escalation.HOST, gone_styles=[GONE_404, GONE_HOME]),
        *_sites(C.IMAGE_HOST, 3, "Pix Host", "pixhost", "/i/", channel=Channel.EMAIL,
                escalation=Escalation.HOST, gone_styles=[GONE_404, GONE_410]),
    ]  # fmt: skip
