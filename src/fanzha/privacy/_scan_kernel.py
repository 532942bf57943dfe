"""The numba kernel of `fanzha.privacy.compiled` (imported only when numba is there): the digit
runs, their groups and validation, and e-mail, over texts as arrays of code points. Each function
names the Python code it does the same as; the tests hold them equal."""

from __future__ import annotations

import numba
import numpy as np

njit = numba.njit(cache=True, nogil=True)
AT = 9  # the class of @, ＠ and ﹫ in the character table (below every digit class)
inline = numba.njit(cache=True, nogil=True, inline="always")  # what runs once per finding
CHECK_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], np.int64)
CHECK_VALUES = np.array([1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2], np.int64)  # "10X98765432", X = 10


@njit
def after(y, m, d, today):
    """(y, m, d) is a later day than today."""
    if y != today[0]:
        return y > today[0]
    if m != today[1]:
        return m > today[1]
    return d > today[2]


@numba.njit(cache=True, nogil=True, inline="always")
def cls_at(cps, chars, i):
    return chars[cps[i]]  # the tables cover every code point (0x110000)


@njit
def days_in(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


# The validation tables, packed in one int64 array T (one argument, no tuple of arrays to
# unpack per number): T[N_SETS] mobile digit-set rows of 11 bit masks from T[SETS]; T[N_CODES]
# region codes, sorted, from T[CODES], their year ranges T[OFFS + i]..T[OFFS + i + 1] (pairs
# from T[YEARS]); PERM and LIKE: 100 flags of two-digit province codes; T[LIMITS..+3]: 1900 and
# the years resident_id and recognizers.ids were loaded in.
N_SETS, SETS, N_CODES, CODES, OFFS, YEARS, PERM, LIKE, LIMITS, HEADER = range(10)


@njit
def region_ok(code, year, T):
    i, hi = T[CODES], T[CODES] + T[N_CODES]  # binary search: the first code >= code
    while i < hi:
        mid = (i + hi) >> 1
        if T[mid] < code:
            i = mid + 1
        else:
            hi = mid
    if i >= T[CODES] + T[N_CODES] or T[i] != code:
        return False
    i -= T[CODES]
    ok = False  # any() over a generator does not compile
    for j in range(T[T[OFFS] + i], T[T[OFFS] + i + 1]):
        ok |= T[T[YEARS] + 2 * j] <= year <= T[T[YEARS] + 2 * j + 1]
    return ok


@njit
def resident(d, n, today, T):
    """resident_id.is_valid_18 (18 digits) or parse (15 digits): True if valid."""
    for i in range(n - 1):
        if d[i] > 9:
            return False
    if n == 15:
        if d[14] > 9:
            return False
        y = 1900 + d[6] * 10 + d[7]
        m = d[8] * 10 + d[9]
        dd = d[10] * 10 + d[11]
        check_date = True  # parse() compares any date with today
    else:
        s = 0
        for i in range(17):
            s += d[i] * CHECK_WEIGHTS[i]
        if d[17] != CHECK_VALUES[s % 11]:
            return False
        y = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9]
        m = d[10] * 10 + d[11]
        dd = d[12] * 10 + d[13]
        check_date = y >= T[T[LIMITS] + 1]  # is_valid_18 only from the year it was loaded in
    if y < 1 or m < 1 or m > 12 or dd < 1 or dd > days_in(y, m) or y < T[T[LIMITS]]:
        return False
    if check_date and after(y, m, dd, today):
        return False
    code = 0
    for i in range(6):
        code = code * 10 + d[i]
    if code == 810000 or code == 820000 or code == 830000:
        return True
    if d[0] == 9:
        return T[T[PERM] + d[1] * 10 + d[2]] != 0
    return region_ok(code, y, T)


@njit
def id_like(d, n, today, T):
    """recognizers.ids._id_like: an 18-character number with a real birth date."""
    if n != 18:
        return False
    for i in range(17):
        if d[i] > 9:
            return False
    if T[T[LIKE] + d[0] * 10 + d[1]] == 0:
        return False
    m = d[10] * 10 + d[11]
    dd = d[12] * 10 + d[13]
    if m < 1 or m > 12 or dd < 1 or dd > days_in(2000, m):
        return False
    y = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9]
    if m == 2 and dd == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)):
        return False
    return y >= 1900 and (y <= T[T[LIMITS] + 2] or y <= today[0])


