//! The strided gram filter: the multi-pattern matcher for large watchlists.
//!
//! An Aho-Corasick automaton over 100,000 terms steps through every byte of
//! the text, and its states do not fit in the cache. This matcher looks at a
//! fraction of the text instead. Every pattern of `n ≥ W + K - 1` bytes
//! contains, wherever it occurs, a `W`-byte window (a *gram*) that starts at a
//! text position that is a multiple of the stride `K`. So the text is probed
//! only at `0, K, 2K, …`: each probe hashes the gram there into a small
//! blocked Bloom filter (sized to stay in L2). Each pattern contributes `K`
//! consecutive grams (at offsets `j..j+K`, `j` chosen so that its grams are
//! the rarest among all patterns' grams), so an occurrence at `p` is seen
//! exactly once, by the one probe in `p+j..p+j+K`. A filter hit looks the gram
//! up in an exact table (gram → pattern, offset) and compares the candidates
//! in full.
//!
//! Case-insensitive patterns are stored folded ([`crate::fold`]). The gate
//! of a probe takes each text byte as `b | 0x20` (one OR for four bytes) and
//! holds the head of each gram in every form of its characters. A probe
//! that passes maps its bytes through a table that merges every byte with
//! the bytes of the same position in the characters that fold to the same
//! pattern character (byte-wise, since the fold keeps UTF-8 lengths), so a
//! folded occurrence gives the same value as the pattern in the tiers'
//! filters and tables; candidates are then compared with the text folded on
//! the fly. No copy of the text is folded.
//!
//! Patterns too short for the stride go to a small Aho-Corasick automaton that
//! scans all of the text; the stride is chosen so that this only happens when
//! it is cheaper overall (patterns under `W` bytes).

use crate::fold;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Gram widths, widest first: a pattern is indexed by the widest grams its
/// length allows at its group's stride (wider grams are rarer in text).
const WIDTHS: [usize; 5] = [8, 7, 6, 5, 4];
/// Narrowest gram.
const W: usize = 4;
/// Bloom filter bits per gram.
const BITS_PER_GRAM: usize = 12;
/// Bits per gram of the second-level blocks.
const BLOCK_BITS_PER_GRAM: usize = 32;
/// Largest stride considered.
const MAX_K: usize = 16;

/// A pattern for [`Strided::new`]: its bytes (folded when case-insensitive)
/// and whether it is case-insensitive.
pub(crate) struct Pat<'a> {
    pub bytes: &'a [u8],
    pub ci: bool,
}

#[derive(Clone, Copy)]
struct PatRef {
    start: u32,
    len: u32,
    /// Compared folded: case-insensitive, with a character that another
    /// folds to.
    ci: bool,
    /// Case-insensitive, with a character whose other forms the byte
    /// classes keep apart (see [`Odd`]): its grams are indexed in every
    /// combination of those forms.
    odd: bool,
}

/// Characters of case-insensitive patterns (folded) whose other forms the
/// byte classes do not merge with them, each with those forms: `θ` with
/// `ϑ` and `ϴ`, `κ` with `ϰ`, `ρ` with `ϱ`, … Merged byte by byte, they
/// would join the classes of unrelated letters (`ϑ` is CF 91, `θ` CE B8:
/// 0x91 is the second byte of `α` and `Α`, so `α`, `δ` and `θ` became one
/// class, and the Greek and Russian sentences of a corpus passed the
/// filters several times as often as they do case-sensitively). Instead,
/// a gram over such a character is indexed once for each of its forms.
type Odd = std::collections::HashMap<char, Vec<char>, crate::fasthash::FastHash>;

/// The cost factor of a window holding a character with other forms (see
/// [`Tier::new`]): above the cost of any run of windows without one (at
/// most [`MAX_K`] windows of count 255, plus one).
const ODD_WINDOW: u32 = (MAX_K as u32) * 256 + 1;

/// Each folded character of the case-insensitive patterns with the other
/// characters that fold to it (same UTF-8 length): what an OR-keyed gate
/// writes a head in (see [`or_heads`]).
type Forms = std::collections::HashMap<char, Vec<char>, crate::fasthash::FastHash>;

/// Most gate keys one head may be written as ([`or_heads`]); a list with
/// a head of more forms keeps the gate keyed on classes. A guard for
/// Unicode tables to come: today no fold class has more than four members
/// (`θ Θ ϑ ϴ`) and a four-byte head overlaps at most three non-ASCII
/// characters, so a head has at most 64 forms.
const MAX_HEAD_FORMS: usize = 256;

/// Most grams indexed for one gram of a pattern (the product of the
/// numbers of forms of the odd characters it overlaps; the grams of a run
/// are chosen with few forms); a list that would need more (Armenian,
/// Georgian, whose cases differ in other bits, or `θθθθ`) has its odd
/// pairs merged into the classes instead.
const MAX_VARIANTS: usize = 32;

/// One slot of an exact gram table (open addressing), with the gram's
/// first entry in it: a candidate that passed the filters used to wait for
/// the slot, then for the entry it pointed to, each a miss of the cache
/// (the tables of 100,000 terms are megabytes); most grams have one entry.
#[derive(Clone, Copy)]
struct Slot {
    /// [`hash`] of the gram (a bijection: equal hashes are equal grams).
    hash: u64,
    /// The gram's other entries: `entries[table][start..end]`.
    start: u32,
    end: u32,
    /// The first entry; `first.len == 0` marks an empty slot (no pattern
    /// is empty).
    first: Entry,
}

const NO_ENTRY: Entry = Entry {
    pat: 0,
    off: 0,
    len: 0,
    ci: false,
    exact: false,
    head: 0,
    tail: 0,
};

const EMPTY: Slot = Slot {
    hash: 0,
    start: 0,
    end: 0,
    first: NO_ENTRY,
};

/// The grams of one width in one group: the exact table behind the filters.
struct Tier {
    w: usize,
    /// Mask of the low `w` bytes of a `u64`.
    mask: u64,
    /// Two tables, by the top bit of the gram hash (each built by its own
    /// thread). Grams are inserted in hash order, so linear probing never
    /// wraps (a table ends with an empty slot, which ends every probe), and
    /// a probe that meets a larger hash ends too: the gram would be before.
    slots: [Vec<Slot>; 2],
    /// Each table's home slots: a gram's is [`home`] of its hash.
    homes: [usize; 2],
    /// Each table's entries beyond the first of a gram, in slot order.
    entries: [Vec<Entry>; 2],
    /// Entries in all (first ones included).
    entry_count: usize,
}

/// A pattern behind a gram, with its first and last eight bytes (folded, as
/// the pattern is, when it is case-insensitive) to reject most candidates,
/// and settle those of up to 16 bytes, without reading the pattern.
#[derive(Clone, Copy)]
struct Entry {
    pat: u32,
    /// Offset of the gram in the pattern.
    off: u32,
    len: u32,
    /// The pattern is case-insensitive (kept here, in what was padding,
    /// so that most candidates are settled without reading the pattern's
    /// record).
    ci: bool,
    /// Every form of the pattern maps to the pattern's own classes (no
    /// [`Odd`] character): a head or tail that differs in classes rejects.
    exact: bool,
    head: u64,
    tail: u64,
}

/// Candidates queued for [`Strided::verify`] while their slots load.
const PENDING: usize = 8;

/// Candidates past the filters, to verify (see [`Strided::defer`]).
struct Pending {
    tier: [u8; PENDING],
    pos: [usize; PENDING],
    hash: [u64; PENDING],
    n: usize,
}

/// One cache line of the second-level filter.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Block([u64; 8]);

/// A tier's gram hash and its word in a [`Block`].
#[inline(always)]
fn tier_hash(g: u64, tier: usize) -> u64 {
    hash(g ^ (tier as u64).wrapping_mul(0xA076_1D64_78BD_642F))
}

/// Patterns probed at one stride.
struct Group {
    k: usize,
    /// Bloom filter of the first four bytes of every gram of every tier: one
    /// test per probe before the tiers' own filters. A power of two of words
    /// (at most 2^22), indexed by [`gate_word`].
    gate: Vec<u64>,
    /// Behind the gate, a blocked Bloom filter of the whole grams of the
    /// tiers of five bytes and more: the block (one cache line) is chosen by
    /// the first five bytes ([`block_hash`]), so a probe that passes the gate
    /// tests all these tiers in one line. (Five, not four: the four-byte
    /// heads of a list's grams are few, some shared by thousands of grams,
    /// whose block would be full.)
    blocks: Vec<Block>,
    block_shift: u32,
    /// The Bloom filter of the four-byte tier (words by the top bits of
    /// [`tier_hash`]).
    narrow: Vec<u64>,
    narrow_shift: u32,
    /// Widest first; all but the four-byte tier (the last, if any) are in
    /// the blocks.
    tiers: Vec<Tier>,
    /// Number of tiers in the blocks.
    wide: usize,
    /// The gate is keyed on [`or_key`] of the text, its heads written in
    /// every form of their characters, not on classes (see [`or_heads`]).
    or_gate: bool,
}

