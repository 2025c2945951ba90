"""The feature engine's compiled loops (numba): one pass over each user's events that builds
the user's day tables and reads every window of the user's (user, cutoff) rows from them.

Why compiled loops and not numpy: numpy evaluates one measure or one column per call, so a
feature set of ~50 measures and ~150 columns walks the events ~50 times and the rows ~500
times, each a full trip through memory. Here each event and each row is visited once, the
measures and columns of one user-day or one row sit next to each other in memory, and the
work is split across the cores by user.

Why per user: the day tables of a whole chunk (user-days x ~50 measures, ~320 B per user-day)
were most of the engine's memory (10M events took 4 chunks under a 1.5 GB budget, and a
second pass over the purchases to rank RFM across them) and were written once and read back
from memory. One user's tables are a few KB, built where their rows are read.

Conventions shared with `siyu.features.engine`:
- events are sorted by (user, time); `ustart` (n_users + 1) starts each user's events;
- a user's count and amount tables hold running sums over the user's days before each one
  (one leading row of zeros; integers, so exact however long), and the sum over days
  [lo, hi) is `tab[hi] - tab[lo]`, with no branch. The float table (purchase gaps) has no
  leading row: `tab[hi - 1] - tab[lo - 1]`, the terms before the first day taken as 0;
- an event's *code* is ((role * n_types + type) * n_channels + channel) * 24 + hour; a lookup
  table in CSR form (ptr, idx) lists the measures each code counts towards.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from siyu.features.compiler import ROLE_CODES

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
NEVER = np.iinfo(np.int64).min
UNKNOWN = np.iinfo(np.int64).max
PURCHASE, CONTACT = ROLE_CODES["purchase"], ROLE_CODES["contact"]

# Per count column: what a day holds.
COUNT, ACTIVE, WEEKDAY, RESPONSE = 0, 1, 2, 3
# Per float column.
GAP_N, GAP_SUM, GAP_SQ = 0, 1, 2
# Window tables.
COUNTS, AMOUNTS, FLOATS = 0, 1, 2


@njit(cache=True, inline="always")
def _code(r, et, ch, t, n_types, n_channels):
    hour = (t // US_PER_HOUR) % 24
    return ((np.int64(r) * n_types + et) * n_channels + ch) * 24 + hour


@njit(parallel=True, cache=True)
def first_purchases(ustart, t, r, amount, fp_t, fp_amount):
    """Each user's first purchase time and, among simultaneous first purchases, the smallest
    known amount (the caller fills `fp_t` UNKNOWN and `fp_amount` NaN)."""
    for u in prange(ustart.size - 1):
        for i in range(ustart[u], ustart[u + 1]):
            if r[i] != PURCHASE:
                continue
            if fp_t[u] == UNKNOWN:
                fp_t[u] = t[i]
            if t[i] != fp_t[u]:
                break
            if amount[i] == amount[i] and not amount[i] >= fp_amount[u]:
                fp_amount[u] = amount[i]


@njit(parallel=True, cache=True)
def user_time_order(u, t, n_users):
    """The permutation that sorts events by (user, time): a counting sort by user (users are
    dense indexes below `n_users`), then each user's events by time, where they are not in
    time order already (an event log is usually written in time order)."""
    start = np.zeros(n_users + 1, np.int64)
    for i in range(u.size):
        start[u[i] + 1] += 1
    for k in range(n_users):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    order = np.empty(u.size, np.int64)
    for i in range(u.size):
        order[fill[u[i]]] = i
        fill[u[i]] += 1
    for k in prange(n_users):
        lo, hi = start[k], start[k + 1]
        for j in range(lo + 1, hi):
            if t[order[j]] < t[order[j - 1]]:
                seg = order[lo:hi].copy()
                order[lo:hi] = seg[np.argsort(t[seg])]
                break
    return order


@njit(parallel=True, cache=True)
def take(values, order, out):
    """out[i] = values[order[i]], on every core (numpy's `take` runs on one)."""
    for i in prange(order.size):
        out[i] = values[order[i]]


@njit(cache=True)
def _user_days(lo, hi, t, r, et, ch, fixed, n_types, n_channels, c_ptr, c_idx, c_kind, c_arg, a_ptr, a_idx,
               l_ptr, l_idx, f_kind, special, responses, gday, counts, amounts, floats, lasts):  # noqa: PLR0913
    """One user's day tables from their events [lo, hi) (sorted by time), in scratch arrays at
    least (days + 1) long; returns the number of days.

    counts (int32) and amounts (int64, fixed point) become running sums over the user's days
    with a leading row of zeros (row g + 1: through day g); floats (purchase gaps) running sums
    from day 0 (row g: through day g); lasts the latest matching time through each day."""
    counts[0, :] = 0
    amounts[0, :] = 0
    last_contact = NEVER
    prev_purchase = NEVER
    g = 0
    i = lo
    while i < hi:
        day = t[i] // US_PER_DAY
        end = i
        while end < hi and t[end] // US_PER_DAY == day:
            end += 1
        gday[g] = day
        counts[g + 1, :] = 0
        amounts[g + 1, :] = 0
        floats[g, :] = 0.0
        lasts[g, :] = NEVER
        run_end = i
        for k in range(i, end):
            if k >= run_end:  # a new instant: its contacts come before its purchases
                run_end = k
                while run_end < end and t[run_end] == t[k]:
                    if r[run_end] == CONTACT:
                        last_contact = t[k]
                    run_end += 1
            code = _code(r[k], et[k], ch[k], t[k], n_types, n_channels)
            for q in range(c_ptr[code], c_ptr[code + 1]):
                counts[g + 1, c_idx[q]] += 1
            for q in range(a_ptr[code], a_ptr[code + 1]):
                amounts[g + 1, a_idx[q]] += fixed[k]
            for q in range(l_ptr[code], l_ptr[code + 1]):
                lasts[g, l_idx[q]] = t[k]  # sorted by time: the latest wins
            if r[k] == PURCHASE:
                _purchase(k, g, t, last_contact, prev_purchase, counts, responses, c_arg, floats, f_kind)
                prev_purchase = t[k]
        _day_kinds(g + 1, day, counts, c_kind, c_arg, special)
        if g > 0:  # running sums over the user's days
            for m in range(floats.shape[1]):
                floats[g, m] += floats[g - 1, m]
            for m in range(lasts.shape[1]):
                if lasts[g, m] == NEVER:
                    lasts[g, m] = lasts[g - 1, m]
            for m in range(counts.shape[1]):
                counts[g + 1, m] += counts[g, m]
            for m in range(amounts.shape[1]):
                amounts[g + 1, m] += amounts[g, m]
        g += 1
        i = end
    return g


@njit(cache=True)
def _purchase(i, g, t, last_contact, prev_purchase, counts, responses, c_arg, floats, f_kind):
    """A purchase's campaign responses and purchase gap."""
    for m in responses:
        if last_contact != NEVER and t[i] - last_contact <= c_arg[m] * US_PER_DAY:
            counts[g + 1, m] += 1
    if prev_purchase != NEVER:
        gap = (t[i] - prev_purchase) / US_PER_DAY
        for m in range(f_kind.size):
            floats[g, m] += 1.0 if f_kind[m] == GAP_N else (gap if f_kind[m] == GAP_SUM else gap * gap)


@njit(cache=True)
def _day_kinds(g, day, counts, c_kind, c_arg, special):
    """Turn one day's raw counts (row g of `counts`) into active flags and weekday counts
    (`special`: the columns of those kinds)."""
    isodow = (day + 3) % 7 + 1  # 1970-01-01 was a Thursday
    for m in special:
        if c_kind[m] == ACTIVE:
            counts[g, m] = min(counts[g, m], 1)
        elif c_kind[m] == WEEKDAY and isodow != c_arg[m]:
            counts[g, m] = 0


_INSERTION_SORT = 64  # a user's pairs up to this many are sorted in place (no allocation)


@njit(cache=True)
def _insertion_sort(k, d):
    """Sort `k` in place, stably, moving `d` along."""
    for j in range(1, k.size):
        kj, dj = k[j], d[j]
        i = j - 1
        while i >= 0 and k[i] > kj:
            k[i + 1], d[i + 1] = k[i], d[i]
            i -= 1
        k[i + 1], d[i + 1] = kj, dj


@njit(parallel=True, cache=True)
def pairs(ustart, day, key, act):
    """Per user, its distinct (value, day) pairs among activity events with a value, sorted by
    value then day. Returns (per-user start (n_users + 1), values, days)."""
    n_users = ustart.size - 1
    upper = np.zeros(n_users + 1, np.int64)
    for u in prange(n_users):
        n = 0
        for i in range(ustart[u], ustart[u + 1]):
            if act[i] and key[i] != 0:
                n += 1
        upper[u + 1] = n
    for u in range(n_users):
        upper[u + 1] += upper[u]
    keys = np.empty(upper[-1], key.dtype)
    days = np.empty(upper[-1], np.int64)
    size = np.zeros(n_users, np.int64)
    for u in prange(n_users):
        base = upper[u]
        n = 0
        for i in range(ustart[u], ustart[u + 1]):
            if act[i] and key[i] != 0:
                keys[base + n] = key[i]
                days[base + n] = day[i]
                n += 1
        if n == 0:
            continue
        # Days rise with the events: a stable sort by value keeps them rising within a value.
        if n <= _INSERTION_SORT:
            k, d = keys[base:base + n], days[base:base + n]
            _insertion_sort(k, d)
        else:
            order = np.argsort(keys[base:base + n], kind="mergesort")
            k, d = keys[base:base + n][order], days[base:base + n][order]
        w = 0
        for j in range(n):
            if j == 0 or k[j] != k[j - 1] or d[j] != d[j - 1]:
                keys[base + w] = k[j]
                days[base + w] = d[j]
                w += 1
        size[u] = w
    start = np.zeros(n_users + 1, np.int64)
    for u in range(n_users):
        start[u + 1] = start[u] + size[u]
    out_keys = np.empty(start[-1], key.dtype)
    out_days = np.empty(start[-1], np.int64)
    for u in prange(n_users):
        out_keys[start[u]:start[u + 1]] = keys[upper[u]:upper[u] + size[u]]
        out_days[start[u]:start[u + 1]] = days[upper[u]:upper[u] + size[u]]
    return start, out_keys, out_days


_USERS_PER_TASK = 256  # users per parallel task (each task has its own scratch tables)


@njit(parallel=True, cache=True)
def windows(order, users, rstart, ustart, t, r, et, ch, fixed, n_types, n_channels, c_ptr, c_idx, c_kind, c_arg,
            a_ptr, a_idx, n_amounts, l_ptr, l_idx, n_lasts, f_kind, cut_day, offsets, w_table, w_col, w_hi, w_lo, w_div, s_col,
            r_num, r_den, r_neg, cut_us, out, last, since, ratio):  # noqa: PLR0913
    """Every window column and last time of every row, straight from the events.

    Rows are taken user by user: `order[rstart[j]:rstart[j + 1]]` are the rows of user
    `users[rstart[j]]` (`users`: each row's user, in `order`), whose events are
    [ustart[u], ustart[u + 1]). Each user's day tables
    (`_user_days`) are built once in a scratch area that stays in cache, and every row of that
    user reads its windows from them. offsets: window boundaries in days before the cutoff (a
    boundary past every day stands for "all history"). Window w sums table `w_table[w]` column
    `w_col[w]` over the days in [cutoff - offsets[w_lo[w]], cutoff - offsets[w_hi[w]]), divided by
    `w_div[w]` (fixed-point amounts back to currency units). Fills `out` (W, rows) with the
    windows, `last` (S, rows) with the latest matching time before the cutoff (NEVER: none) and
    `since` with the days from it to the cutoff `cut_us` (NaN: none), and `ratio` (R, rows) with
    window `r_num[q]` (negated where `r_neg[q]`) over window `r_den[q]`, NaN where that is 0.
    (The caller allocates them, from Arrow's pool: memory freed by the last batch, where numba's
    or numpy's own allocations would be fresh pages the OS zeroes first.)"""
    n_groups = rstart.size - 1
    at0 = 0
    for b in range(offsets.size):
        if offsets[b] == 0:
            at0 = b
    special = np.flatnonzero((c_kind == ACTIVE) | (c_kind == WEEKDAY))
    responses = np.flatnonzero(c_kind == RESPONSE)
    cw_out = np.flatnonzero(w_table == COUNTS)
    aw_out = np.flatnonzero(w_table == AMOUNTS)
    fw_out = np.flatnonzero(w_table == FLOATS)
    cw_col, cw_hi, cw_lo = w_col[cw_out], w_hi[cw_out], w_lo[cw_out]
    aw_col, aw_hi, aw_lo, aw_div = w_col[aw_out], w_hi[aw_out], w_lo[aw_out], w_div[aw_out]
    fw_col, fw_hi, fw_lo = w_col[fw_out], w_hi[fw_out], w_lo[fw_out]
    for task in prange((n_groups + _USERS_PER_TASK - 1) // _USERS_PER_TASK):
        g0, g1 = task * _USERS_PER_TASK, min(n_groups, (task + 1) * _USERS_PER_TASK)
        most = 1
        for j in range(g0, g1):
            u = users[rstart[j]] if rstart[j + 1] > rstart[j] else 0
            most = max(most, ustart[u + 1] - ustart[u])
        gday = np.empty(most, np.int64)
        counts = np.empty((most + 1, c_kind.size), np.int32)
        flat = counts.reshape(-1)
        n_c = c_kind.size
        amounts = np.empty((most + 1, n_amounts), np.int64)
        floats = np.empty((most, f_kind.size), np.float64)
        lasts = np.empty((most, n_lasts), np.int64)
        pos = np.zeros(offsets.size, np.int64)
        for j in range(g0, g1):
            if rstart[j + 1] == rstart[j]:
                continue
            u = users[rstart[j]]
            nd = _user_days(ustart[u], ustart[u + 1], t, r, et, ch, fixed, n_types, n_channels, c_ptr, c_idx,
                            c_kind, c_arg, a_ptr, a_idx, l_ptr, l_idx, f_kind, special, responses, gday, counts,
                            amounts, floats, lasts)
            pos[:] = 0
            for k in range(rstart[j], rstart[j + 1]):
                i = order[k]
                for b in range(offsets.size):  # the user's days before each boundary
                    limit = cut_day[i] - offsets[b]
                    p = pos[b]
                    if p > 0 and gday[p - 1] >= limit:  # an earlier cutoff than the last row's
                        p = 0
                    # A user's rows come by rising cutoff: walk on from the last row's position.
                    while p < nd and gday[p] < limit:
                        p += 1
                    pos[b] = p
                # One loop per table, with no branch per window.
                for q in range(cw_out.size):
                    c = cw_col[q]
                    out[cw_out[q], i] = flat[pos[cw_hi[q]] * n_c + c] - flat[pos[cw_lo[q]] * n_c + c]
                for q in range(aw_out.size):
                    c = aw_col[q]
                    out[aw_out[q], i] = (amounts[pos[aw_hi[q]], c] - amounts[pos[aw_lo[q]], c]) / aw_div[q]
                for q in range(fw_out.size):
                    hi, lo, c = pos[fw_hi[q]], pos[fw_lo[q]], fw_col[q]
                    out[fw_out[q], i] = (floats[hi - 1, c] if hi > 0 else 0.0) - (floats[lo - 1, c] if lo > 0 else 0.0)
                for q in range(r_num.size):
                    num = -out[r_num[q], i] if r_neg[q] else out[r_num[q], i]
                    den = out[r_den[q], i]
                    ratio[q, i] = np.nan if den == 0 else num / den
                p0 = pos[at0]
                for q in range(s_col.size):
                    lt = lasts[p0 - 1, s_col[q]] if p0 > 0 else NEVER
                    last[q, i] = lt
                    since[q, i] = np.nan if lt == NEVER else (cut_us[i] - lt) / US_PER_DAY


@njit(parallel=True, cache=True)
def distinct(rows_u, cut_day, start, keys, days, window_days, out):
    """Per row and window: values whose latest day before the cutoff lies within the window
    (added into `out`, zeroed by the caller)."""
    n = rows_u.size
    for i in prange(n):
        u = rows_u[i]
        j, end = start[u], start[u + 1]
        while j < end:
            latest = NEVER
            k = j
            while k < end and keys[k] == keys[j]:
                if days[k] < cut_day[i]:
                    latest = days[k]
                k += 1
            if latest != NEVER:
                for w in range(window_days.size):
                    if latest >= cut_day[i] - window_days[w]:
                        out[w, i] += 1.0
            j = k


@njit(parallel=True, cache=True)
def quintiles(grouped, ranked, starts, rows, out):
    """out[rows[i], j] = ceil(5 * rank / n) for the value grouped[j, i] within its group, where
    rank is 1 + how many of the group's n values are smaller (ties share the lowest rank).
    Group g is grouped[:, starts[g]:starts[g + 1]]; ranked[j] lists each group's positions in
    ascending order of its values in column j (NaN last, each NaN a rank of its own)."""
    n_cols = grouped.shape[0]
    for task in prange((starts.size - 1) * n_cols):
        g, col = task // n_cols, task % n_cols
        v, pos = grouped[col], ranked[col]
        lo, hi = starts[g], starts[g + 1]
        n = hi - lo
        j = lo
        while j < hi:
            end = j
            while end + 1 < hi and v[pos[end + 1]] == v[pos[j]]:
                end += 1
            score = (5 * (j - lo + 1) + n - 1) // n
            for q in range(j, end + 1):
                out[rows[pos[q]], col] = score
            j = end + 1


@njit(parallel=True, cache=True)
def btyd(ustart, t, r, amount, cut_day, out):
    """Per cutoff and user: the BTYD summary of the user's purchase days before the cutoff
    (`siyu.features.btyd_summary`, one purchase unit per day): repeat days, first-to-last days,
    first-to-cutoff days - 1, mean spend per day (the mean of the days' summed known amounts,
    over the days with one), into `out` (n_cutoffs, n_users, 4), NaN before a first purchase.
    Cutoffs rise and are day boundaries, so a day lies wholly before a cutoff or not."""
    n_users = ustart.size - 1
    for u in prange(n_users):
        days = 0
        first = last = 0
        spend = 0.0  # summed spend of the finished days with a known amount
        priced = 0
        day_sum = 0.0
        day_priced = False
        i = ustart[u]
        for k in range(cut_day.size):
            while i < ustart[u + 1] and t[i] // US_PER_DAY < cut_day[k]:
                if r[i] == PURCHASE:
                    d = t[i] // US_PER_DAY
                    if days == 0 or d != last:
                        if days > 0 and day_priced:
                            spend += day_sum
                            priced += 1
                        if days == 0:
                            first = d
                        days += 1
                        last = d
                        day_sum = 0.0
                        day_priced = False
                    if amount[i] == amount[i]:
                        day_sum += amount[i]
                        day_priced = True
                i += 1
            if days == 0:
                for j in range(4):
                    out[k, u, j] = np.nan
                continue
            out[k, u, 0] = days - 1
            out[k, u, 1] = last - first
            out[k, u, 2] = cut_day[k] - first - 1
            total = spend + day_sum if day_priced else spend
            n = priced + 1 if day_priced else priced
            out[k, u, 3] = total / n if n > 0 else np.nan