@njit
def mobile11(d, o, T):
    for p in range(T[N_SETS]):
        row = T[SETS] + 11 * p
        ok = True
        for i in range(11):
            if not (T[row + i] >> d[o + i]) & 1:
                ok = False
                break
        if ok:
            return True
    return False


@njit
def classify(d, n, want_id, want_mob, today, T):
    """(type, verdict) of n digits (10 = X), or (-1, -1): detect._classify."""
    if want_mob and (n == 11 or n == 13):
        if d[n - 1] > 9:
            return -1, -1
        if n == 11:
            if mobile11(d, 0, T):
                return 1, 0
        elif d[0] == 8 and d[1] == 6 and mobile11(d, 2, T):
            return 1, 0
        return -1, -1
    if want_id and (n == 15 or n == 18):
        if resident(d, n, today, T):
            return 0, 0
        if id_like(d, n, today, T):
            return 0, 1
    return -1, -1


@njit
def read_digits(cps, chars, s, e, d):
    """The digits of cps[s:e] (separators skipped) into d; their number (at most 19 kept)."""
    n = 0
    for i in range(s, e):
        t = cls_at(cps, chars, i)
        if t == 1:
            continue
        if n < 19:
            d[n] = 10 if t == 2 else (t - 10) % 10
        n += 1
    return n


@njit
def grow(out):
    bigger = np.empty((out.shape[0] * 2, 6), np.int64)
    bigger[: out.shape[0]] = out
    return bigger


@inline
def push_at(ats, nat, i):
    """Append position i of an @ to ats (doubled when full): (ats, nat + 1)."""
    if nat == ats.shape[0]:
        bigger = np.empty(nat * 2, np.int64)
        bigger[:nat] = ats
        ats = bigger
    ats[nat] = i
    return ats, nat + 1


@inline
def put(out, count, k, s, e, typ, verdict, plain):
    """Row `count` of out (which has room: `if count == out.shape[0]: out = grow(out)`)."""
    out[count, 0] = k
    out[count, 1] = s
    out[count, 2] = e
    out[count, 3] = typ
    out[count, 4] = verdict
    out[count, 5] = plain


@njit
def next_group(cps, chars, pos, e):
    """The next group of a run from pos: (start, end, digits, script; script 4 = X)."""
    while pos < e and cls_at(cps, chars, pos) == 1:
        pos += 1
    if pos >= e:
        return -1, -1, 0, -1
    t = cls_at(cps, chars, pos)
    if t == 2:
        return pos, pos + 1, 1, 4
    script = (t - 10) // 10
    q = pos + 1
    while q < e:
        u = cls_at(cps, chars, q)
        if u < 10 or (u - 10) // 10 != script:
            break
        q += 1
    return pos, q, q - pos, script


@njit
def split(
    cps, chars, s, e, tried_whole, lengths, k, base, out, count, d, want_id, want_mob, today, T
):
    """detect._split: from each group on, the longest accepted sequence of groups."""
    gs = np.empty(20, np.int64)
    ge = np.empty(20, np.int64)
    tot = np.empty(20, np.int64)
    pos = s
    first = True
    while True:
        g0, g1, _, gsc = next_group(cps, chars, pos, e)
        if g0 < 0:
            break
        cnt = 0
        total = 0
        p = g0
        while True:
            h0, h1, hlen, hsc = next_group(cps, chars, p, e)
            if h0 < 0 or (hsc == 4 and cnt == 0):
                break
            total += hlen
            if total > 19:
                break
            gs[cnt] = h0
            ge[cnt] = h1
            tot[cnt] = total
            cnt += 1
            if hsc == 4:
                break
            p = h1
        hit = False
        for jj in range(cnt - 1, -1, -1):
            n = tot[jj]
            if not (lengths >> n) & 1:
                continue
            if tried_whole and first and next_group(cps, chars, ge[jj], e)[0] < 0:
                continue
            read_digits(cps, chars, gs[0], ge[jj], d)
            typ, verdict = classify(d, n, want_id, want_mob, today, T)
            if typ >= 0:
                plain = 1 if jj == 0 and gsc == 0 else 0
                if count == out.shape[0]:
                    out = grow(out)
                put(out, count, k, gs[0] - base, ge[jj] - base, typ, verdict, plain)
                count += 1
                pos = ge[jj]
                hit = True
                break
        if not hit:
            pos = g1
        first = False
    return out, count