/// The compiled matcher. Immutable and shared by all scanning threads.
pub(crate) struct Strided {
    /// Byte classes for the probe when some pattern is case-insensitive
    /// (see [`byte_classes`]).
    classes: Option<Box<[u8; 256]>>,
    /// No class merges non-ASCII bytes: every byte is mapped as ASCII
    /// bytes are, `b | 0x20` (one OR for eight bytes; a coarser map of the
    /// non-ASCII bytes, which only costs a few more candidates).
    ascii_classes: bool,
    groups: Vec<Group>,
    arena: Vec<u8>,
    pats: Vec<PatRef>,
    short: Option<Short>,
    /// With classes that merge non-ASCII bytes: the classes of every pair
    /// of bytes, so that four bytes map with two look-ups and no branch.
    pairs: Option<Box<[u16; 1 << 16]>>,
}

/// Patterns shorter than any group's minimum, in an automaton.
struct Short {
    ac: AhoCorasick,
    /// Automaton pattern → matcher pattern.
    ids: Vec<u32>,
    /// Some short pattern is case-insensitive: search the folded text.
    fold: bool,
    /// Some folded pattern is not ASCII: fold all of Unicode.
    full_fold: bool,
}

impl std::fmt::Debug for Strided {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let t: Vec<String> = g
                    .tiers
                    .iter()
                    .map(|t| format!("w{}:{}", t.w, t.entry_count()))
                    .collect();
                format!("k{} [{}]", g.k, t.join(" "))
            })
            .collect();
        f.debug_struct("Strided")
            .field("patterns", &self.pats.len())
            .field("groups", &groups)
            .field("short", &self.short.as_ref().map_or(0, |s| s.ids.len()))
            .finish()
    }
}

#[inline(always)]
fn hash(g: u64) -> u64 {
    let h = g.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h ^ (h >> 32)).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// The inverse of [`hash`]: the gram of a slot, for the filters.
#[inline(always)]
fn unhash(h: u64) -> u64 {
    const fn inverse(c: u64) -> u64 {
        // Newton's iteration: each step doubles the correct low bits (an
        // odd c is its own inverse to three bits).
        let mut x = c;
        let mut i = 0;
        while i < 5 {
            x = x.wrapping_mul(2u64.wrapping_sub(c.wrapping_mul(x)));
            i += 1;
        }
        x
    }
    const I1: u64 = inverse(0x9E37_79B9_7F4A_7C15);
    const I2: u64 = inverse(0xD6E8_FEB8_6659_FD93);
    let x = h.wrapping_mul(I2);
    (x ^ (x >> 32)).wrapping_mul(I1)
}

/// Three bits of one Bloom word, from bits 32..50 of the hash (the word
/// index comes from the top bits). Not the low bits: those of [`hash`]
/// depend on the gram's first six bytes only (a product's low bits depend
/// only on its factors' low bits), so two grams of a block that differed
/// in their last two bytes set the same bits, and a text gram that differed
/// so from one of the list passed the filter for good (in Greek and
/// Cyrillic text under `-i`: most of the candidates not in the table).
#[inline(always)]
fn bloom_mask(h: u64) -> u64 {
    (1u64 << ((h >> 32) & 63)) | (1u64 << ((h >> 38) & 63)) | (1u64 << ((h >> 44) & 63))
}

#[inline(always)]
fn width_mask(w: usize) -> u64 {
    if w >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * w)) - 1
    }
}

/// What [`Tier::new`] reads: the patterns (in one arena) and the classes.
struct Src<'a> {
    arena: &'a [u8],
    refs: &'a [PatRef],
    classes: Option<&'a [u8; 256]>,
    ascii_classes: bool,
    odd: &'a Odd,
    /// Use a second thread for large tiers.
    par: bool,
}

