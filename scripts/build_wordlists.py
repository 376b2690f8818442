"""Rebuild the Russian and Belarusian codename word lists in crypto/wordlists/.

The recipe, so anyone can check it and make the same lists again:

1. Frequency: the 60,000 most frequent Russian word forms from ``wordfreq`` (PyPI, pinned below).
   wordfreq has no Belarusian data, so a Belarusian word is ranked by the frequency of the Russian
   noun it translates.
2. Part of speech: Apertium's Russian analyser (Debian ``apertium-bel-rus``, run with
   ``lt-proc``) keeps forms whose every reading is a common noun in the nominative singular, the
   form a person would name a thing in. Proper names, abbreviations and words that are also a
   verb or an adjective ("стали", "знать") are dropped.
3. Translation: Apertium's Russian-to-Belarusian dictionary gives the Belarusian noun for each
   Russian one.
4. Spelling: each word must be accepted by Hunspell (Debian ``hunspell``, ``hunspell-ru`` and
   ``hunspell-be``, the academic Belarusian orthography).
5. Shape: 3 to 8 letters of the language's alphabet and nothing else (no hyphen, apostrophe or
   "ё" in Russian, where people often type "е" instead), so a word is quick to type on a phone.
6. Meaning: abstract nouns (suffixes such as -ость, -ние, -ство; -асць, -нне, -ства) are
   dropped so the words are things a person can picture, and so is every word that starts with
   a stem in crypto/wordlists/blocked.txt (violence, death, detention, illness, fear, weapons).
7. Prefix-free: words are taken in frequency order and a word is skipped if an earlier one is a
   prefix of it or it is a prefix of an earlier one, so no word of a codename can be mistaken for
   the start of another.
8. The most frequent ``LIST_SIZE`` words that remain, sorted alphabetically.

Run from the repository root: ``python scripts/build_wordlists.py`` (after ``apt-get install
apertium-bel-rus hunspell hunspell-ru hunspell-be`` and ``pip install wordfreq==3.1.1``). It
rewrites crypto/wordlists/ru.txt and be.txt; ``tests/crypto/test_wordlist.py`` checks every rule
on the committed files. If a step's tool is missing the script says which package to install and
writes nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LISTS = REPO / "crypto" / "wordlists"
APERTIUM = Path("/usr/share/apertium/apertium-bel-rus")
LIST_SIZE = 2560
CANDIDATE_FORMS = 60_000
MIN_LETTERS, MAX_LETTERS = 3, 8

RU_WORD = re.compile(r"[абвгдежзийклмнопрстуфхцчшщъыьэюя]+")
BE_WORD = re.compile(r"[абвгдеёжзйклмнопрстуўфхцчшыьэюяі]+")
RU_ABSTRACT = ("ость", "ение", "ание", "ство", "изм", "ция", "есть", "тель", "щик", "чик")
BE_ABSTRACT = ("асць", "нне", "ства", "ізм", "цыя", "цель", "шчык", "чык")
# One Apertium reading: ^surface/lemma<n><m><nn><sg><nom>/...$
READING = re.compile(r"/([^/<$]+)((?:<[^>]+>)+)")


def main() -> int:
    missing = _missing_tools()
    if missing:
        print(f"Install first: {', '.join(missing)}", file=sys.stderr)
        return 1
    from wordfreq import top_n_list

    forms = [form for form in top_n_list("ru", CANDIDATE_FORMS) if _fits(form, RU_WORD)]
    blocked = read_blocked_stems()
    ru_tags = _nominative_nouns(forms)
    ru_nouns = [
        noun
        for noun in ru_tags
        if not _blocked(noun, blocked) and not noun.endswith(RU_ABSTRACT)
    ]
    ru_nouns = _spelled(ru_nouns, "ru_RU")
    be_nouns = [
        noun
        for noun in _translated(ru_nouns, ru_tags)
        if _fits(noun, BE_WORD) and not _blocked(noun, blocked) and not noun.endswith(BE_ABSTRACT)
    ]
    be_nouns = _spelled(list(dict.fromkeys(be_nouns)), "be_BY")
    for language, nouns in (("ru", ru_nouns), ("be", be_nouns)):
        chosen = take_prefix_free(nouns, LIST_SIZE)
        if len(chosen) < LIST_SIZE:
            print(f"{language}: only {len(chosen)} words pass every rule", file=sys.stderr)
            return 1
        (LISTS / f"{language}.txt").write_text("\n".join(sorted(chosen)) + "\n", encoding="utf-8")
        print(f"{language}: {len(chosen)} words")
    return 0


def read_blocked_stems() -> tuple[str, ...]:
    lines = (LISTS / "blocked.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def take_prefix_free(words: list[str], size: int) -> list[str]:
    """The first ``size`` words (in the given order) such that none is a prefix of another."""
    chosen: list[str] = []
    for word in words:
        if any(word.startswith(other) or other.startswith(word) for other in chosen):
            continue
        chosen.append(word)
        if len(chosen) == size:
            break
    return chosen


def _missing_tools() -> list[str]:
    missing = []
    if shutil.which("lt-proc") is None or not APERTIUM.is_dir():
        missing.append("apertium-bel-rus (Debian)")
    if shutil.which("hunspell") is None:
        missing.append("hunspell (Debian)")
    for dictionary, package in (("ru_RU", "hunspell-ru"), ("be_BY", "hunspell-be")):
        if not Path(f"/usr/share/hunspell/{dictionary}.dic").is_file():
            missing.append(f"{package} (Debian)")
    try:
        import wordfreq  # noqa: F401
    except ImportError:
        missing.append("wordfreq==3.1.1 (PyPI)")
    return missing


def _fits(word: str, alphabet: re.Pattern[str]) -> bool:
    return MIN_LETTERS <= len(word) <= MAX_LETTERS and alphabet.fullmatch(word) is not None


def _blocked(word: str, stems: tuple[str, ...]) -> bool:
    return word.startswith(stems)


def _run(command: list[str], lines: list[str]) -> list[str]:
    done = subprocess.run(
        command, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def _nominative_nouns(forms: list[str]) -> dict[str, str]:
    """Forms whose every Apertium reading is this noun, one in the nominative, with its tags.

    The tags (part of speech, gender, animacy) are what the translation dictionary is keyed on.
    """
    analysed = _run(["lt-proc", str(APERTIUM / "rus-bel.automorf.bin")], forms)
    nouns: dict[str, str] = {}
    for form, line in zip(forms, analysed, strict=True):
        readings = READING.findall(line)
        if not readings:
            continue
        if all(lemma == form and tags.startswith("<n>") for lemma, tags in readings):
            nominative = [tags for _, tags in readings if tags.endswith("<sg><nom>")]
            if nominative:
                nouns[form] = nominative[0].removesuffix("<sg><nom>")
    return nouns


def _translated(nouns: list[str], tags: dict[str, str]) -> list[str]:
    """The Belarusian noun for each Russian noun (the first translation), in the same order."""
    queries = [f"^{noun}{tags[noun]}$" for noun in nouns]
    answers = _run(["lt-proc", "-b", str(APERTIUM / "rus-bel.autobil.bin")], queries)
    translated = []
    for answer in answers:
        readings = [lemma for lemma, _ in READING.findall(answer) if not lemma.startswith("@")]
        if readings:
            translated.append(readings[0].rstrip("¹²³⁴"))
    return translated


def _spelled(words: list[str], dictionary: str) -> list[str]:
    """Keep the words Hunspell accepts, in the given order."""
    accepted = set(_run(["hunspell", "-d", dictionary, "-G"], words))
    return [word for word in words if word in accepted]


if __name__ == "__main__":
    sys.exit(main())
