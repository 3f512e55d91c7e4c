"""Cities of Ukraine as the team's channels write them, in Ukrainian, Russian and English:
"Київ", "у Києві", "в Киеве", "Kyiv", "Kyiv's" are one place.

Grouping needs this where words and a small model do not reach: "Death toll rises to 4
in Kyiv" and "в Киеве … пятая жертва ночного обстрела" share no word (the stems differ
by language and case) and score only 0.82 on meaning. Regions are not their cities
("Київщина", "Харківська область", "Odesa Oblast" name wider areas) and are not matched.
Pure code; a short list of the cities most reported, not a gazetteer.
"""

from __future__ import annotations

import re

# place -> stems (lowercase, apostrophes as '), each followed by at most a case ending.
CITIES: dict[str, tuple[str, ...]] = {
    "kyiv": ("київ", "києв", "киев", "kyiv", "kiev"),
    "kharkiv": ("харків", "харков", "харьков", "kharkiv", "kharkov"),
    "odesa": ("одеса", "одесі", "одесу", "одесою", "одесса", "одессе", "одессы", "одессу",
              "одессой", "odesa", "odessa"),
    "dnipro": ("дніпр", "днепр", "dnipro", "dnepr"),
    "lviv": ("львів", "львов", "lviv", "lvov"),
    "zaporizhzhia": ("запоріжж", "запорож", "zaporizhzh", "zaporozh"),
    "kherson": ("херсон", "kherson"),
    "mykolaiv": ("миколаїв", "миколаєв", "николаев", "mykolaiv", "nikolaev"),
    "sumy": ("суми", "сумах", "сумам", "сумы", "sumy"),
    "chernihiv": ("чернігів", "чернігов", "чернигов", "chernihiv", "chernigov"),
    "poltava": ("полтав", "poltava"),
    "zhytomyr": ("житомир", "zhytomyr"),
    "vinnytsia": ("вінниц", "винниц", "vinnyts"),
    "ternopil": ("тернопіл", "тернопол", "ternopil"),
    "cherkasy": ("черкас", "cherkasy"),
    "kramatorsk": ("краматорськ", "краматорск", "kramatorsk"),
    "sloviansk": ("слов'янськ", "славянск", "sloviansk"),
    "kryvyi_rih": ("кривий ріг", "кривого рогу", "кривому розі", "кривой рог", "кривого рога",
                   "кривом роге", "kryvyi rih"),
    "bila_tserkva": ("біла церква", "білій церкві", "білої церкви", "белая церковь",
                     "белой церкви", "bila tserkva"),
    "nikopol": ("нікопол", "никопол", "nikopol"),
    "pavlohrad": ("павлоград", "pavlohrad"),
    "kupiansk": ("куп'янськ", "купянск", "kupiansk"),
    "izium": ("ізюм", "изюм", "izium"),
    "kostiantynivka": ("костянтинівк", "константиновк", "kostiantynivka"),
    "pokrovsk": ("покровськ", "покровск", "pokrovsk"),
    "chernivtsi": ("чернівц", "черновц", "chernivtsi"),
    "lutsk": ("луцьк", "луцк", "lutsk"),
    "rivne": ("рівне", "рівному", "рівного", "rivne"),
    "uzhhorod": ("ужгород", "uzhhorod"),
    "ivano_frankivsk": ("івано-франківськ", "ивано-франковск", "ivano-frankivsk"),
    "khmelnytskyi": ("хмельницьк", "хмельницк", "khmelnytskyi"),
    "kropyvnytskyi": ("кропивницьк", "кропивницк", "kropyvnytskyi"),
}  # fmt: skip
REGION_TAIL = r"(?:щин|щи|ськ|ск|shchyn|sk|\s+oblast|\s+region|\s+област|\s+обл)"
"""What turns a city into its region: "Київщина", "Київська", "Киевской", "Kyiv Oblast"."""
NOT_THE_CITY = r"(?:\s+(?:independent|post|school|pride|digital))"
"""Names that start with a city and are not about it: "the Kyiv Independent reported"."""
APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'"})


def _pattern(stems: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
    # A stem, not inside a longer word, then at most a case ending, not the region's tail.
    return re.compile(
        rf"(?<![\w'-])(?:{alternatives})(?!\w*{REGION_TAIL})\w{{0,3}}(?!\w)(?!{NOT_THE_CITY})"
    )


PATTERNS = {place: _pattern(stems) for place, stems in CITIES.items()}


def places_named(text: str) -> list[str]:
    """The cities a text names (keys of CITIES), in the order it first names them: the
    first is what a headline is about ("удары по Харькову, Запорожью и Одессе")."""
    folded = text.lower().translate(APOSTROPHES)
    found = []
    for place, pattern in PATTERNS.items():
        if (match := pattern.search(folded)) is not None:
            found.append((match.start(), place))
    return [place for _, place in sorted(found)]