impl Src<'_> {
    /// Where pattern `i` starts in the arena, and its length.
    #[inline(always)]
    fn span(&self, i: u32) -> (usize, usize) {
        let p = self.refs[i as usize];
        (p.start as usize, p.len as usize)
    }

    /// The `n ≤ 8` bytes at `at` in the arena, in classes (the arena ends
    /// with eight padding bytes: one load).
    #[inline(always)]
    fn gram(&self, at: usize, n: usize) -> u64 {
        class8(self.classes, self.ascii_classes, load(self.arena, at, n)) & width_mask(n)
    }

    /// The grams (in classes) to index for pattern `i` at offset `o`, width
    /// `w`, into `out`: its own, and for an [`PatRef::odd`] pattern those of
    /// every combination of the other forms of the odd characters the gram
    /// overlaps (each distinct gram once).
    fn grams(&self, i: u32, o: usize, w: usize, out: &mut Vec<u64>) {
        out.clear();
        let (at, n) = self.span(i);
        if !self.refs[i as usize].odd {
            out.push(self.gram(at + o, w));
            return;
        }
        // The gram's raw bytes, then each odd character's other forms
        // written over the bytes of it that the gram holds (at most
        // MAX_VARIANTS forms: see `most_forms`).
        out.push(load(self.arena, at + o, w));
        for (start, c) in chars(&self.arena[at..at + n]) {
            let len = c.len_utf8();
            if start >= o + w || start + len <= o {
                continue;
            }
            let Some(others) = self.odd.get(&c) else {
                continue;
            };
            let forms = out.len();
            for &x in others.iter().filter(|x| x.len_utf8() == len) {
                let mut enc = [0u8; 4];
                x.encode_utf8(&mut enc);
                for f in 0..forms {
                    let mut g = out[f];
                    for (b, &e) in enc[..len].iter().enumerate() {
                        let Some(d) = (start + b).checked_sub(o).filter(|&d| d < w) else {
                            continue;
                        };
                        g = g & !(0xFF << (8 * d)) | (e as u64) << (8 * d);
                    }
                    out.push(g);
                }
            }
        }
        for g in out.iter_mut() {
            *g = class8(self.classes, self.ascii_classes, *g) & width_mask(w);
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// The valid characters of `b` with their byte offsets (invalid bytes are
/// skipped: they fold to nothing else).
fn chars(b: &[u8]) -> impl Iterator<Item = (usize, char)> + '_ {
    b.utf8_chunks()
        .scan(0, |at, chunk| {
            let start = *at;
            *at += chunk.valid().len() + chunk.invalid().len();
            Some(
                chunk
                    .valid()
                    .char_indices()
                    .map(move |(i, c)| (start + i, c)),
            )
        })
        .flatten()
}

/// Sort grams by hash (all of one table: the same top bit): a counting sort
/// on the next bits (about one gram a bucket), then each bucket.
fn sort_by_hash(v: &mut Vec<(u64, u32, u32)>) {
    let n = v.len();
    if n < 4096 {
        v.sort_unstable_by_key(|g| g.0);
        return;
    }
    let bits = n.next_power_of_two().trailing_zeros().min(22);
    let bucket = |h: u64| ((h << 1) >> (64 - bits)) as usize;
    let mut start = vec![0u32; (1 << bits) + 1];
    for g in v.iter() {
        start[bucket(g.0) + 1] += 1;
    }
    for i in 0..1 << bits {
        start[i + 1] += start[i];
    }
    let mut at = start.clone();
    let mut out = vec![(0u64, 0u32, 0u32); n];
    for &g in v.iter() {
        let b = bucket(g.0);
        out[at[b] as usize] = g;
        at[b] += 1;
    }
    for w in start.windows(2) {
        let b = &mut out[w[0] as usize..w[1] as usize];
        if b.len() > 1 {
            b.sort_unstable_by_key(|g| g.0);
        }
    }
    *v = out;
}

/// A tier with at least this many patterns is built on two threads.
const PAR_MIN: usize = 4096;

/// Run `a` on a scoped thread and `b` here when `par`, else one after the
/// other.
fn par2<A: Send, B: Send>(
    par: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !par {
        let ra = a();
        return (ra, b());
    }
    std::thread::scope(|s| {
        let h = s.spawn(a);
        let rb = b();
        (
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            rb,
        )
    })
}

impl Tier {
    /// Index `k` consecutive `w`-grams of each pattern in `ids`: the run whose
    /// grams are the least frequent among all these patterns' grams (an
    /// approximate count in a hashed counter array). Returns the tier and its
    /// distinct grams (for the filters).
    fn new(w: usize, k: usize, ids: &[u32], src: &Src<'_>) -> (Tier, Vec<u64>) {
        let par = src.par && ids.len() >= PAR_MIN;
        let windows: usize = ids.iter().map(|&i| src.span(i).1 - w + 1).sum();
        let bits = windows.next_power_of_two().trailing_zeros().clamp(10, 22);
        let cidx = |g: u64| (hash(g) >> (64 - bits)) as usize;
        let (lo, hi) = ids.split_at(ids.len() / 2);
        // Window counts, each half of the patterns on its own thread.
        let count = |ids: &[u32]| {
            let mut c = vec![0u8; 1 << bits];
            for &i in ids {
                let (at, n) = src.span(i);
                for o in at..=at + n - w {
                    let x = cidx(src.gram(o, w));
                    c[x] = c[x].saturating_add(1);
                }
            }
            c
        };
        let (mut counts, c2) = par2(par, || count(lo), || count(hi));
        for (x, y) in counts.iter_mut().zip(&c2) {
            *x = x.saturating_add(*y);
        }
        drop(c2);
        // Each pattern's cheapest run of k windows: (gram hash, pattern,
        // offset), apart by the top bit of the hash (the two tables).
        let select = |ids: &[u32]| {
            let mut out: [Vec<(u64, u32, u32)>; 2] = [
                Vec::with_capacity(ids.len() * k / 2 + 64),
                Vec::with_capacity(ids.len() * k / 2 + 64),
            ];
            let mut cost: Vec<u32> = Vec::new();
            let mut gs = Vec::new();
            for &i in ids {
                let (at, n) = src.span(i);
                cost.clear();
                cost.extend((at..=at + n - w).map(|o| counts[cidx(src.gram(o, w))] as u32));
                if src.refs[i as usize].odd {
                    // Each form of a gram is indexed, and in classes an
                    // odd form is often a common letter: `ϱ` (CF B1) maps
                    // as `α` (CE B1), `ϑ` as `α`, `ϕ` as `ε`, `ϴ` as `δ`,
                    // so its gram passed the filters at every `α` of the
                    // text that the rest of the gram fitted (in Greek text
                    // a third of the verified candidates of `-i`). A
                    // window with another form costs more than any run
                    // without one, which is taken when there is one.
                    for (o, c) in cost.iter_mut().enumerate() {
                        src.grams(i, o, w, &mut gs);
                        if gs.len() > 1 {
                            *c = (*c + 1) * gs.len() as u32 * ODD_WINDOW;
                        } else {
                            *c += 1;
                        }
                    }
                }
                let mut sum: u32 = cost[..k].iter().sum();
                let (mut best, mut best_j) = (sum, 0);
                for j in 1..=cost.len() - k {
                    sum = sum + cost[j + k - 1] - cost[j - 1];
                    if sum < best {
                        best = sum;
                        best_j = j;
                    }
                }
                for o in best_j..best_j + k {
                    if !src.refs[i as usize].odd {
                        let h = hash(src.gram(at + o, w));
                        out[(h >> 63) as usize].push((h, i, o as u32));
                        continue;
                    }
                    src.grams(i, o, w, &mut gs);
                    for &g in &gs {
                        let h = hash(g);
                        out[(h >> 63) as usize].push((h, i, o as u32));
                    }
                }
            }
            out
        };
        let (ga, gb) = par2(par, || select(lo), || select(hi));
        drop(counts);
        // Each table's grams sorted: in slot order.
        let half = |top: usize| {
            let mut v: Vec<(u64, u32, u32)> = Vec::with_capacity(ga[top].len() + gb[top].len());
            v.extend_from_slice(&ga[top]);
            v.extend_from_slice(&gb[top]);
            sort_by_hash(&mut v);
            let distinct = 1 + v.windows(2).filter(|p| p[0].0 != p[1].0).count();
            (v, distinct)
        };
        let ((g0, d0), (g1, d1)) = par2(par, || half(0), || half(1));
        drop((ga, gb));
        // Eight slots per five distinct grams (slots hold an entry each,
        // and tables of a power of two of slots were up to four times the
        // grams, megabytes of page faults while the build waited).
        let homes = |d: usize| (d * 8 / 5).max(32);
        // Each table's entries are made by the thread that fills it (a
        // zeroed vector of all of them, made first on one thread, cost the
        // build a page fault per 4 KiB before any work was shared).
        let fill = |grams: &[(u64, u32, u32)], homes: usize| {
            let mut entries = Vec::new();
            let mut slots = vec![EMPTY; homes + 1];
            let mut distinct = Vec::with_capacity(grams.len());
            let mut free = 0usize;
            let mut i = 0;
            let entry = |(_, p, off): (u64, u32, u32)| {
                let (at, n) = src.span(p);
                // Head and tail as the pattern's bytes (folded when it is
                // case-insensitive; see `Strided::verify`).
                Entry {
                    pat: p,
                    off,
                    len: n as u32,
                    ci: src.refs[p as usize].ci,
                    exact: !src.refs[p as usize].odd,
                    head: load(src.arena, at, n.min(8)),
                    tail: load(src.arena, at + n - n.min(8), n.min(8)),
                }
            };
            while i < grams.len() {
                let h = grams[i].0;
                let first = entry(grams[i]);
                i += 1;
                let start = entries.len();
                while i < grams.len() && grams[i].0 == h {
                    entries.push(entry(grams[i]));
                    i += 1;
                }
                let pos = home(h, homes).max(free);
                if pos + 1 >= slots.len() {
                    slots.resize(pos + 2, EMPTY);
                }
                slots[pos] = Slot {
                    hash: h,
                    start: start as u32,
                    end: entries.len() as u32,
                    first,
                };
                free = pos + 1;
                distinct.push(unhash(h));
            }
            (slots, entries, distinct)
        };
        let (n0, n1) = (homes(d0), homes(d1));
        let ((s0, e0, mut grams), (s1, e1, grams1)) = par2(par, || fill(&g0, n0), || fill(&g1, n1));
        grams.extend(grams1);
        let tier = Tier {
            w,
            mask: width_mask(w),
            slots: [s0, s1],
            homes: [n0, n1],
            entries: [e0, e1],
            entry_count: g0.len() + g1.len(),
        };
        (tier, grams)
    }

    /// Every entry (each gram's first, in its slot, and the others).
    fn all_entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots
            .iter()
            .flatten()
            .map(|s| &s.first)
            .filter(|e| e.len > 0)
            .chain(self.entries.iter().flatten())
    }

    fn memory_usage(&self) -> usize {
        (self.slots[0].len() + self.slots[1].len()) * std::mem::size_of::<Slot>()
            + (self.entries[0].len() + self.entries[1].len()) * std::mem::size_of::<Entry>()
    }

    fn entry_count(&self) -> usize {
        self.entry_count
    }

    /// Start loading the home slot of the gram of hash `h`.
    #[inline(always)]
    fn prefetch(&self, h: u64) {
        let table = (h >> 63) as usize;
        let s = home(h, self.homes[table]);
        let p = self.slots[table].as_ptr().wrapping_add(s);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch does not fault, whatever the address (and `s`
        // is within the table: `home` is below the number of home slots).
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch(p.cast::<i8>(), _MM_HINT_T0);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// The entries of the gram of hash `h`.
    #[inline(always)]
    fn lookup(&self, h: u64) -> Option<(&Entry, &[Entry])> {
        let table = (h >> 63) as usize;
        let slots = &self.slots[table];
        let mut s = home(h, self.homes[table]);
        loop {
            let sl = &slots[s];
            if sl.first.len == 0 || sl.hash > h {
                return None;
            }
            if sl.hash == h {
                let rest = &self.entries[table][sl.start as usize..sl.end as usize];
                return Some((&sl.first, rest));
            }
            s += 1;
        }
    }
}

impl Strided {
    /// Compile. Pattern `i` of `pats` is reported as `i`. Empty patterns are
    /// never reported.
    pub(crate) fn new(pats: &[Pat<'_>]) -> Result<Strided, String> {
        let mut arena = Vec::with_capacity(pats.iter().map(|p| p.bytes.len()).sum());
        let mut refs = Vec::with_capacity(pats.len());
        for p in pats {
            refs.push(PatRef {
                start: arena.len() as u32,
                len: p.bytes.len() as u32,
                ci: p.ci,
                odd: false,
            });
            arena.extend_from_slice(p.bytes);
        }
        // Padding for eight-byte loads at the end of the last pattern.
        arena.extend_from_slice(&[0; 8]);
        let (classes, odd) = match pats.iter().any(|p| p.ci) {
            true => {
                let (c, odd) = byte_classes(pats);
                (Some(c), odd)
            }
            false => (None, Odd::default()),
        };
        if !odd.is_empty() {
            for (r, p) in refs.iter_mut().zip(pats) {
                r.odd = p.ci
                    && !p.bytes.is_ascii()
                    && chars(p.bytes).any(|(_, c)| odd.contains_key(&c));
            }
        }
        // Case-insensitive patterns without a character that another folds
        // to (Chinese, digits, punctuation) are compared as case-sensitive
        // ones: the text folds to them only by being them. (Most Chinese
        // candidates passed the classes, which merge the continuation bytes
        // that Greek and Cyrillic cases differ in, and were then folded to
        // be rejected.)
        if classes.is_some() {
            let targets: std::collections::HashSet<char, crate::fasthash::FastHash> =
                if pats.iter().any(|p| p.ci && !p.bytes.is_ascii()) {
                    fold::case_pairs().iter().map(|&(_, f)| f).collect()
                } else {
                    Default::default()
                };
            for (r, p) in refs.iter_mut().zip(pats) {
                if p.ci
                    && !p.bytes.iter().any(u8::is_ascii_alphabetic)
                    && (p.bytes.is_ascii() || chars(p.bytes).all(|(_, c)| !targets.contains(&c)))
                {
                    r.ci = false;
                }
            }
        }
        let ascii_classes = classes
            .as_ref()
            .is_some_and(|c| (0x80..256).all(|b| c[b] == b as u8));
        // With classes that merge non-ASCII bytes, every probe mapped its
        // four bytes through them: a test of the bytes, and for non-ASCII
        // ones two look-ups, on every probe, with a mispredicted branch at
        // each change between ASCII and other text (half a million in 50 MB
        // of the mixed corpus). That was most of what `-i` cost over the
        // case-sensitive scan. The gate is keyed on `b | 0x20` of every byte
        // instead (one OR, as for ASCII-only lists; see [`or_key`]), and
        // holds each head in every form its characters take; only a probe
        // that passes maps its bytes through the classes, for the tiers.
        let forms: Option<Forms> = match &classes {
            Some(_) if !ascii_classes => {
                let mut used: std::collections::HashSet<char, crate::fasthash::FastHash> =
                    Default::default();
                for (r, p) in refs.iter().zip(pats) {
                    if r.ci && !p.bytes.is_ascii() {
                        used.extend(chars(p.bytes).map(|(_, c)| c).filter(|c| !c.is_ascii()));
                    }
                }
                let mut f = Forms::default();
                for &(other, folded) in fold::case_pairs() {
                    if used.contains(&folded) && other.len_utf8() == folded.len_utf8() {
                        f.entry(folded).or_default().push(other);
                    }
                }
                Some(f)
            }
            _ => None,
        };
        let plan = plan(pats);
        let mut short_ids = Vec::new();
        let mut by_tier: Vec<Vec<Vec<u32>>> = vec![vec![Vec::new(); WIDTHS.len()]; plan.len()];
        for (i, p) in pats.iter().enumerate() {
            let n = p.bytes.len();
            if n == 0 {
                continue;
            }
            // The group of the largest stride the pattern allows.
            match plan.iter().rposition(|&k| n >= W + k - 1) {
                None => short_ids.push(i as u32),
                Some(g) => {
                    let k = plan[g];
                    let t = WIDTHS
                        .iter()
                        .position(|&w| n >= w + k - 1)
                        .unwrap_or(WIDTHS.len() - 1);
                    by_tier[g][t].push(i as u32);
                }
            }
        }
        let src = Src {
            arena: &arena,
            refs: &refs,
            classes: classes.as_deref(),
            ascii_classes,
            odd: &odd,
            par: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
        };
        let groups = plan
            .iter()
            .zip(by_tier)
            .map(|(&k, tiers)| {
                let (tiers, grams): (Vec<Tier>, Vec<Vec<u64>>) = tiers
                    .iter()
                    .enumerate()
                    .filter(|(_, ids)| !ids.is_empty())
                    .map(|(t, ids)| Tier::new(WIDTHS[t], k, ids, &src))
                    .unzip();
                let entries: usize = tiers.iter().map(Tier::entry_count).sum();
                let par = src.par && entries >= PAR_MIN;
                // The gate and the blocks, each on its own thread.
                let gate = || {
                    let ored = forms.as_ref().and_then(|f| {
                        let mut heads = Vec::new();
                        for t in &tiers {
                            for e in t.all_entries() {
                                if !or_heads(&src, f, e.pat, e.off as usize, &mut heads) {
                                    return None;
                                }
                            }
                        }
                        Some(heads)
                    });
                    let or_gate = ored.is_some();
                    let mut heads: Vec<u32> =
                        ored.unwrap_or_else(|| grams.iter().flatten().map(|&g| g as u32).collect());
                    heads.sort_unstable();
                    heads.dedup();
                    let words = (heads.len() * BITS_PER_GRAM / 64)
                        .next_power_of_two()
                        .clamp(8, 1 << 22);
                    let mut gate = vec![0u64; words];
                    for &g in &heads {
                        let h = gate_hash(g);
                        gate[gate_word(h) & (words - 1)] |= gate_mask(h);
                    }
                    (gate, or_gate)
                };
                let blocks = || {
                    let (mut wide, mut narrow) = (0, 0);
                    for (t, gs) in tiers.iter().zip(&grams) {
                        *if t.w == W { &mut narrow } else { &mut wide } += gs.len();
                    }
                    let nblocks = (wide * BLOCK_BITS_PER_GRAM / 512)
                        .next_power_of_two()
                        .clamp(2, 1 << 20);
                    let block_shift = 64 - nblocks.trailing_zeros();
                    let mut blocks = vec![Block([0; 8]); nblocks];
                    let words = (narrow * 16 / 64).next_power_of_two().max(8);
                    let narrow_shift = 64 - words.trailing_zeros();
                    let mut narrow = vec![0u64; words];
                    for (ti, (t, gs)) in tiers.iter().zip(&grams).enumerate() {
                        for &g in gs {
                            let h = tier_hash(g, ti);
                            if t.w == W {
                                narrow[(h >> narrow_shift) as usize] |= bloom_mask(h);
                            } else {
                                let b = (block_hash(g) >> block_shift) as usize;
                                blocks[b].0[(h >> 61) as usize] |= bloom_mask(h);
                            }
                        }
                    }
                    (blocks, block_shift, narrow, narrow_shift)
                };
                let ((gate, or_gate), (blocks, block_shift, narrow, narrow_shift)) =
                    par2(par, gate, blocks);
                let wide = tiers.iter().filter(|t| t.w != W).count();
                Group {
                    k,
                    gate,
                    blocks,
                    block_shift,
                    narrow,
                    narrow_shift,
                    tiers,
                    wide,
                    or_gate,
                }
            })
            .filter(|g| !g.tiers.is_empty())
            .collect();
        let short = if short_ids.is_empty() {
            None
        } else {
            let fold = short_ids.iter().any(|&i| pats[i as usize].ci);
            let keys: Vec<Vec<u8>> = short_ids
                .iter()
                .map(|&i| {
                    let p = &pats[i as usize];
                    if fold && !p.ci {
                        let mut f = Vec::new();
                        fold::fold_into(p.bytes, &mut f);
                        f
                    } else {
                        p.bytes.to_vec()
                    }
                })
                .collect();
            let full_fold = fold && keys.iter().any(|k| !k.is_ascii());
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&keys)
                .map_err(|e| e.to_string())?;
            Some(Short {
                ac,
                ids: short_ids,
                fold,
                full_fold,
            })
        };
        let pairs = classes
            .as_ref()
            .filter(|_| !ascii_classes)
            .and_then(|c| pair_table(c));
        Ok(Strided {
            pairs,
            ascii_classes,
            classes,
            groups,
            arena,
            pats: refs,
            short,
        })
    }

    /// Heap bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.tiers)
            .map(Tier::memory_usage)
            .sum::<usize>()
            + self
                .groups
                .iter()
                .map(|g| g.gate.len() * 8 + g.blocks.len() * 64)
                .sum::<usize>()
            + self.arena.len()
            + self.pats.len() * std::mem::size_of::<PatRef>()
            + self.short.as_ref().map_or(0, |s| s.ac.memory_usage())
    }

    /// The smallest stride.
    pub(crate) fn stride(&self) -> usize {
        self.groups.iter().map(|g| g.k).min().unwrap_or(1)
    }

    /// Report every occurrence of every pattern in `hay` as `(start, end,
    /// pattern)`, in no particular order. `fold_buf` is scratch space.
    pub(crate) fn find(
        &self,
        hay: &[u8],
        fold_buf: &mut Vec<u8>,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        for g in &self.groups {
            match &self.classes {
                None => self.probe::<false>(g, hay, |x| x, |x| x, emit),
                Some(_) if self.ascii_classes => self.probe::<false>(
                    g,
                    hay,
                    |x| x | 0x2020_2020,
                    |x| x | 0x2020_2020_2020_2020,
                    emit,
                ),
                Some(c) => match (&self.pairs, g.or_gate) {
                    // Only passing probes are mapped: two look-ups without
                    // the ASCII test, whose branch they mispredicted often.
                    (Some(p), true) => self.probe::<true>(
                        g,
                        hay,
                        |x| map4_pairs_flat(p, x),
                        |x| map8_fast(c, x),
                        emit,
                    ),
                    (Some(p), false) => {
                        self.probe::<false>(g, hay, |x| map4_pairs(p, x), |x| map8_fast(c, x), emit)
                    }
                    (None, true) => {
                        self.probe::<true>(g, hay, |x| map4_fast(c, x), |x| map8_fast(c, x), emit)
                    }
                    (None, false) => {
                        self.probe::<false>(g, hay, |x| map4_fast(c, x), |x| map8_fast(c, x), emit)
                    }
                },
            }
        }
        if let Some(s) = &self.short {
            let text: &[u8] = if s.fold {
                if s.full_fold {
                    fold::fold_into(hay, fold_buf);
                } else {
                    fold::fold_ascii_into(hay, fold_buf);
                }
                fold_buf
            } else {
                hay
            };
            for m in s.ac.find_overlapping_iter(text) {
                let id = s.ids[m.pattern().as_usize()] as usize;
                let p = self.pats[id];
                if s.fold && !p.ci && hay[m.start()..m.end()] != *self.bytes(p) {
                    continue;
                }
                emit(m.start(), m.end(), id);
            }
        }
    }

    #[inline(always)]
    fn bytes(&self, p: PatRef) -> &[u8] {
        &self.arena[p.start as usize..(p.start + p.len) as usize]
    }

    /// Probe the tiers of group `g` at every multiple of its stride. `OR`:
    /// the gate is keyed on [`or_key`] of the text, the tiers on classes.
    #[inline(never)]
    fn probe<const OR: bool>(
        &self,
        g: &Group,
        hay: &[u8],
        class4: impl Fn(u32) -> u32,
        class: impl Fn(u64) -> u64,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let k = g.k;
        let gate = &g.gate[..];
        // The gate has a power of two of words: a fixed shift and a mask
        // (no bounds check) give the word.
        let wmask = gate.len() - 1;
        let mut pos = 0;
        let mut pend = Pending {
            tier: [0; PENDING],
            pos: [0; PENDING],
            hash: [0; PENDING],
            n: 0,
        };
        // Positions with eight bytes ahead: one load serves all tiers.
        if hay.len() >= 8 {
            let last = hay.len() - 8;
            while pos <= last {
                let t4 = load4(hay, pos);
                let x4 = if OR { or_key(t4) } else { class4(t4) };
                let h4 = gate_hash(x4);
                let m4 = gate_mask(h4);
                if gate[gate_word(h4) & wmask] & m4 == m4 {
                    // The low half is mapped already (but for an OR key).
                    let x4 = if OR { class4(t4) } else { x4 };
                    let hi = class4(load4(hay, pos + 4));
                    self.stage2(g, hay, pos, x4 as u64 | (hi as u64) << 32, &mut pend, emit);
                }
                pos += k;
            }
        }
        // The last few positions: the grams that still fit.
        while pos + W <= hay.len() {
            let t = load(hay, pos, hay.len() - pos);
            let x = class(t);
            let h4 = gate_hash(if OR { or_key(t as u32) } else { x as u32 });
            let m4 = gate_mask(h4);
            if gate[gate_word(h4) & wmask] & m4 == m4 {
                self.stage2(g, hay, pos, x, &mut pend, emit);
            }
            pos += k;
        }
        self.flush(g, hay, &mut pend, emit);
    }

    /// Verify the pending candidates.
    #[inline(never)]
    fn flush(
        &self,
        g: &Group,
        hay: &[u8],
        pend: &mut Pending,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        for i in 0..pend.n {
            self.verify(
                &g.tiers[pend.tier[i] as usize],
                hay,
                pend.pos[i],
                pend.hash[i],
                emit,
            );
        }
        pend.n = 0;
    }

    /// Past the gate: test every tier's grams at `pos` (`x`: the eight bytes
    /// there, in classes, zero past the end) in the block of the first five
    /// bytes (the four-byte tier in its own filter). Out of line: about one
    /// probe in twenty gets here, and the probe loop keeps its values in
    /// registers.
    #[inline(never)]
    fn stage2(
        &self,
        g: &Group,
        hay: &[u8],
        pos: usize,
        x: u64,
        pend: &mut Pending,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let blk = &g.blocks[(block_hash(x) >> g.block_shift) as usize].0;
        // Eight bytes ahead (all but the last few probes): every tier fits.
        let full = pos + 8 <= hay.len();
        let (wide, narrow) = g.tiers.split_at(g.wide);
        for (ti, t) in wide.iter().enumerate() {
            if !full && pos + t.w > hay.len() {
                continue;
            }
            let gw = x & t.mask;
            let h = tier_hash(gw, ti);
            let m = bloom_mask(h);
            if blk[(h >> 61) as usize] & m == m {
                self.defer(g, hay, ti, t, pos, hash(gw), pend, emit);
            }
        }
        // The four-byte tier (a probe always has four bytes).
        if let Some(t) = narrow.first() {
            let gw = x & t.mask;
            let h = tier_hash(gw, g.wide);
            let m = bloom_mask(h);
            if g.narrow[(h >> g.narrow_shift) as usize] & m == m {
                self.defer(g, hay, g.wide, t, pos, hash(gw), pend, emit);
            }
        }
    }

    /// Queue a candidate for [`Strided::verify`] and fetch its slot: the
    /// tables are megabytes, and a candidate verified at once waited for
    /// the miss.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn defer(
        &self,
        g: &Group,
        hay: &[u8],
        ti: usize,
        t: &Tier,
        pos: usize,
        h: u64,
        pend: &mut Pending,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        t.prefetch(h);
        if pend.n == PENDING {
            self.flush(g, hay, pend, emit);
        }
        let i = pend.n;
        pend.tier[i] = ti as u8;
        pend.pos[i] = pos;
        pend.hash[i] = h;
        pend.n += 1;
    }

    #[inline(never)]
    fn verify(
        &self,
        tier: &Tier,
        hay: &[u8],
        pos: usize,
        h: u64,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let class = |x: u64, n: usize| {
            class8(self.classes.as_deref(), self.ascii_classes, x) & width_mask(n)
        };
        let Some((first, rest)) = tier.lookup(h) else {
            return;
        };
        for e in std::iter::once(first).chain(rest) {
            let (off, n) = (e.off as usize, e.len as usize);
            if off > pos || pos - off + n > hay.len() {
                continue;
            }
            let start = pos - off;
            let m = n.min(8);
            let (hx, tx) = (load(hay, start, m), load(hay, start + n - m, m));
            let pat = || self.bytes(self.pats[e.pat as usize]);
            let ok = if e.ci {
                if (hx | tx) & 0x8080_8080_8080_8080 == 0 {
                    // ASCII text folds by lowercasing its letters, and no
                    // other text folds to ASCII: head and tail compare
                    // exactly, and cover patterns of up to 16 bytes (no
                    // read of the pattern, a cache miss, for those).
                    if ascii_lower(hx) != e.head || ascii_lower(tx) != e.tail {
                        continue;
                    }
                    n <= 16 || fold::eq_folded(&hay[start..start + n], pat())
                } else {
                    if e.exact
                        && (class(hx, m) != class(e.head, m) || class(tx, m) != class(e.tail, m))
                    {
                        continue;
                    }
                    fold::eq_folded(&hay[start..start + n], pat())
                }
            } else {
                // Case-sensitive: the bytes themselves (also when other
                // patterns fold, and the probes use classes).
                if hx != e.head || tx != e.tail {
                    continue;
                }
                // Head and tail cover patterns of up to 16 bytes.
                n <= 16 || hay[start..start + n] == *pat()
            };
            if ok {
                emit(start, start + n, e.pat as usize);
            }
        }
    }
}

