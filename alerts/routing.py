"""Routing file: region code -> supervisors; unknown regions go to the fallback (with a warning).

`regions` keys are county codes (the county view: every issue in the county) or town codes (a
town with its own supervisor gets a digest of its own town), written as 6 / 9 digits or as the
contract's 12-digit codes (`622921000000` is county 622921, `622921103000` town 622921103).
A value is a list of recipients, or a mapping `{always_send, recipients, wecom_webhook_env,
dingtalk_webhook_env, dingtalk_secret_env}`: the robot keys name environment variables holding
a group robot's webhook URL (and DingTalk's signing secret), never the secret itself. Each
recipient gets exactly one digest per run covering every region they are named for; each
region with robots gets one card per robot.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import CONFIG
from core.yaml_file import read_yaml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


@dataclass(frozen=True)
class Robot:
    """A group robot: kind 'wecom' or 'dingtalk'; env names of its webhook URL and secret."""
    kind: str
    webhook_env: str
    secret_env: str | None = None

    @property
    def label(self) -> str:          # what logs and results show: never the URL or the secret
        return f"{self.kind}:{self.webhook_env}"


def region_key(code: str) -> str:
    """A county or town code as 6 / 9 digits, whatever length it was written in: the contract's
    12-digit codes pad a county with 000000 and a town with 000."""
    code = str(code or "").strip()
    if len(code) == 12 and code.isdigit():
        if code[6:] == "000000":
            return code[:6]
        if code[9:] == "000":
            return code[:9]
    return code


def county_of(issue: dict) -> str:
    return region_key(issue.get("county_code") or "")[:6]


def town_of(issue: dict) -> str:
    return region_key(issue.get("town_code") or "")[:9]


@dataclass
class Audience:
    """One recipient (or one region's group robots) and everything they should see in one digest."""
    recipient: Recipient
    counties: set[str] = field(default_factory=set)
    towns: set[str] = field(default_factory=set)
    unrouted: bool = False          # the fallback: every issue whose county has no entry
    always_send: bool = False
    robot: Robot | None = None      # a group robot: it gets a card instead of an e-mail

    @property
    def key(self) -> str:
        if self.robot:
            return f"robot:{self.robot.kind}:" + ",".join(sorted(self.counties | self.towns))
        return f"recipient:{self.recipient.email.lower()}"

    def covers(self, issue: dict, routed_counties: set[str]) -> bool:
        county = county_of(issue)
        return (county in self.counties or town_of(issue) in self.towns
                or (self.unrouted and county not in routed_counties))


@dataclass(frozen=True)
class Routing:
    regions: dict[str, list[Recipient]]
    fallback: Recipient
    engineers: list[Recipient]
    sender: Recipient
    always_send: bool = False
    region_always_send: dict[str, bool] = field(default_factory=dict)
    region_robots: dict[str, list[Robot]] = field(default_factory=dict)

    @property
    def counties(self) -> set[str]:
        """Counties someone receives; an entry without recipients does not count."""
        return {c for c, people in self.regions.items() if len(c) == 6 and people}

    def audiences(self, issues: list[dict]) -> list[Audience]:
        """One audience per recipient address. Counties with issues but no entry go to the
        fallback, with a warning naming them: an alert is never dropped silently."""
        by_email: dict[str, Audience] = {}

        def get(r: Recipient) -> Audience:
            a = by_email.setdefault(r.email.lower(), Audience(r))
            return a

        for code, people in self.regions.items():
            for r in people:
                a = get(r)
                (a.counties if len(code) == 6 else a.towns).add(code)
                a.always_send |= self.region_always_send.get(code, self.always_send)
        fb = get(self.fallback)
        fb.unrouted = True
        fb.always_send |= self.always_send
        out = list(by_email.values())
        for code, robots in sorted(self.region_robots.items()):
            for robot in robots:      # one audience each: its own send-once record and baseline
                out.append(Audience(Recipient(name=f"群机器人（{code}）", email=""),
                                    counties={code} if len(code) == 6 else set(),
                                    towns={code} if len(code) == 9 else set(),
                                    always_send=self.region_always_send.get(code, self.always_send),
                                    robot=robot))
        unrouted = self.unrouted_counties(issues)
        for county in unrouted:
            n = sum(1 for i in issues if county_of(i) == county)
            log.warning("区划 %s 在路由文件中没有县级收件人，其 %s 条问题改发兜底收件人 %s",
                        county or "（无区划）", n, self.fallback.email)
        return out

    def unrouted_counties(self, issues: list[dict]) -> list[str]:
        return sorted({county_of(i) for i in issues} - self.counties)


DEFAULT_ROUTING = CONFIG / "routing.yml"


def load_routing(path: Path = DEFAULT_ROUTING) -> Routing:
    """config/routing.yml, or the file Settings.routing_file names (ALERT_ROUTING_FILE)."""
    data = read_yaml(path or DEFAULT_ROUTING)
    rec = lambda d: Recipient(name=str(d["name"]), email=str(d["email"]).strip())
    regions, flags, robots = {}, {}, {}
    for raw_code, value in (data.get("regions") or {}).items():
        code = region_key(raw_code)
        if len(code) not in (6, 9) or not code.isdigit():
            raise ValueError("路由文件中的区划代码必须是县或乡镇代码（6 位、9 位，或 12 位统计用区划代码，"
                             f"县以 000000 结尾、乡镇以 000 结尾）：{raw_code!r}")
        if code in regions:
            raise ValueError(f"路由文件中区划 {raw_code!r} 与另一条目是同一地区（{code}）")
        if isinstance(value, dict):
            if "always_send" in value:
                flags[code] = bool(value["always_send"])
            if _robots(value):
                robots[code] = _robots(value)
            value = value.get("recipients") or []
        regions[code] = [rec(r) for r in value or []]
        if not regions[code] and code not in robots:
            log.warning("路由文件中区划 %s 没有收件人，其问题将发给兜底收件人", code)
    return Routing(
        regions=regions,
        fallback=rec(data["fallback"]),
        engineers=[rec(r) for r in data.get("engineers") or []],
        sender=rec(data.get("sender") or data["fallback"]),
        always_send=bool(data.get("always_send", False)),
        region_always_send=flags,
        region_robots=robots,
    )


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _robots(entry: dict) -> list[Robot]:
    """The group robots of one region entry. Only names of environment variables are allowed:
    a webhook URL carries its own credential (WeCom's key, DingTalk's access_token)."""
    for literal in ("wecom_webhook", "dingtalk_webhook", "dingtalk_secret"):
        if literal in entry:
            raise ValueError(f"路由文件不能直接写机器人地址或密钥（{literal}）；请写环境变量名（{literal}_env）")
    out = []
    for kind in ("wecom", "dingtalk"):
        env = entry.get(f"{kind}_webhook_env")
        if not env:
            continue
        secret = entry.get("dingtalk_secret_env") if kind == "dingtalk" else None
        for name in filter(None, (env, secret)):
            if not _ENV_NAME.match(str(name)):
                raise ValueError(f"路由文件中的环境变量名不合法：{name!r}")
        out.append(Robot(kind, str(env), str(secret) if secret else None))
    return out
