"""Generated texts shaped like what sources send, for timing the search index at scale.

Nothing here is real testimony. Each item gets what the index holds for one original:
- a message (60 % of items): a length drawn from a log-normal curve (median 60 words, a long
  tail to a couple of thousand), in Russian (half), Belarusian or English, words drawn with
  Zipf-like frequencies from a few hundred common and topical words in several inflected
  forms, so a common word is in a good share of the items and most words in few;
- a file (40 %): its original name, and for one file in four a document's text (a text layer
  or OCR, 300 to 1,500 words);
- intake answers for one item in three (a place and a time in words);
- a person's name in one item in twenty, from a list of Belarusian, Russian and Latin
  spellings; and one rare name (`RARE_NAME`, in Cyrillic) in `RARE_EVERY`th item only, which a
  search finds by its Latin spelling `RARE_NAME_LATIN`.

`items(count, seed)` yields (item id, [(field, text)]) deterministically for a seed.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Iterator


def _listed(words: str) -> list[str]:
    """The words of a block of text (a list a reader can scan, like a paragraph)."""
    return words.split()


RARE_NAME = "Ціханоўская"
RARE_NAME_LATIN = "Tsikhanouskaya"
RARE_EVERY = 5_000
COMMON_WORD = "суд"
PHRASE = "задержали у здания суда"
PREFIX = "задерж"

RUSSIAN = _listed("""
и в не на я что он с это а по как но они у мы к из за от так же вы все она то было
меня нас нам его их был были была ночью утром днём сегодня вчера потом когда где
задержали задержан задержания задержанных задержать задержали меня суд суда суде судья
судьи протокол протокола полиция милиция ОМОН омоновцы сотрудники сотрудник автозак
автозаке изолятор изоляторе Окрестина ЦИП РУВД отдел отделе камера камере камеры избили
били бьют побои дубинками удары ударов синяки травмы врач врача больница больницы
скорая адвокат адвоката адвокатом свидетель свидетели свидетеля показания арест ареста
арестован штраф сутки суток статья статьи улица улице площадь проспект здание здания
двор дворе стела стелы акция акции марш марша флаг флаги люди человек людей женщина
женщины мужчина мужчины студент студенты рабочие завод заводе фото фотографии видео
телефон телефона телефоны отобрали забрали пароль пароли угрожали угрозы кричали
допрос допроса допрашивали следователь следователя уголовное дело дела обыск обыска
квартира квартире родители родственники мать отец брат сестра сын дочь муж жена
август августа сентябрь октябрь ноябрь декабрь январь год года Минск Минске Гродно
Гомель Брест Витебск Могилёв город городе район районе районного областной
""")
BELARUSIAN = _listed("""
і ў не на я што ён з гэта а па як але яны мы да з за ад так жа вы усе яна тое было
мяне нас нам яго іх быў былі была ўначы раніцай сёння ўчора потым калі дзе
затрымалі затрыманы затрымання затрыманых суд суда судзе суддзя пратакол пратакола
міліцыя АМАП супрацоўнікі супрацоўнік аўтазак аўтазаку ізалятар ізалятары Акрэсціна
камера камеры збілі білі пабоі дубінкамі ўдары сінякі траўмы доктар доктара бальніца
бальніцы хуткая адвакат адваката сведка сведкі паказанні арышт арышту штраф суткі
артыкул вуліца вуліцы плошча праспект будынак будынка двор двары акцыя акцыі марш
сцяг сцягі людзі чалавек жанчына жанчыны мужчына студэнт студэнты рабочыя завод
заводзе фота фотаздымкі відэа тэлефон тэлефоны адабралі забралі пароль пагражалі
пагрозы крычалі допыт следчы крымінальная справа справы ператрус кватэра бацькі
сваякі маці бацька брат сястра сын дачка муж жонка жнівень жніўня верасень кастрычнік
лістапад снежань студзень год года Мінск Мінску Гродна Гомель Брэст Віцебск Магілёў
горад горадзе раён раёне раённага абласны
""")
ENGLISH = _listed("""
the and of to in a was I we they he she it at on with for were by from that not this
my our their them us me night morning today yesterday then when where detained
detention arrested arrest court judge hearing police riot officers officer van
prison jail cell cells beaten beat batons blows bruises injuries doctor hospital
ambulance lawyer witness witnesses statement fine days article street square avenue
building yard protest march flag flags people man woman women men students workers
factory photo photos video phone phones took password threatened threats shouted
interrogation interrogated investigator criminal case search flat parents relatives
mother father brother sister son daughter husband wife August September October
November December January year Minsk Hrodna Homiel Brest Vitsebsk Mahiliou city
district regional station Akrestsina
""")
LANGUAGES = ((RUSSIAN, 0.5), (BELARUSIAN, 0.25), (ENGLISH, 0.25))
FIRST_NAMES = _listed("""
Мікалай Сяргей Аляксандр Марыя Вольга Святлана Ігар Павел Андрэй Ірына Николай Сергей
Александр Мария Ольга Светлана Игорь Павел Андрей Ирина Mikalai Siarhei Aliaksandr Maryia
Volha Sviatlana Ihar Pavel Andrei Iryna
""")
SURNAMES = _listed("""
Статкевіч Бабарыка Калеснікава Бяляцкі Лосік Рабкова Знак Ляўкова Лабковіч Стэфановіч
Статкевич Бабарико Колесникова Беляцкий Лосик Рабкова Знак Левкова Лобкович Стефанович
Иванов Петров Кузнецова Смирнов Попова Волков Соколова Лебедев Новикова Морозов
Statkevich Babaryka Kalesnikava Bialiatski Losik Rabkova Znak Liaukova Labkovich Stefanovich
""")
PLACES = ["ЦИП на Окрестина", "РУВД Московского района", "Акрэсціна, Мінск",
          "у стэлы", "Akrestsina, Minsk", "возле Комаровского рынка", "на праспекце Пераможцаў"]
FILE_NAMES = ["IMG_{n:04d}.jpg", "VID_{n:04d}.mp4", "протокол-{n}.pdf", "скан_{n}.png",
              "заява-{n}.docx", "statement-{n}.pdf", "photo_{n}.jpeg", "Сканирование{n}.jpg"]


def _zipf_weights(count: int) -> list[float]:
    # The first words of each list are its most frequent ones (s = 1, shifted so the top few
    # do not swamp everything, as in real running text).
    return list(itertools.accumulate(1 / (rank + 3) for rank in range(count)))


_CUMULATIVE = [(words, _zipf_weights(len(words))) for words, _share in LANGUAGES]


def _words(generator: random.Random, count: int) -> str:
    language = generator.choices(range(len(LANGUAGES)), [s for _w, s in LANGUAGES])[0]
    words, weights = _CUMULATIVE[language]
    return " ".join(generator.choices(words, cum_weights=weights, k=count))


def _length(generator: random.Random, median: float, sigma: float, low: int, high: int) -> int:
    return max(low, min(high, int(generator.lognormvariate(math.log(median), sigma))))


def _with_name(generator: random.Random, text: str, name: str) -> str:
    words = text.split(" ")
    words.insert(generator.randrange(len(words) + 1), name)
    return " ".join(words)


def items(count: int, seed: int = 12) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """`count` generated items: (a 64-hex id, its (field, text) entries)."""
    generator = random.Random(seed)
    for n in range(count):
        entries: list[tuple[str, str]] = []
        if generator.random() < 0.6:
            body = _words(generator, _length(generator, 60, 0.9, 3, 2_000))
            field = "message"
        else:
            entries.append(("name", generator.choice(FILE_NAMES).format(n=n % 10_000)))
            body = (_words(generator, generator.randint(300, 1_500))
                    if generator.random() < 0.25 else "")
            field = "text"
        if body and generator.random() < 0.05:
            body = _with_name(generator, body, f"{generator.choice(FIRST_NAMES)} "
                                               f"{generator.choice(SURNAMES)}")
        if n % RARE_EVERY == RARE_EVERY // 2:
            if not body:
                body, field = _words(generator, 20), "message"
            body = _with_name(generator, body, RARE_NAME)
        if body:
            entries.append((field, body))
        if generator.random() < 1 / 3:
            entries.append(("intake", f"{generator.choice(PLACES)}\n{_words(generator, 8)}"))
        yield hashlib.sha256(f"item {seed} {n}".encode()).hexdigest(), entries