/// The home slot of a gram of hash `h` in a table of `n` home slots: the
/// hash's bits below the top one (the table's) scaled to `0..n`, in the
/// order of the hashes.
#[inline(always)]
fn home(h: u64, n: usize) -> usize {
    (((h << 1) as u128 * n as u128) >> 64) as usize
}

/// ASCII letters of `x` (eight bytes under 0x80) lowercased, as
/// `to_ascii_lowercase` does each byte: a byte from `A` to `Z` gets 0x20.
#[inline(always)]
fn ascii_lower(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // Bit 7 of a byte: at least `A`, and above `Z` (no carry crosses a
    // byte: every byte is under 0x80).
    let ge_a = x + ONES * (0x80 - b'A' as u64);
    let gt_z = x + ONES * (0x80 - b'Z' as u64 - 1);
    x | ((ge_a & !gt_z & (ONES * 0x80)) >> 2)
}

/// Four bytes at `at` (little-endian).
#[inline(always)]
fn load4(t: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&t[at..at + 4]);
    u32::from_le_bytes(b)
}

/// The gate key of four bytes of text when the gate is OR-keyed
/// ([`Group::or_gate`]): each byte `b | 0x20`, ASCII as the classes have
/// it, the others coarser (a capital and its small letter meet where their
/// bytes differ only in bit 5; the other forms are written into the gate).
/// One operation, no look-up, no branch.
#[inline(always)]
fn or_key(x: u32) -> u32 {
    x | 0x2020_2020
}