@njit
def numbers(
    cps,
    chars,
    a,
    b,
    k,
    min_digits,
    shortest,
    lengths,
    out,
    count,
    d,
    want_id,
    want_mob,
    today,
    T,
    max_sep,
    ats,
):
    """detect._numbers on cps[a:b]: the runs of normalize.run_regex(min_digits), classified;
    and where the @ of e-mails are (class AT), so that the text is read once."""
    nat = 0
    i = a
    while True:
        while i < b and chars[cps[i]] < AT:  # a tight loop to the next digit or @
            i += 1
        if i >= b:
            break
        if chars[cps[i]] == AT:
            ats, nat = push_at(ats, nat, i)
            i += 1
            continue
        s = i
        ndig = 1
        last = i + 1
        seps = 0
        q = i + 1
        plain_ascii = cls_at(cps, chars, i) < 20
        while q < b:
            t = cls_at(cps, chars, q)
            if t >= 10:
                ndig += 1
                last = q + 1
                seps = 0
                if t >= 20:
                    plain_ascii = False
            elif t == 1:
                seps += 1
                if seps > max_sep:
                    break
            else:
                break
            q += 1
        if ndig < min_digits:
            i = q
            continue
        e = last
        j = last
        while j < b and j < last + 2 and cls_at(cps, chars, j) == 1:
            j += 1
        if j < b and cls_at(cps, chars, j) == 2:
            e = j + 1
        i = e
        if plain_ascii and e - s == ndig:  # one plain number: classified, never cut
            if e - s <= 19 and (lengths >> (e - s)) & 1:
                read_digits(cps, chars, s, e, d)
                typ, verdict = classify(d, e - s, want_id, want_mob, today, T)
                if typ >= 0:
                    if count == out.shape[0]:
                        out = grow(out)
                    put(out, count, k, s - a, e - a, typ, verdict, 1)
                    count += 1
            continue
        n = ndig + (1 if e > last else 0)
        if n < shortest:
            continue
        whole = n <= 19 and ((lengths >> n) & 1) == 1
        if whole:
            read_digits(cps, chars, s, e, d)
            typ, verdict = classify(d, n, want_id, want_mob, today, T)
            if typ >= 0:
                if count == out.shape[0]:
                    out = grow(out)
                put(out, count, k, s - a, e - a, typ, verdict, 0)
                count += 1
                continue
        out, count = split(
            cps, chars, s, e, whole, lengths, k, a, out, count, d, want_id, want_mob, today, T
        )
    return out, count, ats, nat


@njit
def emails(cps, ecls, a, b, k, out, count, ats, nat):
    """net.email_spans on cps[a:b] (its @ at ats[:nat]): from each @, the local part back and
    the domain on."""
    pos = a
    for x in range(nat):
        p = ats[x]
        if p < pos:
            continue
        lo = p - 65 if p - 65 > pos else pos
        s = p
        while s > lo and ecls[cps[s - 1]] & 2:
            s -= 1
        if s == p or p - s > 64:
            continue
        if s == pos and pos > a and ecls[cps[s - 1]] & 2:
            continue
        if not ecls[cps[s]] & 1:
            continue
        # domain: labels split by single dots; ends in the last label after a dot that
        # starts with 2 letters (at most 24 of them taken)
        q = p + 1
        while q < b and ecls[cps[q]] & 8:
            q += 1
        if q == p + 1:
            continue
        end = -1
        while q + 1 < b and ecls[cps[q]] & 16:
            r = q + 1
            letters = 0
            while r < b and ecls[cps[r]] & 8:
                if letters == r - q - 1 and ecls[cps[r]] & 32:
                    letters += 1
                r += 1
            if r == q + 1:
                break
            if letters >= 2:
                end = q + 1 + (letters if letters < 24 else 24)
            q = r
        if end < 0:
            continue
        pos = end
        if count == out.shape[0]:
            out = grow(out)
        put(out, count, k, s - a, end - a, 2, 0, 0)
        count += 1
    return out, count


