"""The same team from openfootball, football-data.org and API-Football is one team."""

from __future__ import annotations

import pytest

from feeds.teams import fifa_code, team_key


@pytest.mark.parametrize(
    "names",
    [
        ("Arsenal FC", "Arsenal"),
        ("AFC Bournemouth", "Bournemouth"),
        ("Brighton & Hove Albion FC", "Brighton"),
        ("Wolverhampton Wanderers FC", "Wolves"),
        ("Tottenham Hotspur FC", "Tottenham"),
        ("Manchester United FC", "Manchester United", "Man Utd"),
        ("Korea Republic", "South Korea"),
        ("Côte d'Ivoire", "Ivory Coast", "COTE D IVOIRE"),
        ("United States", "USA"),
        ("Türkiye", "Turkey"),
        ("1. FC Köln", "Koln"),
    ],
)
def test_names_of_one_team_share_a_key(names: tuple[str, ...]) -> None:
    assert len({team_key(n) for n in names}) == 1


def test_other_teams_keep_their_own_keys() -> None:
    assert team_key("Brazil W") != team_key("Brazil")
    assert team_key("England U21") != team_key("England")
    assert team_key("Manchester City") != team_key("Manchester United")
    assert team_key("FC") == "fc"  # a name that is only an affix stays a name


def test_national_teams_get_fifa_codes_clubs_do_not() -> None:
    assert fifa_code("South Korea") == fifa_code("Korea Republic") == "KOR"
    assert fifa_code("Iran") == "IRN" and fifa_code("Saudi Arabia") == "KSA"
    assert fifa_code("Arsenal") is None and fifa_code("Brazil W") is None
