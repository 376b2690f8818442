"""Journalist designations: the "adjective noun" names staff use for a source.

A designation is what intake staff say and write ("the amber lantern source"), so it must be
easy to say, neutral (it must not hint at a person, a place or a judgement) and unique among
sources. It is random and reveals nothing about the source: it is not derived from the codename.
About 300 × 300 pairs leave plenty of room; on a collision we draw again, and give up with a
clear error after a bounded number of draws instead of looping forever on a full table.
"""

import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import DesignationExhausted
from core.models import Source

#: Draws before giving up. With 90 000 pairs even a table holding half of them fails
#: 20 draws in a row with probability 2**-20.
MAX_DESIGNATION_ATTEMPTS = 20

# fmt: off
ADJECTIVES: tuple[str, ...] = (
    "able", "absolute", "abstract", "academic", "acoustic", "active", "actual", "adept",
    "adjacent", "agile", "airy", "alert", "alpine", "amber", "ample", "ancient", "angular",
    "annual", "aqueous", "arched", "arctic", "aromatic", "artful", "ashen", "astute", "atomic",
    "audible", "august", "autumnal", "avid", "awake", "azure", "balanced", "bamboo", "barren",
    "basic", "beaded", "bent", "beryl", "bold", "bouncy", "brave", "breezy", "brief", "bright",
    "brisk", "broad", "bronze", "brown", "bubbly", "buoyant", "busy", "calm", "candid",
    "canny", "capable", "careful", "casual", "cedar", "central", "certain", "chalky",
    "cheerful", "chief", "chilly", "choral", "chrome", "circular", "civic", "classic", "clean",
    "clear", "clever", "close", "cloudy", "coastal", "cobalt", "coherent", "coiled",
    "columnar", "compact", "complete", "concise", "cool", "copper", "coral", "cordial",
    "correct", "cosmic", "cotton", "crafty", "crimson", "crisp", "curious", "curly", "curved",
    "cyan", "daily", "dapper", "dawning", "decent", "deep", "deft", "dense", "direct",
    "distant", "dotted", "double", "downy", "dry", "dual", "dusky", "dusty", "eager", "early",
    "earnest", "eastern", "easy", "elastic", "electric", "elegant", "emerald", "endless",
    "epic", "equal", "even", "exact", "exotic", "fair", "faithful", "famous", "fast",
    "feathery", "fern", "fine", "firm", "first", "flat", "fleet", "floral", "fluent", "focal",
    "foggy", "formal", "fresh", "frosty", "frugal", "full", "fuzzy", "gentle", "genuine",
    "giant", "gilded", "glad", "glassy", "gleaming", "global", "golden", "graceful", "grand",
    "granite", "graphic", "grassy", "gray", "great", "green", "hardy", "harmonic", "hazel",
    "hearty", "helpful", "hexagonal", "hidden", "high", "hollow", "honest", "humble", "icy",
    "ideal", "indigo", "inland", "inner", "ivory", "jade", "jolly", "jovial", "keen", "kind",
    "knotted", "large", "late", "leafy", "level", "light", "limber", "linen", "lively",
    "local", "lofty", "long", "loyal", "lucid", "lunar", "magnetic", "main", "major", "maple",
    "marble", "maritime", "mellow", "merry", "metric", "mild", "minor", "misty", "modern",
    "modest", "molten", "mossy", "musical", "narrow", "natural", "navy", "neat", "nimble",
    "noble", "nocturnal", "normal", "northern", "novel", "oaken", "oblong", "ocher", "olive",
    "open", "optical", "orange", "orderly", "organic", "oval", "pale", "paper", "patient",
    "peaceful", "pearl", "plain", "planar", "playful", "pleasant", "plucky", "polar",
    "polished", "polite", "prairie", "precise", "prime", "prompt", "proper", "proud", "public",
    "pure", "purple", "quick", "quiet", "radiant", "rapid", "rare", "ready", "regal",
    "regular", "reliable", "rich", "rigid", "ripe", "robust", "rocky", "rosy", "round",
    "royal", "ruby", "rural", "rustic", "safe", "sandy", "sapphire", "scarlet", "scenic",
    "second", "secure", "serene", "sharp", "shiny", "silent", "silken", "silver", "simple",
    "sincere", "sleek", "slender", "slow", "smart", "smooth", "snowy", "soft", "solar",
    "solid", "sonic", "southern", "spare", "spiral", "spry", "square", "stable", "steady",
    "steep", "stellar", "sterling", "stone", "stout", "straight", "striped", "strong",
    "sturdy", "subtle", "sunny", "super", "supple", "swift", "tall", "tame", "tawny", "teal",
    "tender", "thrifty", "tidal", "tidy", "timber", "tiny", "topaz", "tranquil", "tropical",
    "true", "tulip", "tuned", "twin", "unique", "upper", "urban", "useful", "valiant", "vast",
    "velvet", "verbal", "vernal", "violet", "visual", "vital", "vivid", "warm", "wavy",
    "western", "wide", "willing", "windy", "wise", "witty", "wooden", "woolen", "young",
    "zesty",
)