/// Append the gate keys ([`or_key`]) of the head (first four bytes) of
/// pattern `p`'s gram at `off`: the head's bytes with each of its non-ASCII
/// characters (whole or cut by the head's ends) in every form of `forms`
/// (for a case-insensitive pattern). False, with nothing appended, if the
/// head has more than [`MAX_HEAD_FORMS`] forms.
fn or_heads(src: &Src<'_>, forms: &Forms, p: u32, off: usize, out: &mut Vec<u32>) -> bool {
    let (at, n) = src.span(p);
    let head = load4(src.arena, at + off);
    if !src.refs[p as usize].ci || head & 0x8080_8080 == 0 {
        out.push(or_key(head));
        return true;
    }
    let from = out.len();
    out.push(head);
    for (start, c) in chars(&src.arena[at..at + n]) {
        let len = c.len_utf8();
        if start >= off + W || start + len <= off {
            continue;
        }
        let Some(others) = forms.get(&c) else {
            continue;
        };
        let have = out.len() - from;
        for &x in others {
            let mut enc = [0u8; 4];
            x.encode_utf8(&mut enc);
            for f in from..from + have {
                let mut k = out[f];
                for (b, &e) in enc[..len].iter().enumerate() {
                    if let Some(d) = (start + b).checked_sub(off).filter(|&d| d < W) {
                        k = k & !(0xFF << (8 * d)) | (e as u32) << (8 * d);
                    }
                }
                out.push(k);
            }
            if out.len() - from > MAX_HEAD_FORMS {
                out.truncate(from);
                return false;
            }
        }
    }
    for k in &mut out[from..] {
        *k = or_key(*k);
    }
    true
}

