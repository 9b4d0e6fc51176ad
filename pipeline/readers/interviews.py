"""Metadata from an interview heading such as
"Intervju med <namn>, verksamhetsledare i samordningsteamet Surahammar 2019-04-26" or
"Intervju med kvinnlig deltagare nr 2 i Hallstahammar 2019-06-18".

Gives: date (ISO), participant (ja/nej), role, organisation, site, gender (participants),
number of people interviewed. Person names found in the heading are returned separately, for
pseudonymisation; they never become attributes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MONTHS = {m: i for i, m in enumerate(
    "januari februari mars april maj juni juli augusti september oktober november december".split(), 1)}
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
DOT_DATE = re.compile(r"(?<!\d)(\d{4})[./](\d{1,2})[./](\d{1,2})(?!\d)")
SV_DATE = re.compile(r"(?<!\d)(\d{1,2})\s+(" + "|".join(MONTHS) + r")\s+(\d{4})", re.I)
NAME_TOKEN = re.compile(r"^[A-ZÅÄÖÉ][a-zåäöéüæøá]+(?:-[A-ZÅÄÖ][a-zåäöéüæøá]+)?$")
ORG_SUFFIX = re.compile(
    r"(kassan|förmedlingen|förbund(et)?|teamet|centrum|center|cent(e)?r|psykiatri(n)?|nämnd(en)?|"
    r"kommun|regionen|förvaltningen|tjänsten|enheten|mottagningen)$", re.I)
ORG_WORDS = {"Region", "Försäkringskassan", "Arbetsförmedlingen", "Samordningsteamet", "Samordningsteam", "Samordningsförbundet",
             "Jobbcentrum", "Jobbcenter", "Arbetscenter", "Vuxenpsykiatri", "Socialnämnden", "Kommunen"}
DIRECTION = {"Norra", "Södra", "Östra", "Västra"}
KOMMUN_HEADING = re.compile(r"\bI\s+([A-ZÅÄÖ][\w-]+?)S?\s+KOMMUN\b", re.I)


@dataclass
class HeadingMeta:
    attributes: dict[str, str] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)


def parse_date(text: str) -> tuple[str | None, str]:
    """(ISO date or None, text with the date removed)."""
    for rx, order in ((ISO_DATE, "ymd"), (DOT_DATE, "ymd"), (SV_DATE, "dmy")):
        m = rx.search(text)
        if not m:
            continue
        if order == "ymd":
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            d, mo, y = int(m.group(1)), MONTHS[m.group(2).lower()], int(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}", (text[:m.start()] + text[m.end():])
    return None, text


def _is_org(token: str) -> bool:
    return token in ORG_WORDS or bool(ORG_SUFFIX.search(token))


def _site(rest: str, ancestors: list[str]) -> str | None:
    for m in re.finditer(r"\bi\s+(?:[Ss]amordningsteam(?:et)?\s+)?((?:Region\s+)?[A-ZÅÄÖ][\w-]+)", rest):
        cand = m.group(1)
        if cand.startswith("Region ") or not (_is_org(cand) or cand in DIRECTION):
            return cand
    for heading in reversed(ancestors):
        m = KOMMUN_HEADING.search(heading)
        if m:
            return m.group(1).capitalize()
    m = re.search(r"\bRegion\s+[A-ZÅÄÖ][\w-]+", rest)
    if m:
        return m.group(0)
    for part in rest.split(","):
        part = part.strip()
        if NAME_TOKEN.match(part) and not _is_org(part):
            return part   # "deltagare 3, Surahammar,"
    return None


def parse_heading(title: str, ancestors: list[str], cfg: dict) -> HeadingMeta:
    rest = re.sub(cfg["heading"], "", title, count=1).strip()
    date, rest = parse_date(rest)
    rest = re.sub(r"\s+", " ", rest).strip(" ,.")
    meta = HeadingMeta()
    a = meta.attributes
    if date:
        a["date"] = date
    participant = bool(re.search(cfg["participant"], rest))
    a["participant"] = "ja" if participant else "nej"
    site = _site(rest, ancestors)
    if site:
        a["site"] = site
    if participant:
        a["role"] = "deltagare"
        a["n_interviewees"] = "1"
        if re.search(r"(?i)\bkvinnlig|\bkvinna", rest):
            a["gender"] = "kvinna"
        elif re.search(r"(?i)\bmanlig|\bman\b", rest):
            a["gender"] = "man"
        return meta

    chunks = re.split(r",?\s+och\s+(?=[A-ZÅÄÖ])", rest)
    roles: list[str] = []
    orgs: list[str] = []
    for chunk in chunks:
        tokens = chunk.replace(",", " , ").split()
        name: list[str] = []
        k = 0
        while k < len(tokens) and len(name) < 3 and NAME_TOKEN.match(tokens[k]) and not _is_org(tokens[k]):
            name.append(tokens[k])
            k += 1
        if name:
            meta.names.append(" ".join(name))
        remainder = " ".join(tokens[k:]).replace(" , ", ", ").strip(" ,")
        if not remainder:
            continue
        first = remainder.split(",")[0].strip()
        if first[:1].isupper():            # "Försäkringskassan", "Vuxenpsykiatri, Region ..."
            orgs.append(re.split(r"\s+i\s+", first)[0])
        else:
            role = re.split(r"\s+(?:i|för|inom|hos|på|vid)\s+", first)[0].strip()
            roles.append(role)
            m = re.search(r"\b(?:för|inom|hos|på|vid)\s+((?:[A-ZÅÄÖ][\w-]*\s?)+)", first)
            if m and _is_org(m.group(1).split()[0]):
                orgs.append(m.group(1).strip())
    a["n_interviewees"] = str(max(1, len(chunks)))
    if roles:
        a["role"] = "; ".join(dict.fromkeys(roles))
    if orgs:
        a["organisation"] = "; ".join(dict.fromkeys(orgs))
    return meta
