"""One team, whatever a source calls it: openfootball's "Arsenal FC", football-data.org's
"Arsenal FC" (ARS), API-Football's "Arsenal"; "Korea Republic" and "South Korea".

`team_key` reduces a name to what identifies the team: folded (case, accents), club affixes
at either end dropped (FC, AFC, CF, SC ...), then a short table of the names that differ by
more than that. `fifa_code` gives a national team's FIFA code, which the store already
matches on, so a feed that sends no codes (API-Football's fixtures) still lands on the
team another source created. Women's and youth sides ("Brazil W", "England U21") are
other teams and keep their own keys.
"""

from __future__ import annotations

from feeds.model import fold

_AFFIXES = frozenset(
    "fc afc cf sc ac as fk sk cd sv kv ssc club calcio ca cr ec sl if bk 1".split()
)

_ALIASES: dict[str, str] = {
    # national teams
    "korea-republic": "south-korea", "republic-of-korea": "south-korea",
    "korea-dpr": "north-korea", "dpr-korea": "north-korea",
    "united-states": "usa", "united-states-of-america": "usa", "us": "usa",
    "ir-iran": "iran", "cote-d-ivoire": "ivory-coast", "turkiye": "turkey",
    "czechia": "czech-republic", "bosnia-and-herzegovina": "bosnia-herzegovina",
    "cape-verde-islands": "cape-verde", "cabo-verde": "cape-verde",
    "dr-congo": "congo-dr", "democratic-republic-of-congo": "congo-dr",
    "fyr-macedonia": "north-macedonia", "china-pr": "china",
    # clubs whose short names are more than their long ones minus an affix
    "wolves": "wolverhampton-wanderers", "spurs": "tottenham-hotspur",
    "tottenham": "tottenham-hotspur", "brighton": "brighton-hove-albion",
    "brighton-and-hove-albion": "brighton-hove-albion", "west-ham": "west-ham-united",
    "newcastle": "newcastle-united", "leicester": "leicester-city",
    "ipswich": "ipswich-town", "man-united": "manchester-united",
    "man-utd": "manchester-united", "manchester-utd": "manchester-united",
    "man-city": "manchester-city", "nottm-forest": "nottingham-forest",
    "leeds": "leeds-united", "sheffield-utd": "sheffield-united",
    "bayern-munchen": "bayern-munich", "psg": "paris-saint-germain",
    "internazionale": "inter", "internazionale-milano": "inter", "inter-milan": "inter",
}  # fmt: skip

_FIFA: dict[str, str] = {
    "algeria": "ALG", "argentina": "ARG", "australia": "AUS", "austria": "AUT",
    "belgium": "BEL", "bolivia": "BOL", "bosnia-herzegovina": "BIH", "brazil": "BRA",
    "cameroon": "CMR", "canada": "CAN", "cape-verde": "CPV", "chile": "CHI", "china": "CHN",
    "colombia": "COL", "congo-dr": "COD", "costa-rica": "CRC", "croatia": "CRO",
    "curacao": "CUW", "czech-republic": "CZE", "denmark": "DEN", "ecuador": "ECU",
    "egypt": "EGY", "england": "ENG", "france": "FRA", "germany": "GER", "ghana": "GHA",
    "greece": "GRE", "haiti": "HAI", "hungary": "HUN", "iceland": "ISL", "iran": "IRN",
    "iraq": "IRQ", "ireland": "IRL", "italy": "ITA", "ivory-coast": "CIV", "jamaica": "JAM",
    "japan": "JPN", "jordan": "JOR", "mali": "MLI", "mexico": "MEX", "morocco": "MAR",
    "netherlands": "NED", "new-zealand": "NZL", "nigeria": "NGA", "north-korea": "PRK",
    "north-macedonia": "MKD", "northern-ireland": "NIR", "norway": "NOR", "panama": "PAN",
    "paraguay": "PAR", "peru": "PER", "poland": "POL", "portugal": "POR", "qatar": "QAT",
    "romania": "ROU", "russia": "RUS", "saudi-arabia": "KSA", "scotland": "SCO",
    "senegal": "SEN", "serbia": "SRB", "slovakia": "SVK", "slovenia": "SVN",
    "south-africa": "RSA", "south-korea": "KOR", "spain": "ESP", "sweden": "SWE",
    "switzerland": "SUI", "tunisia": "TUN", "turkey": "TUR", "ukraine": "UKR",
    "uruguay": "URU", "usa": "USA", "uzbekistan": "UZB", "venezuela": "VEN", "wales": "WAL",
}  # fmt: skip


def team_key(name: str) -> str:
    """What identifies a team across sources: "Arsenal FC" and "Arsenal" -> "arsenal"."""
    words = fold(name).split("-")
    while len(words) > 1 and words[0] in _AFFIXES:
        words.pop(0)
    while len(words) > 1 and words[-1] in _AFFIXES:
        words.pop()
    key = "-".join(words)
    return _ALIASES.get(key, key)


def fifa_code(name: str) -> str | None:
    """A senior men's national team's FIFA code ("South Korea" -> "KOR"), else None."""
    return _FIFA.get(team_key(name))
