import importlib.resources

from crypto.wordlist import EFF_LARGE_SIZE, load_eff_wordlist


def test_list_comes_from_the_installed_diceware_package() -> None:
    shipped = (
        importlib.resources.files("diceware")
        .joinpath("wordlists", "wordlist_en_eff.txt")
        .read_text(encoding="utf-8")
    )
    wordlist = load_eff_wordlist()
    assert len(wordlist.words) == EFF_LARGE_SIZE == 7776
    assert wordlist.words[0] == "abacus"
    assert wordlist.words[-1] == "zoom"
    assert all(f"\t{word}" in shipped for word in wordlist.words[:50])
    assert wordlist.members == frozenset(wordlist.words)