@njit
def scan(
    cps,
    offs,
    want_id,
    want_mob,
    want_email,
    min_digits,
    shortest,
    lengths,
    today,
    chars,
    ecls,
    efold,
    T,
    forms,
    words,
    longest,
    window,
    max_sep,
):
    """Findings of every text (text k is cps[offs[k]:offs[k + 1]]), in text order, as rows
    (start and end in the text, type, confidence code, start and end in cps, start and end of
    the value in `values`); where each text's rows start (`cuts`); whether two of a text's
    findings overlap (then Python resolves them); the values (digits, folded e-mail) as ASCII."""
    ntexts = offs.shape[0] - 1
    out = np.empty((max(64, ntexts * 4), 6), np.int64)
    overlap = np.zeros(ntexts, np.bool_)
    cuts = np.zeros(ntexts + 1, np.int64)
    tmp = np.empty((16, 6), np.int64)
    d = np.zeros(20, np.int64)
    ats = np.empty(64, np.int64)  # where the @ of the text are
    count = 0
    for k in range(ntexts):
        a, b = offs[k], offs[k + 1]
        first = count
        nat = 0
        if want_id or want_mob:
            out, count, ats, nat = numbers(
                cps,
                chars,
                a,
                b,
                k,
                min_digits,
                shortest,
                lengths,
                out,
                count,
                d,
                want_id,
                want_mob,
                today,
                T,
                max_sep,
                ats,
            )
        elif want_email:  # no numbers wanted: only the @ are looked for
            for i in range(a, b):
                if chars[cps[i]] == AT:
                    ats, nat = push_at(ats, nat, i)
        if want_email:
            mid = count
            out, count = emails(cps, ecls, a, b, k, out, count, ats, nat)
            if mid > first and count > mid:  # merge the two sorted lists by start
                m = count - first
                if tmp.shape[0] < m:
                    tmp = np.empty((m * 2, 6), np.int64)
                tmp[:m] = out[first:count]
                x, y, w = 0, mid - first, first
                while x < mid - first or y < m:
                    if y >= m or (x < mid - first and tmp[x, 1] <= tmp[y, 1]):
                        out[w] = tmp[x]
                        x += 1
                    else:
                        out[w] = tmp[y]
                        y += 1
                    w += 1
        for j in range(first + 1, count):
            if out[j, 1] < out[j - 1, 2]:
                overlap[k] = True
                break
        cuts[k + 1] = count
    return finish(cps, chars, efold, offs, out, count, cuts, overlap, forms, words, longest, window)


@njit
def has_context(cps, lo, start, forms, lengths, longest):
    """_rules.has_context: one of the words ends in cps[lo:start]. forms[c] has bit
    w * longest + i set if code point c can be character i of word w (as the regex reads it)."""
    for p in range(lo, start):
        if cps[p] >= forms.shape[0] or forms[cps[p]] == 0:
            continue
        for w in range(lengths.shape[0]):
            n = lengths[w]
            if p + n > start:
                continue
            ok = True
            for i in range(n):
                c = cps[p + i]
                if c >= forms.shape[0] or not (forms[c] >> (w * longest + i)) & 1:
                    ok = False
                    break
            if ok:
                return True
    return False


@njit
def finish(cps, chars, efold, offs, out, count, cuts, overlap, forms, words, longest, window):
    """The rows of `scan` with their spans in the text, their confidence codes (context words
    read for an ID-like number) and their values written out (-1: the value is the text)."""
    rows = np.empty((count, 8), np.int64)
    size = 0
    for j in range(count):
        size += out[j, 2] - out[j, 1]  # a value is never longer than its text
    values = np.empty(size, np.uint8)
    v = 0
    for j in range(count):
        k, typ, id_like, plain = out[j, 0], out[j, 3], out[j, 4], out[j, 5]
        s, e = out[j, 1] + offs[k], out[j, 2] + offs[k]  # in cps
        rows[j, 0] = out[j, 1]
        rows[j, 1] = out[j, 2]
        rows[j, 2] = typ
        code = typ * 8 + id_like * 2 + plain  # confidence code: plain, ID-like, context bits
        if id_like and has_context(cps, max(offs[k], s - window), s, forms, words, longest):
            code += 4
        rows[j, 3] = code
        rows[j, 4] = s
        rows[j, 5] = e
        v0 = v
        same = True  # the value is the text: a plain number, an ASCII e-mail
        if typ == 2:
            for i in range(s, e):
                values[v] = efold[cps[i]]
                same = same and cps[i] < 128
                v += 1
        elif plain == 1 and (typ == 0 or e - s == 11):
            pass  # a plain ID or 11-digit mobile: its value is its text
        else:
            for i in range(s, e):
                t = chars[cps[i]]
                if t != 1:
                    values[v] = 88 if t == 2 else 48 + (t - 10) % 10  # X or the digit
                    v += 1
            same = plain == 1
            if typ == 1 and v - v0 > 11:  # a mobile's value is its last 11 digits
                values[v0 : v0 + 11] = values[v - 11 : v].copy()
                v = v0 + 11
                same = False
        if same:
            v = v0
            rows[j, 6] = -1
        else:
            rows[j, 6] = v0
        rows[j, 7] = v
    return rows, cuts, np.flatnonzero(overlap), values[:v]
