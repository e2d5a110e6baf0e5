"""The static synthetic world: categories, brands, creators, users and notes.

Everything is drawn with numpy from one seed, in arrays indexed by entity number,
so a day of 5 M events is simulated with vector operations and no per-event loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from redcat import reference
from redcat.generate.options import GeneratorOptions
from redcat.timeutil import DAY_MS, SHANGHAI_OFFSET_MS, day_number, day_start_ms

# Share of brands per category, and GMV per order (lognormal: median CNY, sigma).
CATEGORY_MIX = {
    "beauty": (0.25, 180.0, 0.8),
    "fashion": (0.20, 260.0, 0.7),
    "food": (0.14, 90.0, 0.6),
    "baby": (0.08, 220.0, 0.7),
    "home": (0.10, 350.0, 0.9),
    "outdoor": (0.08, 480.0, 0.8),
    "digital": (0.10, 1_200.0, 0.9),
    "pets": (0.05, 150.0, 0.7),
}
INITIAL_NOTE_SPAN_DAYS = 60
LINK_MOUNT_P = 0.55  # a note published in an open category mounts a product link
LATE_MOUNT_P = 0.30  # share of older notes that mount one on the day their category opens
COMMENT_LINK_P = 0.25  # notes whose comment area carries partner links
MAIN_PARTNER = 0  # index of the first partner in seeds/partners.csv
MAIN_PARTNER_PREFERENCE = 0.7  # a note or search picks the main partner (the first configured) this often


@dataclass(frozen=True)
class PartnerTraits:
    """How a partner behaves in the synthetic world (not reference data: real partners differ)."""

    seller_share: float  # share of brands that sell there (the main partner: all of them)
    callback_prefix: str  # callback ids are <prefix>-<number>
    time_style: str  # "+08:00" (Shanghai offset) or "Z" (UTC); both are ISO-8601 with an offset


PARTNER_TRAITS = {
    "taobao": PartnerTraits(1.0, "tb", "+08:00"),
    "jd": PartnerTraits(0.6, "jd", "Z"),
}


def partner_traits(partner: str) -> PartnerTraits:
    """Known partners' traits; any other configured partner gets plausible defaults."""
    return PARTNER_TRAITS.get(partner, PartnerTraits(0.5, partner, "+08:00"))


def partner_stream(rng: np.random.Generator, seed: int, index: int, purpose: int) -> np.random.Generator:
    """The random stream a partner-indexed draw uses. The first two configured partners draw from
    the world's main stream, as they always have; every further partner from a stream of its own,
    so that adding a partner leaves the rest of the world (and its test data) unchanged."""
    return rng if index < 2 else rng_for(seed, 0, purpose, index)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """An independent, reproducible random stream per (purpose, day)."""
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def hex_keys(rng: np.random.Generator, n: int, nbytes: int = 32) -> np.ndarray:
    """n random lowercase hex strings of 2*nbytes characters, vectorised."""
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    out = np.empty((n, nbytes * 2), dtype=np.uint8)
    out[:, 0::2] = digits[raw >> 4]
    out[:, 1::2] = digits[raw & 15]
    return out.view(f"S{nbytes * 2}").ravel().astype(str)


@dataclass
class Notes:
    """Growing note table (struct of arrays)."""

    creator: np.ndarray  # int32
    brand: np.ndarray  # int32
    published_ms: np.ndarray  # int64
    quality: np.ndarray  # float64 popularity weight
    link_partner: np.ndarray  # int8: -1 none, else partner index
    comment_links: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.brand)

    def extend(self, other: Notes) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))


