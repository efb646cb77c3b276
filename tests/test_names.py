"""Names as fans write them, asked of the real bot: every 2018 team in German, French,
Spanish, Portuguese, Dutch, Japanese and Korean, by flag, and "A v B" as that match."""

from __future__ import annotations

import pytest
from babel import Locale

from handlers.countries import territory_of
from storage.store import Store
from tests.conftest import ask, plain_text, world_cup

TEAMS = sorted({m.home.name for m in world_cup() if m.group})
LANGUAGES = ("de", "fr", "es", "pt", "nl", "ja", "ko")
# Written out here as a fan would type them, independent of the bot's own lookups.
BY_HAND = {
    "Deutschland": "Germany", "Allemagne": "Germany", "Alemania": "Germany",
    "Alemanha": "Germany", "Duitsland": "Germany", "ドイツ": "Germany", "독일": "Germany",
    "Brasil": "Brazil", "Brésil": "Brazil", "Brazilië": "Brazil", "ブラジル": "Brazil",
    "브라질": "Brazil", "Belgien": "Belgium", "Belgique": "Belgium", "België": "Belgium",
    "Bélgica": "Belgium", "ベルギー": "Belgium", "벨기에": "Belgium", "Südkorea": "South Korea",
    "Corée du Sud": "South Korea", "Corea del Sur": "South Korea", "韓国": "South Korea",
    "대한민국": "South Korea", "Korea Republic": "South Korea", "IR Iran": "Iran",
    "Espagne": "Spain", "España": "Spain", "Spanien": "Spain", "スペイン": "Spain",
    "Suisse": "Switzerland", "Schweiz": "Switzerland", "Zwitserland": "Switzerland",
    "Marokko": "Morocco", "Marrocos": "Morocco", "Arabie saoudite": "Saudi Arabia",
    "Croácia": "Croatia", "Kroatië": "Croatia", "クロアチア": "Croatia", "日本": "Japan",
    "일본": "Japan", "Japon": "Japan", "Japón": "Japan", "Japão": "Japan",
}  # fmt: skip
FLAGS = {
    "🇧🇪": "Belgium", "🇯🇵": "Japan", "🇩🇪": "Germany", "🇰🇷": "South Korea",
    "🇧🇷": "Brazil", "🇭🇷": "Croatia", "🇸🇦": "Saudi Arabia",
    "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f": "England",
}  # fmt: skip


async def _team_answered(store: Store, name: str) -> str:
    text = plain_text((await ask(store, f"/score {name}")).text)
    return text.splitlines()[0]


@pytest.mark.parametrize(("typed", "team"), sorted(BY_HAND.items()))
async def test_names_fans_type(store: Store, typed: str, team: str) -> None:
    assert team in await _team_answered(store, typed)


async def test_every_2018_team_in_seven_languages(store: Store) -> None:
    """England is no CLDR territory (a part of GB): its names in other languages are not
    known, only its own and its flag."""
    asked = 0
    for team in TEAMS:
        territory = territory_of(team)
        if team == "England":
            assert territory is None
            continue
        assert territory is not None, team
        for language in LANGUAGES:
            name = Locale.parse(language).territories[territory]
            assert team in await _team_answered(store, name), (team, language, name)
            asked += 1
    assert asked == 31 * 7


@pytest.mark.parametrize(("flag", "team"), sorted(FLAGS.items()))
async def test_flags(store: Store, flag: str, team: str) -> None:
    assert team in await _team_answered(store, flag)


@pytest.mark.parametrize("typed", ["Belgium v Japan", "Japan vs Belgium", "BEL - JPN",
                                   "Belgique v 日本", "🇧🇪 v 🇯🇵"])  # fmt: skip
async def test_a_v_b_means_that_match(store: Store, typed: str) -> None:
    assert await _team_answered(store, typed) == "Belgium 3–2 Japan"
    text = plain_text((await ask(store, f"/scorers {typed}")).text)
    assert "Chadli 90+4'" in text


async def test_a_v_b_that_never_happened_says_so(store: Store) -> None:
    text = plain_text((await ask(store, "/score Belgium v Brazil")).text)
    assert text.startswith("Belgium and Brazil have not played each other yet.")
    assert "Brazil v Belgium" in text  # the quarter-final to come
    nxt = plain_text((await ask(store, "/next Belgium v Brazil")).text)
    assert nxt.startswith("Brazil v Belgium")


@pytest.mark.parametrize("typed", ["Netherlands", "USA", "Nederland", "Italia"])
async def test_no_wild_suggestions_for_teams_not_in_the_tournament(
    store: Store, typed: str
) -> None:
    reply = await ask(store, f"/score {typed}")
    assert reply.buttons == (), [b.label for row in reply.buttons for b in row]
    assert "I don't know a team called" in plain_text(reply.text)


TYPOS = [("belgum", "Belgium"), ("swizerland", "Switzerland"), ("argentia", "Argentina"),
         ("bel", "Belgium")]  # fmt: skip


@pytest.mark.parametrize(("typed", "team"), TYPOS)
async def test_typos_and_prefixes_still_work(store: Store, typed: str, team: str) -> None:
    assert team in await _team_answered(store, typed)


async def test_any_locale(store: Store) -> None:
    """Beyond the fluent languages, every CLDR locale's exact name (loaded the first time a
    name is not found among the fluent ones): Welsh, Icelandic, Swahili."""
    for typed in ("Gwlad Belg", "Belgía", "Ubelgiji"):
        assert "Belgium" in await _team_answered(store, typed), typed
