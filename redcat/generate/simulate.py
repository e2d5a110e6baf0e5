"""Day-by-day simulation of the content platform and of the partners' funnel.

Each simulated day draws the reads of that day and the engagements and link clicks
they lead to, then the partner-side events those exposures cause over the next 15
days (searches, store visits, add-to-carts, purchases, refunds). Partner events are
kept by their own date until the day they happen. Nothing here knows about
sampling, delivery or faults: those act on the simulated truth afterwards.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from redcat import reference
from redcat.generate.batch import Batch
from redcat.generate.world import MAIN_PARTNER, MAIN_PARTNER_PREFERENCE, World, rng_for
from redcat.timeutil import DAY_MS, day_number, day_start_ms

CONTENT_TYPES = reference.content_event_types()
CALLBACK_TYPES = reference.callback_event_types()
ET = {name: i for i, name in enumerate(CONTENT_TYPES)}
CT = {name: i for i, name in enumerate(CALLBACK_TYPES)}
SURFACE_NOTE, SURFACE_COMMENT = 0, 1
ORIGIN_CLICK, ORIGIN_VIEW, ORIGIN_ENGAGEMENT, ORIGIN_ORGANIC = 0, 1, 2, 3

# Per read: engagement probabilities
ENGAGE_P = {"like": 0.07, "collect": 0.03, "comment": 0.015, "share": 0.01}
CLICK_NOTE_P = 0.06  # read of a note with a mounted link
CLICK_COMMENT_P = 0.02  # read of a note whose comment area carries a link
EVENTS_PER_READ = 1.0 + sum(ENGAGE_P.values()) + 0.02
# Reads by hour of day (Asia/Shanghai): quiet nights, lunch and evening peaks.
HOUR_WEIGHTS = np.array([3, 2, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 6, 7, 8, 10, 12, 12, 10, 6], float)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
NOTE_RECENCY_DAYS = 7.0

# Partner funnel
SEARCH_AFTER_VIEW_P = 0.04
SEARCH_AFTER_ENGAGEMENT_P = 0.08
VISIT_AFTER_SEARCH_P = 0.5
CART_AFTER_VISIT_P = 0.22
PURCHASE_AFTER_CART_P = 0.45
REFUND_P = 0.08
WINDOW_MS = 15 * DAY_MS  # partners call back events within 15 days of the exposure
SECOND, MINUTE, HOUR = 1_000, 60_000, 3_600_000


class Simulator:
    def __init__(self, world: World):
        self.world = world
        self.opts = world.opts
        self.landing = np.array(
            [
                self.opts.true_landing_rate if self.opts.true_landing_rate is not None else _reference_landing_rate(p)
                for p in world.partners
            ]
        )
        self.next_event_seq = 0
        self.next_callback_seq = np.zeros(len(world.partners), dtype=np.int64)
        self.next_order_seq = np.zeros(len(world.partners), dtype=np.int64)

    # --- content -----------------------------------------------------------
    def simulate_day(self, day: dt.date) -> tuple[Batch, np.ndarray, Batch]:
        """Simulate one day. Returns (content events, indices of notes published or
        changed that day, partner events caused by the day's exposures)."""
        w, opts = self.world, self.opts
        dn = day_number(day)
        rng = rng_for(opts.seed, 1, dn)
        t0 = day_start_ms(day)
        t1 = t0 + DAY_MS

        n_before = len(w.notes)
        n_new = int(rng.poisson(opts.scale.new_notes_per_day))
        w.notes.extend(w.new_notes(rng, n_new, np.sort(t0 + rng.integers(0, DAY_MS, n_new))))
        changed = w.mount_links_on_opening(rng, day)
        touched_notes = np.union1d(np.arange(n_before, len(w.notes)), changed)

        # Reads: heavy-tailed users x popular, recent notes
        reads = round(opts.scale.events_per_day / EVENTS_PER_READ * (0.5 if day in opts.faults.quiet_days else 1.0))
        user = rng.choice(len(w.user_weight), size=reads, p=w.user_weight).astype(np.int32)
        notes = w.notes
        age = np.maximum(t0 - notes.published_ms, 0) / DAY_MS
        weight = notes.quality * (np.exp(-age / NOTE_RECENCY_DAYS) + 0.03)
        note = rng.choice(len(notes), size=reads, p=weight / weight.sum()).astype(np.int32)
        hour = rng.choice(24, size=reads, p=HOUR_P)
        t = t0 + hour * HOUR + rng.integers(0, HOUR, reads)
        pub = notes.published_ms[note]
        early = t < pub  # a read of a note published later that day happens after publication
        t[early] = pub[early] + (rng.random(int(early.sum())) * (t1 - pub[early])).astype(np.int64)

        parts = [_events(ET["read"], t, user, note)]
        for kind, p in ENGAGE_P.items():
            m = rng.random(reads) < p
            parts.append(_events(ET[kind], _after(rng, t[m], 40 * SECOND, t1), user[m], note[m]))

        brand = notes.brand[note]
        lp = notes.link_partner[note]
        m = (lp >= 0) & (rng.random(reads) < CLICK_NOTE_P)
        parts.append(
            _events(ET["link_click"], _after(rng, t[m], 20 * SECOND, t1), user[m], note[m], lp[m], SURFACE_NOTE)
        )
        cand = notes.comment_links[note] & (rng.random(reads) < CLICK_COMMENT_P)
        cp = w.pick_partners(brand[cand], dn, rng.random(int(cand.sum())))
        ok = cp >= 0
        idx = np.flatnonzero(cand)[ok]
        parts.append(
            _events(
                ET["link_click"], _after(rng, t[idx], 30 * SECOND, t1), user[idx], note[idx], cp[ok], SURFACE_COMMENT
            )
        )

        content = Batch.concat(parts)
        content["seq"] = self.next_event_seq + np.arange(len(content), dtype=np.int64)
        self.next_event_seq += len(content)
        content["day"] = np.full(len(content), dn, dtype=np.int32)
        partner_events = self._funnel(rng, day, content)
        return content, touched_notes, partner_events

    # --- partners ----------------------------------------------------------
    def _funnel(self, rng: np.random.Generator, day: dt.date, content: Batch) -> Batch:
        w = self.world
        notes = w.notes
        brand = notes.brand[content["note"]]
        etype = content["etype"]
        t0 = day_start_ms(day)

        # Link clicks -> store visit when the user lands (decided per user, day and partner)
        clicks = np.flatnonzero(etype == ET["link_click"])
        cu, cpn = content["user"][clicks], content["partner"][clicks].astype(np.int64)
        key = cu.astype(np.int64) * len(w.partners) + cpn
        uniq, inv = np.unique(key, return_inverse=True)
        landed = (rng.random(len(uniq)) < self.landing[uniq % len(w.partners)])[inv]
        ct = content["t_ms"][clicks][landed]
        visits_click = _cb(
            CT["store_visit"],
            ct + np.minimum(rng.exponential(30 * SECOND, len(ct)), 10 * MINUTE).astype(np.int64),
            cu[landed],
            brand[clicks][landed],
            cpn[landed],
            ct,
            ORIGIN_CLICK,
        )

        # Views and engagements -> brand search on a partner the brand sells on
        views = etype == ET["read"]
        engaged = (etype != ET["read"]) & (etype != ET["link_click"])
        p_search = np.where(views, SEARCH_AFTER_VIEW_P, np.where(engaged, SEARCH_AFTER_ENGAGEMENT_P, 0.0))
        s = np.flatnonzero(rng.random(len(etype)) < p_search)
        st = content["t_ms"][s]
        s_brand = brand[s]
        origin = np.where(views[s], ORIGIN_VIEW, ORIGIN_ENGAGEMENT)
        searches = _cb(
            CT["search"],
            st + rng.lognormal(np.log(6 * HOUR), 1.4, len(s)).astype(np.int64),
            content["user"][s],
            s_brand,
            self._search_partner(rng, s_brand),
            st,
            origin,
        )
        # Organic: converters whose exposure redcat never sees (unattributable by design)
        n_org = int(rng.poisson(self.opts.organic_share * len(searches)))
        o_brand = rng.choice(len(w.brand_ids), size=n_org, p=w.brand_weight / w.brand_weight.sum())
        ot = t0 + rng.integers(0, DAY_MS, n_org)
        organic = _cb(
            CT["search"],
            ot,
            rng.choice(len(w.user_weight), size=n_org, p=w.user_weight),
            o_brand,
            self._search_partner(rng, o_brand),
            ot,
            ORIGIN_ORGANIC,
        )
        searches = _within_window(Batch.concat([searches, organic]))

        visits_search = _child(
            rng, searches, CT["store_visit"], VISIT_AFTER_SEARCH_P, lambda n: rng.exponential(2 * MINUTE, n)
        )
        visits = Batch.concat([visits_click, visits_search])
        carts = _child(rng, visits, CT["add_to_cart"], CART_AFTER_VISIT_P, lambda n: rng.exponential(10 * MINUTE, n))
        purchases = _child(
            rng,
            carts,
            CT["purchase"],
            PURCHASE_AFTER_CART_P,
            lambda n: np.where(rng.random(n) < 0.6, rng.exponential(30 * MINUTE, n), rng.exponential(3 * DAY_MS, n)),
        )
        purchases = _within_window(purchases)
        pb = purchases["brand"]
        gmv = rng.lognormal(np.log(w.gmv_median[pb]), w.gmv_sigma[pb])
        purchases["gmv_fen"] = np.maximum(np.round(gmv * 100), 100).astype(np.int64)
        purchases["order"] = self._orders(purchases["partner"])
        # A refund reverses its whole order, 1 to 10 days later; partners always report it.
        r = rng.random(len(purchases)) < REFUND_P
        refunds = purchases.take(np.flatnonzero(r))
        refunds["etype"] = np.full(len(refunds), CT["refund"], dtype=np.int8)
        refunds["t_ms"] = refunds["t_ms"] + rng.integers(DAY_MS, 10 * DAY_MS, len(refunds))

        def no_order(b):
            return b.with_column("order", np.full(len(b), -1, np.int64)).with_column(
                "gmv_fen", np.full(len(b), -1, np.int64)
            )

        out = Batch.concat([no_order(visits), no_order(searches), no_order(carts), purchases, refunds])
        out["seq"] = self._callback_ids(out["partner"])
        return out

    def _search_partner(self, rng: np.random.Generator, brand: np.ndarray) -> np.ndarray:
        sells = self.world.brand_sells[brand]
        both = sells.sum(axis=1) > 1
        other = np.argmax(np.where(np.arange(sells.shape[1]) == MAIN_PARTNER, False, sells), axis=1)
        pick_main = ~both | (rng.random(len(brand)) < MAIN_PARTNER_PREFERENCE)
        return np.where(pick_main, MAIN_PARTNER, other).astype(np.int64)

    def _orders(self, partner: np.ndarray) -> np.ndarray:
        return self._sequence(partner, self.next_order_seq)

    def _callback_ids(self, partner: np.ndarray) -> np.ndarray:
        return self._sequence(partner, self.next_callback_seq)

    @staticmethod
    def _sequence(partner: np.ndarray, counters: np.ndarray) -> np.ndarray:
        out = np.empty(len(partner), dtype=np.int64)
        for p in range(len(counters)):
            m = partner == p
            n = int(m.sum())
            out[m] = counters[p] + np.arange(n)
            counters[p] += n
        return out


def _reference_landing_rate(partner: str) -> float:
    rates = [p.landing_rate for p in reference.sampling_policy() if p.partner == partner]
    return rates[-1] if rates else 0.95


def _events(etype: int, t: np.ndarray, user: np.ndarray, note: np.ndarray, partner=None, surface: int = -1) -> Batch:
    n = len(t)
    return Batch(
        etype=np.full(n, etype, dtype=np.int8),
        t_ms=t.astype(np.int64),
        user=user.astype(np.int32),
        note=note.astype(np.int32),
        partner=(np.full(n, -1) if partner is None else partner).astype(np.int8),
        surface=np.full(n, surface, dtype=np.int8),
    )


def _after(rng: np.random.Generator, t: np.ndarray, mean_ms: float, day_end: int) -> np.ndarray:
    """An event shortly after `t`, kept on the same business day."""
    return np.minimum(t + rng.exponential(mean_ms, len(t)).astype(np.int64), day_end - 1)


def _cb(etype, t, user, brand, partner, exposure, origin) -> Batch:
    n = len(t)
    return Batch(
        etype=np.full(n, etype, dtype=np.int8),
        t_ms=np.asarray(t, dtype=np.int64),
        user=np.asarray(user, dtype=np.int32),
        brand=np.asarray(brand, dtype=np.int32),
        partner=np.asarray(partner, dtype=np.int8),
        exposure_ms=np.asarray(exposure, dtype=np.int64),
        origin=np.broadcast_to(np.asarray(origin, dtype=np.int8), (n,)).copy(),
    )


def _child(rng: np.random.Generator, parents: Batch, etype: int, p: float, delay) -> Batch:
    keep = np.flatnonzero(rng.random(len(parents)) < p)
    child = parents.take(keep)
    child["etype"] = np.full(len(child), etype, dtype=np.int8)
    child["t_ms"] = child["t_ms"] + np.asarray(delay(len(child)), dtype=np.int64)
    return child


def _within_window(b: Batch) -> Batch:
    return b.take(np.flatnonzero(b["t_ms"] - b["exposure_ms"] <= WINDOW_MS))