/// The block of a gram of five bytes or more: a hash of its first five.
#[inline(always)]
fn block_hash(g: u64) -> u64 {
    (g & 0xFF_FFFF_FFFF).wrapping_mul(0xA24B_AED4_963E_E407)
}

/// The gate's hash of a 4-byte gram: one multiplication; the word index
/// comes from bits 42.. and the mask from bits 32..41, all of which depend
/// on every bit of the gram.
#[inline(always)]
fn gate_hash(g: u32) -> u64 {
    (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[inline(always)]
fn gate_word(h: u64) -> usize {
    (h >> 42) as usize
}

#[inline(always)]
fn gate_mask(h: u64) -> u64 {
    MASKS[((h >> 32) & 1023) as usize]
}

/// 1,024 three-bit masks (splitmix64 positions), looked up instead of built.
static MASKS: [u64; 1024] = {
    let mut t = [0u64; 1024];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut i = 0;
    while i < 1024 {
        let mut m = 0u64;
        let mut bits = 0;
        while bits < 3 {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let b = 1u64 << (z & 63);
            if m & b == 0 {
                m |= b;
                bits += 1;
            }
        }
        t[i] = m;
        i += 1;
    }
    t
};

/// `n ≤ 8` bytes at `at` as a little-endian `u64` (zero above).
#[inline(always)]
fn load(t: &[u8], at: usize, n: usize) -> u64 {
    if let Some(w) = t.get(at..at + 8) {
        // One load and a mask instead of a copy of `n` bytes.
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        return u64::from_le_bytes(b) & width_mask(n);
    }
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&t[at..at + n]);
    u64::from_le_bytes(b)
}

#[inline(always)]
fn map4(c: &[u8; 256], g: u32) -> u32 {
    let b = g.to_le_bytes();
    u32::from_le_bytes(b.map(|x| c[x as usize]))
}

/// [`map4`] with a shortcut for four ASCII bytes (most of them in most
/// text): the table maps ASCII as `b | 0x20`.
#[inline(always)]
fn map4_fast(c: &[u8; 256], g: u32) -> u32 {
    if g & 0x8080_8080 == 0 {
        g | 0x2020_2020
    } else {
        map4(c, g)
    }
}

/// [`map4_pairs`] without the ASCII shortcut (the table maps ASCII pairs
/// too): no branch.
#[inline(always)]
fn map4_pairs_flat(p: &[u16; 1 << 16], g: u32) -> u32 {
    p[(g & 0xFFFF) as usize] as u32 | (p[(g >> 16) as usize] as u32) << 16
}

/// The classes of every pair of bytes (`None` only if the allocation is not
/// the size asked for).
fn pair_table(c: &[u8; 256]) -> Option<Box<[u16; 1 << 16]>> {
    (0..1usize << 16)
        .map(|i| c[i & 0xFF] as u16 | (c[i >> 8] as u16) << 8)
        .collect::<Box<[u16]>>()
        .try_into()
        .ok()
}

/// [`map4`] through the pair table: one OR for four ASCII bytes, two
/// look-ups (not four) for others.
#[inline(always)]
fn map4_pairs(p: &[u16; 1 << 16], g: u32) -> u32 {
    if g & 0x8080_8080 == 0 {
        g | 0x2020_2020
    } else {
        p[(g & 0xFFFF) as usize] as u32 | (p[(g >> 16) as usize] as u32) << 16
    }
}

/// [`map_gram`] with the shortcut of [`map4_fast`].
#[inline(always)]
fn map8_fast(c: &[u8; 256], g: u64) -> u64 {
    if g & 0x8080_8080_8080_8080 == 0 {
        g | 0x2020_2020_2020_2020
    } else {
        map_gram(c, g)
    }
}

/// Eight bytes in classes: `classes` as given, `ascii` as in
/// [`Strided::ascii_classes`]. Bytes past a gram's width map to 0x20: mask
/// after mapping.
#[inline(always)]
fn class8(classes: Option<&[u8; 256]>, ascii: bool, g: u64) -> u64 {
    match classes {
        None => g,
        Some(_) if ascii => g | 0x2020_2020_2020_2020,
        Some(c) => map8_fast(c, g),
    }
}

#[inline(always)]
fn map_gram(c: &[u8; 256], g: u64) -> u64 {
    let b = g.to_le_bytes();
    u64::from_le_bytes(b.map(|x| c[x as usize]))
}

/// The strides of the groups, smallest first. One group probes at the
/// largest stride that keeps every pattern of at least `W` bytes out of the
/// automaton; when a few short patterns force a small stride on many long
/// ones, the short ones get a group of their own (cheap: few grams, its
/// filter stays in L1) and the others a larger stride.
fn plan(pats: &[Pat<'_>]) -> Vec<usize> {
    if let Ok(v) = std::env::var("LIAISON_STRIDES") {
        return v.split(',').filter_map(|x| x.parse().ok()).collect();
    }
    let mut lens: Vec<usize> = pats
        .iter()
        .map(|p| p.bytes.len())
        .filter(|&n| n >= W)
        .collect();
    if lens.is_empty() {
        return Vec::new();
    }
    let shortest = lens.iter().copied().min().unwrap_or(W);
    // Split where at most 5 % of the patterns are shorter (the length
    // there found by selection: a sort of 100,000 lengths took milliseconds).
    let k1 = (shortest - W + 1).min(MAX_K);
    let nth = lens.len() / 20;
    let cut = *lens.select_nth_unstable(nth).1;
    let k2 = (cut - W + 1).min(MAX_K);
    // A second group costs a second probe stream: worth it only when it at
    // least halves the probes of the others.
    if k2 >= 2 * k1 {
        vec![k1, k2]
    } else {
        vec![k1]
    }
}

/// Byte classes for case-insensitive probing: each byte of a pattern
/// character is merged with the byte at the same position of every character
/// that folds to it (same UTF-8 length, see [`fold`]), but for the pairs
/// whose bytes differ in more than bit 5 and bit 0: those are returned as
/// [`Odd`] (unless a gram would need more than [`MAX_VARIANTS`] forms).
fn byte_classes(pats: &[Pat<'_>]) -> (Box<[u8; 256]>, Odd) {
    let mut parent: [u8; 256] = std::array::from_fn(|i| i as u8);
    fn find(p: &mut [u8; 256], mut x: u8) -> u8 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    // The non-ASCII characters of the case-insensitive patterns, a bit per
    // code point.
    let mut used = vec![0u64; (char::MAX as usize + 1) / 64];
    let bit = |c: char| (c as usize / 64, 1u64 << (c as usize % 64));
    for p in pats.iter().filter(|p| p.ci && !p.bytes.is_ascii()) {
        for c in String::from_utf8_lossy(p.bytes)
            .chars()
            .filter(|c| !c.is_ascii())
        {
            let (w, m) = bit(c);
            used[w] |= m;
        }
    }
    // ASCII letters always (an all-ASCII gram is then mapped by SWAR
    // lowercasing); the others only for the patterns' characters.
    let pairs: Vec<(char, char)> = fold::case_pairs()
        .iter()
        .filter(|&&(upper, folded)| {
            let (w, m) = bit(folded);
            upper.is_ascii() || used[w] & m != 0
        })
        .copied()
        .collect();
    let mut odd = Odd::default();
    for &(upper, folded) in &pairs {
        if !close_cases(upper, folded) {
            odd.entry(folded).or_default().push(upper);
        }
    }
    if !odd.is_empty() && most_forms(pats, &odd) > MAX_VARIANTS {
        odd.clear();
    }
    for &(upper, folded) in &pairs {
        if odd.get(&folded).is_some_and(|o| o.contains(&upper)) {
            continue;
        }
        let (mut a, mut b) = ([0u8; 4], [0u8; 4]);
        let (a, b) = (upper.encode_utf8(&mut a), folded.encode_utf8(&mut b));
        for (&x, &y) in a.as_bytes().iter().zip(b.as_bytes()) {
            let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
            if rx != ry {
                parent[rx.max(ry) as usize] = rx.min(ry);
            }
        }
    }
    let mut out = Box::new([0u8; 256]);
    for i in 0..256 {
        out[i] = find(&mut parent, i as u8);
    }
    // ASCII bytes map to `b | 0x20`: the two cases of a letter together
    // (no other character's bytes are ASCII, so no class joins ASCII with
    // other bytes), and a few rare bytes with others (`@` with `` ` ``,
    // control characters with punctuation), which costs nothing but lets an
    // all-ASCII gram map with one OR.
    for b in 0..0x80u8 {
        out[b as usize] = b | 0x20;
    }
    (out, odd)
}

/// Do the two characters' bytes differ only in bit 5 (the case bit of
/// ASCII, Latin-1 and most of Greek and Cyrillic) and bit 0 (the case bit
/// of Latin Extended, and the lead bytes of Greek and Cyrillic)? Merging
/// such bytes joins at most four bytes in a class.
fn close_cases(a: char, b: char) -> bool {
    let (mut x, mut y) = ([0u8; 4], [0u8; 4]);
    a.encode_utf8(&mut x);
    b.encode_utf8(&mut y);
    x.iter().zip(&y).all(|(p, q)| (p ^ q) & !0x21 == 0)
}

/// The most grams one eight-byte gram of a case-insensitive pattern would
/// be indexed as, with the forms of `odd` kept out of the classes.
fn most_forms(pats: &[Pat<'_>], odd: &Odd) -> usize {
    let mut most = 1;
    for p in pats.iter().filter(|p| p.ci && !p.bytes.is_ascii()) {
        let spans: Vec<(usize, usize, usize)> = chars(p.bytes)
            .filter_map(|(s, c)| odd.get(&c).map(|o| (s, s + c.len_utf8(), o.len() + 1)))
            .collect();
        for &(s, _, _) in &spans {
            // Every window that holds an odd character overlaps the same
            // characters as one that ends just past the start of one.
            for from in s.saturating_sub(7)..=s {
                let forms = spans
                    .iter()
                    .filter(|&&(a, b, _)| a < from + 8 && b > from)
                    .fold(1usize, |acc, &(_, _, f)| acc.saturating_mul(f));
                most = most.max(forms);
            }
        }
    }
    most
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence of `pats` in `hay` by [`Strided::find`], sorted.
    /// Case-insensitive patterns of (folded) keys.
    fn ci_pats(keys: &[String]) -> Vec<Pat<'_>> {
        keys.iter()
            .map(|k| Pat {
                bytes: k.as_bytes(),
                ci: true,
            })
            .collect()
    }

    fn found(pats: &[Pat<'_>], hay: &[u8]) -> Vec<(usize, usize, usize)> {
        let s = Strided::new(pats).unwrap();
        let mut got = Vec::new();
        s.find(hay, &mut Vec::new(), &mut |a, b, p| got.push((a, b, p)));
        got.sort_unstable();
        got
    }

    /// Candidates wait in a queue of [`PENDING`] while their slots load:
    /// runs of more hits than that, in every tier, and hits in the last
    /// bytes of the text (verified after the probes end) are all reported,
    /// once.
    #[test]
    fn queued_candidates_are_all_verified() {
        let terms = ["needle-one", "pin-two", "tack3", "kü-four-ß", "Ωmega-θ"];
        for ci in [false, true] {
            let folded: Vec<Vec<u8>> = terms
                .iter()
                .map(|t| {
                    let mut f = Vec::new();
                    if ci {
                        fold::fold_into(t.as_bytes(), &mut f);
                    } else {
                        f.extend_from_slice(t.as_bytes());
                    }
                    f
                })
                .collect();
            let pats: Vec<Pat<'_>> = folded.iter().map(|f| Pat { bytes: f, ci }).collect();
            for n in [1, PENDING - 1, PENDING, PENDING + 1, 5 * PENDING + 3] {
                let mut hay = Vec::new();
                let mut want = Vec::new();
                for i in 0..n {
                    for (p, t) in terms.iter().enumerate() {
                        hay.extend_from_slice(&b"xy "[..i % 3]);
                        want.push((hay.len(), hay.len() + t.len(), p));
                        hay.extend_from_slice(t.as_bytes());
                    }
                }
                assert_eq!(found(&pats, &hay), want, "ci {ci}, {n} of each");
            }
        }
    }

    /// `ascii_lower` lowercases as `u8::to_ascii_lowercase` does, every
    /// ASCII byte at every place of the eight, among other bytes.
    #[test]
    fn ascii_lower_as_the_byte_method() {
        let lower = |x: u64| u64::from_le_bytes(x.to_le_bytes().map(|b| b.to_ascii_lowercase()));
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for b in 0..0x80u64 {
            for j in 0..8 {
                seed = seed.wrapping_mul(0x5851_F42D_4C95_7F2D).wrapping_add(1);
                let around = (seed >> 1) & 0x7F7F_7F7F_7F7F_7F7F;
                let x = (around & !(0xFF << (8 * j))) | (b << (8 * j));
                assert_eq!(ascii_lower(x), lower(x), "{x:#018x}");
            }
        }
    }

    #[test]
    fn swar_shortcuts_agree_with_the_byte_table() {
        let (c, _) = byte_classes(&[Pat {
            bytes: "москва".as_bytes(),
            ci: true,
        }]);
        let pairs = pair_table(&c).unwrap();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..100_000u32 {
            // xorshift; every third word all-ASCII, to take the shortcut.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let g = if i % 3 == 0 {
                x & 0x7f7f_7f7f_7f7f_7f7f
            } else {
                x
            };
            assert_eq!(map8_fast(&c, g), map_gram(&c, g), "{g:#x}");
            assert_eq!(map4_fast(&c, g as u32), map4(&c, g as u32), "{g:#x}");
            assert_eq!(map4_pairs(&pairs, g as u32), map4(&c, g as u32), "{g:#x}");
            assert_eq!(
                map4_pairs_flat(&pairs, g as u32),
                map4(&c, g as u32),
                "{g:#x}"
            );
        }
        // Letters of both cases meet; other ASCII bytes stay apart from
        // letters and digits.
        for (u, l) in (b'A'..=b'Z').zip(b'a'..=b'z') {
            assert_eq!(c[u as usize], c[l as usize]);
        }
        assert_ne!(c[b'0' as usize], c[b'a' as usize]);
        assert_ne!(c[b' ' as usize], c[b'a' as usize]);
    }

    #[test]
    fn classes_merge_the_cases_of_pattern_letters_only() {
        let p = "москва";
        let (c, odd) = byte_classes(&[Pat {
            bytes: p.as_bytes(),
            ci: true,
        }]);
        assert!(odd.is_empty());
        assert_eq!(c[b'A' as usize], b'a');
        for (u, l) in "МОСКВА".chars().zip(p.chars()) {
            let (mut x, mut y) = ([0u8; 2], [0u8; 2]);
            u.encode_utf8(&mut x);
            l.encode_utf8(&mut y);
            assert_eq!(x.map(|b| c[b as usize]), y.map(|b| c[b as usize]), "{u}");
        }
        // Chinese bytes are not touched by Cyrillic folds beyond the shared
        // continuation bytes: 中 keeps its lead byte.
        assert_eq!(c[0xE4], 0xE4);
    }

    /// The second byte of `ϑ` (CF 91) is that of `α` and `Α`, of `ϴ`
    /// (CF B4) that of `δ`: the forms of `θ` stay out of the classes (as
    /// variant grams), so that `α`, `δ` and `θ` keep their own classes,
    /// while `Θ` (CE 98) and `θ` (CE B8) share theirs.
    #[test]
    fn odd_forms_stay_out_of_the_classes() {
        let p = "θαδ";
        let (c, odd) = byte_classes(&[Pat {
            bytes: p.as_bytes(),
            ci: true,
        }]);
        let mut forms = odd.get(&'θ').cloned().unwrap_or_default();
        forms.sort_unstable();
        assert_eq!(forms, ['ϑ', 'ϴ']);
        let classes = |s: &str| s.bytes().map(|b| c[b as usize]).collect::<Vec<u8>>();
        assert_eq!(classes("Θ"), classes("θ"));
        assert_eq!(classes("Α"), classes("α"));
        assert_ne!(classes("α"), classes("θ"));
        assert_ne!(classes("δ"), classes("θ"));
        assert_ne!(classes("α"), classes("δ"));
    }

    /// A gram of a pattern with odd characters is indexed in every
    /// combination of their forms; a list whose grams would need more than
    /// [`MAX_VARIANTS`] merges the forms into the classes instead.
    #[test]
    fn filter_bits_depend_on_every_byte_of_a_gram() {
        // Grams of one block (same first five bytes) that differ only in
        // their last byte: their filter bits must differ too, or a text
        // gram one byte off a listed one passes every time.
        for tier in 0..5 {
            let base = u64::from_le_bytes(*b"\xce\xb9\xcf\x83\xcf\x84\xce\xb1");
            let keys: std::collections::HashSet<(u64, u64)> = (0..=255u64)
                .map(|b| {
                    let h = tier_hash(base & !(0xFF << 56) | b << 56, tier);
                    (h >> 61, bloom_mask(h))
                })
                .collect();
            assert!(keys.len() > 240, "tier {tier}: {} distinct", keys.len());
        }
    }

    #[test]
    fn or_keyed_gate_holds_every_form_of_a_head() {
        // Capitals whose lead byte differs from the small letter's (`Σ` CE A3,
        // `σ` CF 83; `Р` D0 A0, `р` D1 80), forms of other bytes (`ς`, `ϱ`,
        // `ϑ`), Latin-1, and CJK beside them; each pattern found in every
        // form at every offset from a probe.
        let keys = [
            "στρατηγός",
            "ρυθμός",
            "распространение",
            "éléphant",
            "雷狼网络",
            "straße",
        ];
        // Patterns are given folded (`ς` as `σ`).
        let folded: Vec<String> = keys.iter().map(|k| fold::fold_str_owned(k)).collect();
        let pats = ci_pats(&folded);
        let s = Strided::new(&pats).unwrap();
        assert!(s.groups.iter().all(|g| g.or_gate));
        let forms = |k: &str| -> Vec<String> {
            vec![
                k.to_string(),
                k.to_uppercase(),
                k.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut u = c.to_uppercase();
                        match (u.next(), u.next()) {
                            (Some(u), None) if i % 2 == 0 => u,
                            _ => c,
                        }
                    })
                    .collect(),
                k.replace('σ', "ς").replace('ρ', "ϱ").replace('θ', "ϑ"),
            ]
        };
        for (p, k) in keys.iter().enumerate() {
            // Not `STRASSE`: folds that change the length are left alone.
            for f in forms(k)
                .into_iter()
                .filter(|f| f.chars().count() == k.chars().count())
            {
                for pad in 0..4 {
                    let text = format!("{}{f} x", "_".repeat(pad));
                    let got = found(&pats, text.as_bytes());
                    assert!(
                        got.iter().any(|&(a, _, q)| q == p && a == pad),
                        "{k} as {f} at {pad}: {got:?}"
                    );
                }
            }
        }
        // A head that differs from every form is not let through as if it
        // were one: `α` for the `ϱ` of `ρυθμός`.
        assert!(found(&pats, "αυθμός".as_bytes()).is_empty());
    }

    #[test]
    fn windows_without_other_forms_are_preferred() {
        // `ρ` has the other form `ϱ`, which in classes is `α`. The
        // pattern's windows after `ρ` are shared by fifty other patterns
        // (counted as common), the two over `ρ` by none: by counts alone
        // the run over `ρ` was taken, and its `ϱ` gram passed at every
        // `ρ`-less `…αβγ…` of the text.
        let odd = "ραβγδεζηλμ";
        let mut keys = vec![odd.to_string()];
        keys.extend((0..50).map(|i| format!("αβγδεζηλμ{}{}", (b'a' + i / 10) as char, i % 10)));
        keys.extend((0..10).map(|i| format!("abcde{i}")));
        let pats = ci_pats(&keys);
        let s = Strided::new(&pats).unwrap();
        assert!(s.pats[0].odd);
        assert_eq!(s.stride(), 3);
        let offs: Vec<u32> = s.groups[0]
            .tiers
            .iter()
            .flat_map(|t| {
                t.slots
                    .iter()
                    .flatten()
                    .map(|sl| sl.first)
                    .chain(t.entries.iter().flatten().copied())
            })
            .filter(|e| e.len > 0 && e.pat == 0)
            .map(|e| e.off)
            .collect();
        assert_eq!(offs.len(), 3, "{offs:?}");
        // `ρ` is bytes 0 and 1: no window of eight bytes at 0 or 1.
        assert!(offs.iter().all(|&o| o >= 2), "{offs:?}");
        // Still found in every form.
        for text in ["ραβγδεζηλμ", "ΡΑΒΓΔΕΖΗΛΜ", "ϱαβγδεζηλμ", "xx ϱΑβγΔεζηλμ yy"]
        {
            let got = found(&pats, text.as_bytes());
            assert!(got.iter().any(|&(_, _, p)| p == 0), "{text}: {got:?}");
        }
        assert!(found(&pats, "ααβγδεζηλμ".as_bytes())
            .iter()
            .all(|&(_, _, p)| p != 0));
    }

    #[test]
    fn variant_grams_of_odd_characters() {
        let pats = [Pat {
            bytes: "θθx".as_bytes(),
            ci: true,
        }];
        let (c, odd) = byte_classes(&pats);
        let s = Strided::new(&pats).unwrap();
        assert!(s.pats[0].odd);
        let src = Src {
            arena: &s.arena,
            refs: &s.pats,
            classes: Some(&c),
            ascii_classes: false,
            odd: &odd,
            par: false,
        };
        let mut got = Vec::new();
        src.grams(0, 0, 5, &mut got);
        let mut want: Vec<u64> = [
            "θθx", "ϑθx", "ϴθx", "θϑx", "ϑϑx", "ϴϑx", "θϴx", "ϑϴx", "ϴϴx",
        ]
        .iter()
        .map(|f| class8(Some(&c), false, load(f.as_bytes(), 0, 5)) & width_mask(5))
        .collect();
        want.sort_unstable();
        want.dedup();
        assert_eq!(want.len(), 9);
        assert_eq!(got, want);
        // Three forms of θ, and a gram of eight bytes holds four: 81 forms.
        let (c, odd) = byte_classes(&[Pat {
            bytes: "θθθθθ".as_bytes(),
            ci: true,
        }]);
        assert!(odd.is_empty());
        assert_eq!(c[0x91], c[0xB8]);
    }
}