class World:
    def __init__(self, opts: GeneratorOptions):
        self.opts = opts
        scale = opts.scale
        rng = rng_for(opts.seed, 0)
        self.partners = reference.partners()
        self.categories = [c.category for c in reference.categories()]
        never = np.iinfo(np.int64).max
        self.links_open_from = np.array(  # [category, partner] first open day number
            [
                [day_number(d) if (d := c.links_from.get(p)) else never for p in self.partners]
                for c in reference.categories()
            ],
            dtype=np.int64,
        )

        # Brands
        mix = np.array([CATEGORY_MIX[c][0] for c in self.categories])
        self.brand_category = rng.choice(len(self.categories), size=scale.brands, p=mix / mix.sum())
        # Even a small world has a brand in every category, so every reference date is exercised.
        k = min(scale.brands, len(self.categories))
        self.brand_category[rng.permutation(scale.brands)[:k]] = np.arange(k)
        self.brand_weight = rng.lognormal(0.0, 1.0, size=scale.brands)
        sells = np.ones((scale.brands, len(self.partners)), dtype=bool)  # the main partner: every brand
        for i, partner in enumerate(self.partners[1:], start=1):
            share = partner_traits(partner).seller_share
            sells[:, i] = partner_stream(rng, opts.seed, i, 1).random(scale.brands) < share
        self.brand_sells = sells
        self.brand_ids = np.array([f"b{i + 1:04d}" for i in range(scale.brands)])
        self.gmv_median = np.array([CATEGORY_MIX[c][1] for c in self.categories])[self.brand_category]
        self.gmv_sigma = np.array([CATEGORY_MIX[c][2] for c in self.categories])[self.brand_category]

        # Creators: heavy-tailed reach
        self.creator_weight = rng.pareto(1.5, size=scale.creators) + 1.0
        self.creator_ids = np.array([f"c{i + 1:06d}" for i in range(scale.creators)])

        # Users: heavy-tailed activity, and one uniform per partner that decides sampling
        self.user_weight = rng.lognormal(0.0, 1.3, size=scale.users)
        self.user_weight /= self.user_weight.sum()
        self.user_keys = hex_keys(rng, scale.users)
        main = min(2, len(self.partners))
        self.sampling_u = np.column_stack(
            [rng.random((scale.users, main))]
            + [partner_stream(rng, opts.seed, i, 2).random(scale.users) for i in range(main, len(self.partners))]
        )

        # Notes published before the first generated day (burn-in included)
        first_sim_day = opts.start - dt.timedelta(days=opts.burn_in_days)
        t0 = day_start_ms(first_sim_day) - INITIAL_NOTE_SPAN_DAYS * DAY_MS
        n0 = scale.initial_notes
        published = t0 + (rng.random(n0) * INITIAL_NOTE_SPAN_DAYS * DAY_MS).astype(np.int64)
        self.notes = self.new_notes(rng, n0, np.sort(published))

    # --- notes -------------------------------------------------------------
    def new_notes(self, rng: np.random.Generator, n: int, published_ms: np.ndarray) -> Notes:
        brand_p = self.brand_weight / self.brand_weight.sum()
        brand = rng.choice(len(self.brand_ids), size=n, p=brand_p).astype(np.int32)
        creator_p = self.creator_weight / self.creator_weight.sum()
        creator = rng.choice(len(self.creator_ids), size=n, p=creator_p).astype(np.int32)
        daynum = (published_ms + SHANGHAI_OFFSET_MS) // DAY_MS
        link = self.pick_partners(brand, daynum, rng.random(n))
        link[rng.random(n) >= LINK_MOUNT_P] = -1
        return Notes(
            creator=creator,
            brand=brand,
            published_ms=published_ms.astype(np.int64),
            quality=rng.pareto(1.2, size=n) + 0.2,
            link_partner=link,
            comment_links=rng.random(n) < COMMENT_LINK_P,
        )

    def open_mask(self, brand: np.ndarray, daynum: np.ndarray | int) -> np.ndarray:
        """[n, partners]: the brand sells there and its category's links are open that day."""
        cat = self.brand_category[brand]
        return (self.links_open_from[cat] <= np.asarray(daynum).reshape(-1, 1)) & self.brand_sells[brand]

    def pick_partners(self, brand: np.ndarray, daynum: np.ndarray | int, u: np.ndarray) -> np.ndarray:
        """A partner per note whose links are open for it (the main partner preferred), or -1."""
        ok = self.open_mask(brand, daynum)
        others = ok.copy()
        others[:, MAIN_PARTNER] = False
        has_other = others.any(axis=1)
        first_other = np.argmax(others, axis=1)
        take_main = ok[:, MAIN_PARTNER] & ((u < MAIN_PARTNER_PREFERENCE) | ~has_other)
        return np.where(take_main, MAIN_PARTNER, np.where(has_other, first_other, -1)).astype(np.int8)

    def mount_links_on_opening(self, rng: np.random.Generator, day: dt.date) -> np.ndarray:
        """Older notes that mount a link on the day their category opens to a partner.
        Returns the indices of notes that changed (they are re-delivered in notes.csv)."""
        dn = day_number(day)
        opening = (self.links_open_from == dn).any(axis=1)  # per category
        cand = np.flatnonzero(opening[self.brand_category[self.notes.brand]] & (self.notes.link_partner < 0))
        cand = cand[rng.random(len(cand)) < LATE_MOUNT_P]
        link = self.pick_partners(self.notes.brand[cand], dn, rng.random(len(cand)))
        changed = cand[link >= 0]
        self.notes.link_partner[changed] = link[link >= 0]
        return changed

    def note_ids(self, idx: np.ndarray) -> np.ndarray:
        return np.char.add("n", np.char.zfill(np.asarray(idx + 1).astype(str), 7))