NOUNS: tuple[str, ...] = (
    "abacus", "acorn", "adapter", "agate", "album", "alcove", "almanac", "anchor", "anemone",
    "antenna", "anthem", "anvil", "apple", "apricot", "arbor", "arch", "archive", "arrow",
    "atlas", "atrium", "avenue", "awning", "badge", "bagel", "balcony", "ballad", "balloon",
    "banjo", "banner", "barley", "barrel", "basket", "beacon", "beaker", "bean", "bell",
    "bench", "berry", "bicycle", "biscuit", "blanket", "blossom", "boat", "bobbin", "bolt",
    "bonnet", "bookcase", "bottle", "boulder", "bracket", "branch", "bread", "breeze", "brick",
    "bridge", "brook", "broom", "bucket", "buckle", "bugle", "bulb", "bundle", "button",
    "cabin", "cabinet", "cactus", "candle", "canoe", "canvas", "canyon", "capsule", "caravan",
    "cardigan", "carpet", "carrot", "cascade", "castle", "cedar", "cello", "chalk", "channel",
    "chapel", "cherry", "chestnut", "chimney", "chisel", "cinnamon", "circle", "citadel",
    "clarinet", "clock", "clover", "cobble", "comet", "compass", "concert", "cookie", "copper",
    "cottage", "cotton", "crane", "crayon", "creek", "cricket", "crystal", "cupboard",
    "curtain", "cushion", "cymbal", "daisy", "delta", "desk", "dial", "diamond", "dinghy",
    "domino", "door", "dove", "dragonfly", "drum", "dune", "easel", "echo", "elm", "ember",
    "engine", "envelope", "estuary", "fable", "falcon", "feather", "fern", "ferry", "fiddle",
    "field", "fig", "finch", "flag", "flask", "flute", "forest", "fountain", "fox", "frame",
    "galaxy", "garden", "garnet", "gazebo", "geyser", "ginger", "glacier", "globe", "glove",
    "gondola", "gourd", "granary", "grape", "griffin", "grove", "guitar", "gull", "hammock",
    "harbor", "harp", "harvest", "hazelnut", "hedge", "helmet", "heron", "hill", "hive",
    "horizon", "hourglass", "iceberg", "inkwell", "island", "ivy", "jacket", "jar", "jasmine",
    "jetty", "journal", "jug", "kayak", "kettle", "keyboard", "kite", "ladder", "lagoon",
    "lake", "lamp", "lantern", "lark", "lattice", "leaf", "ledger", "lemon", "lens", "library",
    "lighthouse", "lily", "linden", "locket", "loom", "lotus", "lute", "magnet", "mandolin",
    "mango", "map", "maple", "marble", "marsh", "meadow", "melody", "meteor", "mill", "mirror",
    "mitten", "monsoon", "moon", "mosaic", "moss", "mountain", "muffin", "nebula", "needle",
    "nest", "nutmeg", "oak", "oar", "oasis", "ocean", "olive", "orbit", "orchard", "orchid",
    "origami", "otter", "owl", "paddle", "palette", "panda", "paper", "parasol", "parcel",
    "pasture", "path", "pebble", "pelican", "pencil", "pendulum", "pepper", "piano", "pier",
    "pillow", "pine", "planet", "plum", "pocket", "pond", "poplar", "porch", "prairie",
    "prism", "pulley", "puzzle", "quarry", "quill", "quilt", "radish", "rainbow", "raven",
    "reed", "ribbon", "ridge", "river", "robin", "rocket", "rooftop", "rose", "rudder",
    "saddle", "sail", "salmon", "sandal", "satchel", "saucer", "scarf", "schooner", "scroll",
    "seashell", "sequoia", "shovel", "shutter", "signal", "sketch", "sled", "sleeve", "slope",
    "sonnet", "sparrow", "spindle", "sponge", "spoon", "spring", "spruce", "stable",
    "staircase", "starling", "statue", "stream", "summit", "sundial", "swallow", "sycamore",
    "symphony", "table", "tambourine", "teapot", "telescope", "tent", "thimble", "thistle",
    "thread", "tide", "timber", "toolbox", "torch", "tower", "trail", "tram", "trellis",
    "trumpet", "tulip", "tunnel", "umbrella", "valley", "vase", "velvet", "violin", "voyage",
    "wagon", "walnut", "walrus", "wave", "whistle", "willow", "window", "windmill", "wren",
    "yacht", "yarn", "zephyr", "zither",
)
# fmt: on


def draw_designation(choose: Callable[[tuple[str, ...]], str] = secrets.choice) -> str:
    """Return one random "adjective noun" pair (not checked for uniqueness)."""
    return f"{choose(ADJECTIVES)} {choose(NOUNS)}"


def choose_designation(
    db: Session,
    *,
    attempts: int = MAX_DESIGNATION_ATTEMPTS,
    draw: Callable[[], str] = draw_designation,
) -> str:
    """Return a designation no source in ``db`` has yet.

    The database's unique constraint is the final word (two requests may pick the same name at
    the same moment); callers retry on that integrity error.
    """
    for _ in range(attempts):
        candidate = draw()
        taken = db.scalar(select(Source.id).where(Source.journalist_designation == candidate))
        if taken is None:
            return candidate
    raise DesignationExhausted(
        f"No free journalist designation was found in {attempts} random draws; the "
        "designation space is nearly full. Delete sources that are no longer needed."
    )
