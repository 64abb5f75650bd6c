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
//! Case-insensitive patterns are stored folded ([`crate::fold`]). The probe
//! maps each text byte through a table that merges every byte with the bytes
//! of the same position in the characters that fold to the same pattern
//! character (byte-wise, since the fold keeps UTF-8 lengths), so a folded
//! occurrence gives the same probe value as the pattern; candidates are then
//! compared with the text folded on the fly. No copy of the text is folded.
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
    ci: bool,
}

/// One slot of an exact gram table (open addressing).
#[derive(Clone, Copy)]
struct Slot {
    gram: u64,
    /// `entries[start..end]`; `start == end` marks an empty slot.
    start: u32,
    end: u32,
}

/// The grams of one width in one group: a Bloom filter and the exact table
/// behind it.
struct Tier {
    w: usize,
    /// Mask of the low `w` bytes of a `u64`.
    mask: u64,
    slots: Vec<Slot>,
    slot_shift: u32,
    entries: Vec<Entry>,
    /// The distinct grams.
    grams: Vec<u64>,
}

/// A pattern behind a gram, with its first and last eight bytes (in byte
/// classes) to reject most candidates without reading the pattern.
#[derive(Clone, Copy)]
struct Entry {
    pat: u32,
    /// Offset of the gram in the pattern.
    off: u32,
    len: u32,
    head: u64,
    tail: u64,
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
    /// test per probe before the tiers' own filters. A power of two of words,
    /// indexed by the top bits of [`gate_hash`].
    gate: Vec<u64>,
    gate_shift: u32,
    /// Behind the gate, a blocked Bloom filter of every tier's whole grams:
    /// the block (one cache line) is chosen by the gate hash, so a probe that
    /// passes the gate tests all tiers in one line.
    blocks: Vec<Block>,
    block_shift: u32,
    tiers: Vec<Tier>,
}

/// The compiled matcher. Immutable and shared by all scanning threads.
pub(crate) struct Strided {
    /// Byte classes for the probe when some pattern is case-insensitive.
    classes: Option<Box<[u8; 256]>>,
    /// The classes merge only the two cases of ASCII letters.
    ascii_classes: bool,
    groups: Vec<Group>,
    arena: Vec<u8>,
    pats: Vec<PatRef>,
    short: Option<Short>,
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
                    .map(|t| format!("w{}:{}", t.w, t.entries.len()))
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

/// Three bits of one Bloom word, from the low bits of the hash (the word
/// index comes from the high bits).
#[inline(always)]
fn bloom_mask(h: u64) -> u64 {
    (1u64 << (h & 63)) | (1u64 << ((h >> 6) & 63)) | (1u64 << ((h >> 12) & 63))
}

fn width_mask(w: usize) -> u64 {
    if w >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * w)) - 1
    }
}

impl Tier {
    /// Index `k` consecutive `w`-grams of each pattern in `ids`: the run whose
    /// grams are the least frequent among all these patterns' grams (an
    /// approximate count in a hashed counter array).
    fn new(w: usize, k: usize, ids: &[u32], pats: &[Pat<'_>], classes: Option<&[u8; 256]>) -> Tier {
        let class = |g: u64| match classes {
            None => g,
            Some(c) => map_gram(c, g),
        };
        const COUNT_BITS: u32 = 20;
        let mut counts = vec![0u16; 1 << COUNT_BITS];
        let cidx = |g: u64| (hash(g) >> (64 - COUNT_BITS)) as usize;
        // Each pattern's windows: (gram, its counter).
        let mut windows: Vec<(u64, usize)> = Vec::new();
        let mut all: Vec<u32> = Vec::with_capacity(ids.len());
        let mut starts: Vec<usize> = Vec::with_capacity(ids.len() + 1);
        for &i in ids {
            let b = pats[i as usize].bytes;
            starts.push(windows.len());
            for o in 0..=b.len() - w {
                let g = class(load(b, o, w));
                let c = cidx(g);
                counts[c] = counts[c].saturating_add(1);
                windows.push((g, c));
            }
            all.push(i);
        }
        starts.push(windows.len());
        let mut grams: Vec<(u64, u32, u32)> = Vec::with_capacity(ids.len() * k);
        let entry = |i: u32, off: u32| {
            let b = pats[i as usize].bytes;
            let n = b.len();
            Entry {
                pat: i,
                off,
                len: n as u32,
                head: class(load(b, 0, n.min(8))),
                tail: class(load(b, n.saturating_sub(8), n.min(8))),
            }
        };
        for (x, &i) in all.iter().enumerate() {
            let win = &windows[starts[x]..starts[x + 1]];
            let cost = |o: usize| counts[win[o].1] as u64;
            let mut sum: u64 = (0..k).map(cost).sum();
            let (mut best, mut best_j) = (sum, 0);
            for j in 1..=win.len() - k {
                sum = sum + cost(j + k - 1) - cost(j - 1);
                if sum < best {
                    best = sum;
                    best_j = j;
                }
            }
            for (o, &(g, _)) in win.iter().enumerate().skip(best_j).take(k) {
                grams.push((g, i, o as u32));
            }
        }
        grams.sort_unstable_by_key(|g| g.0);
        let mut distinct = 0usize;
        for (i, g) in grams.iter().enumerate() {
            if i == 0 || grams[i - 1].0 != g.0 {
                distinct += 1;
            }
        }
        let nslots = (distinct * 2).next_power_of_two().max(16);
        let slot_shift = 64 - nslots.trailing_zeros();
        let empty = Slot {
            gram: 0,
            start: 0,
            end: 0,
        };
        let mut slots = vec![empty; nslots];
        let mut entries = Vec::with_capacity(grams.len());
        let mut distinct_grams = Vec::with_capacity(distinct);
        let mut i = 0;
        while i < grams.len() {
            let g = grams[i].0;
            distinct_grams.push(g);
            let start = entries.len() as u32;
            while i < grams.len() && grams[i].0 == g {
                entries.push(entry(grams[i].1, grams[i].2));
                i += 1;
            }
            let h = hash(g);
            let mut s = (h >> slot_shift) as usize;
            while slots[s].start != slots[s].end {
                s = (s + 1) & (nslots - 1);
            }
            slots[s] = Slot {
                gram: g,
                start,
                end: entries.len() as u32,
            };
        }
        Tier {
            w,
            mask: width_mask(w),
            slots,
            slot_shift,
            entries,
            grams: distinct_grams,
        }
    }

    fn memory_usage(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self.grams.len() * 8
    }

    /// The entries of gram `g` (hash `h`).
    #[inline(always)]
    fn lookup(&self, g: u64, h: u64) -> &[Entry] {
        let mask = self.slots.len() - 1;
        let mut s = (h >> self.slot_shift) as usize;
        loop {
            let sl = self.slots[s];
            if sl.start == sl.end {
                return &[];
            }
            if sl.gram == g {
                return &self.entries[sl.start as usize..sl.end as usize];
            }
            s = (s + 1) & mask;
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
            });
            arena.extend_from_slice(p.bytes);
        }
        let classes = pats.iter().any(|p| p.ci).then(|| byte_classes(pats));
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
        let groups = plan
            .iter()
            .zip(by_tier)
            .map(|(&k, tiers)| {
                let tiers = build_tiers(k, &tiers, pats, classes.as_deref());
                let mut heads: Vec<u64> = tiers
                    .iter()
                    .flat_map(|t| &t.grams)
                    .map(|g| g & 0xFFFF_FFFF)
                    .collect();
                heads.sort_unstable();
                heads.dedup();
                let words = (heads.len() * BITS_PER_GRAM / 64)
                    .next_power_of_two()
                    .clamp(8, 1 << 24);
                let gate_shift = 64 - words.trailing_zeros();
                let mut gate = vec![0u64; words];
                for &g in &heads {
                    let h = gate_hash(g as u32);
                    gate[(h >> gate_shift) as usize] |= gate_mask(h);
                }
                let grams: usize = tiers.iter().map(|t| t.entries.len()).sum();
                let nblocks = (grams * 32 / 512).next_power_of_two().clamp(2, 1 << 20);
                let block_shift = 64 - nblocks.trailing_zeros();
                let mut blocks = vec![Block([0; 8]); nblocks];
                for (ti, t) in tiers.iter().enumerate() {
                    for &g in &t.grams {
                        let b = (gate_hash(g as u32) >> block_shift) as usize;
                        let h = tier_hash(g, ti);
                        blocks[b].0[(h >> 61) as usize] |= bloom_mask(h);
                    }
                }
                Group {
                    k,
                    gate,
                    gate_shift,
                    blocks,
                    block_shift,
                    tiers,
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
        let ascii_classes = classes.as_ref().is_some_and(|c| {
            (0..256).all(|b| {
                let u = b as u8;
                c[b] == if u < 0x80 { u.to_ascii_lowercase() } else { u }
            })
        });
        Ok(Strided {
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
                None => self.probe(g, hay, |x| x, |x| x, emit),
                // Only ASCII letters merged: SWAR lowercasing, whatever the bytes.
                Some(c) if self.ascii_classes => {
                    self.probe(g, hay, lower4_any, |x| map_gram(c, x), emit)
                }
                Some(c) if c[b'A' as usize] == b'a' => self.probe(
                    g,
                    hay,
                    |x| map4_ascii_fast(c, x),
                    |x| map8_ascii_fast(c, x),
                    emit,
                ),
                Some(c) => self.probe(g, hay, |x| map4(c, x), |x| map_gram(c, x), emit),
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

    /// Probe the tiers of group `g` at every multiple of its stride.
    #[inline(always)]
    fn probe(
        &self,
        g: &Group,
        hay: &[u8],
        class4: impl Fn(u32) -> u32,
        class: impl Fn(u64) -> u64,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let k = g.k;
        let (gate, shift) = (&g.gate[..], g.gate_shift);
        let mut pos = 0;
        // Positions with eight bytes ahead: one load serves all tiers.
        if hay.len() >= 8 {
            let last = hay.len() - 8;
            while pos <= last {
                let x4 = class4(load4(hay, pos));
                let h4 = gate_hash(x4);
                let m4 = gate_mask(h4);
                if gate[(h4 >> shift) as usize] & m4 == m4 {
                    // The low half is mapped already.
                    let hi = class4(load4(hay, pos + 4));
                    self.stage2(g, hay, pos, h4, x4 as u64 | (hi as u64) << 32, emit);
                }
                pos += k;
            }
        }
        // The last few positions: the grams that still fit.
        while pos + W <= hay.len() {
            let x = class(load(hay, pos, hay.len() - pos));
            let h4 = gate_hash(x as u32);
            let m4 = gate_mask(h4);
            if gate[(h4 >> shift) as usize] & m4 == m4 {
                self.stage2(g, hay, pos, h4, x, emit);
            }
            pos += k;
        }
    }

    /// Past the gate: test every tier's grams at `pos` (`x`: the eight bytes
    /// there, in classes, zero past the end) in the gate hash's block.
    #[inline(always)]
    fn stage2(
        &self,
        g: &Group,
        hay: &[u8],
        pos: usize,
        h4: u64,
        x: u64,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let blk = &g.blocks[(h4 >> g.block_shift) as usize].0;
        for (ti, t) in g.tiers.iter().enumerate() {
            if pos + t.w > hay.len() {
                continue;
            }
            let gw = x & t.mask;
            let h = tier_hash(gw, ti);
            let m = bloom_mask(h);
            if blk[(h >> 61) as usize] & m == m {
                self.verify(t, hay, pos, gw, hash(gw), emit);
            }
        }
    }

    #[inline(never)]
    fn verify(
        &self,
        tier: &Tier,
        hay: &[u8],
        pos: usize,
        g: u64,
        h: u64,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let class = |x: u64| match &self.classes {
            None => x,
            Some(c) => map8_ascii_fast(c, x),
        };
        let es = tier.lookup(g, h);
        for e in es {
            let (off, n) = (e.off as usize, e.len as usize);
            if off > pos || pos - off + n > hay.len() {
                continue;
            }
            let start = pos - off;
            if class(load(hay, start, n.min(8))) != e.head
                || class(load(hay, start + n - n.min(8), n.min(8))) != e.tail
            {
                continue;
            }
            let p = self.pats[e.pat as usize];
            let ok = if p.ci {
                fold::eq_folded(&hay[start..start + n], self.bytes(p))
            } else {
                // Head and tail cover patterns of up to 16 bytes (compared
                // as bytes when there are no classes).
                (n <= 16 && self.classes.is_none()) || hay[start..start + n] == *self.bytes(p)
            };
            if ok {
                emit(start, start + n, e.pat as usize);
            }
        }
    }
}

/// Four bytes at `at` (little-endian).
#[inline(always)]
fn load4(t: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&t[at..at + 4]);
    u32::from_le_bytes(b)
}

/// The gate's hash of a 4-byte gram: one multiplication; the word index
/// comes from the top bits and the mask from bits 32.., all of which depend
/// on every bit of the gram.
#[inline(always)]
fn gate_hash(g: u32) -> u64 {
    (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
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
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&t[at..at + n]);
    u64::from_le_bytes(b)
}

#[inline(always)]
fn map4(c: &[u8; 256], g: u32) -> u32 {
    let b = g.to_le_bytes();
    u32::from_le_bytes(b.map(|x| c[x as usize]))
}

/// [`map4`] for classes whose ASCII letters stand as lowercase: an all-ASCII
/// gram (most of them in most text) is lowercased without the table.
#[inline(always)]
fn map4_ascii_fast(c: &[u8; 256], g: u32) -> u32 {
    if g & 0x8080_8080 == 0 {
        ascii_lower4(g)
    } else {
        map4(c, g)
    }
}

/// [`map_gram`] with the all-ASCII shortcut of [`map4_ascii_fast`] (falls
/// back to the table when the classes' letters do not stand as lowercase).
#[inline(always)]
fn map8_ascii_fast(c: &[u8; 256], g: u64) -> u64 {
    if g & 0x8080_8080_8080_8080 == 0 && c[b'A' as usize] == b'a' {
        let ge_a = g.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
        let gt_z = g.wrapping_add(0x2525_2525_2525_2525);
        g | (((ge_a ^ gt_z) & 0x8080_8080_8080_8080) >> 2)
    } else {
        map_gram(c, g)
    }
}

/// Lowercase the ASCII capitals among any four bytes (bytes from 0x80 up
/// are left as they are: their high bit masks them out).
#[inline(always)]
fn lower4_any(g: u32) -> u32 {
    let h = g & 0x7f7f_7f7f;
    let upper = (h.wrapping_add(0x3f3f_3f3f) ^ h.wrapping_add(0x2525_2525)) & !g & 0x8080_8080;
    g | (upper >> 2)
}

/// Lowercase the ASCII capitals among four ASCII bytes (SWAR: for each byte,
/// the high bit of `b + 0x3f` says `b >= 'A'`, that of `b + 0x25` `b > 'Z'`).
#[inline(always)]
fn ascii_lower4(g: u32) -> u32 {
    let ge_a = g.wrapping_add(0x3f3f_3f3f);
    let gt_z = g.wrapping_add(0x2525_2525);
    g | (((ge_a ^ gt_z) & 0x8080_8080) >> 2)
}

#[inline(always)]
fn map_gram(c: &[u8; 256], g: u64) -> u64 {
    let b = g.to_le_bytes();
    u64::from_le_bytes(b.map(|x| c[x as usize]))
}

/// The tiers of one group (the non-empty ones), built on two threads when
/// there are many patterns: the widest tier holds most of them.
fn build_tiers(
    k: usize,
    ids: &[Vec<u32>],
    pats: &[Pat<'_>],
    classes: Option<&[u8; 256]>,
) -> Vec<Tier> {
    let todo: Vec<(usize, &Vec<u32>)> = ids
        .iter()
        .enumerate()
        .filter(|(_, ids)| !ids.is_empty())
        .collect();
    let total: usize = todo.iter().map(|(_, ids)| ids.len()).sum();
    if total < 20_000 || todo.len() < 2 {
        return todo
            .into_iter()
            .map(|(t, ids)| Tier::new(WIDTHS[t], k, ids, pats, classes))
            .collect();
    }
    // The first (widest) tier on its own thread, the others here.
    std::thread::scope(|s| {
        let (t0, ids0) = todo[0];
        let first = s.spawn(move || Tier::new(WIDTHS[t0], k, ids0, pats, classes));
        let rest: Vec<Tier> = todo[1..]
            .iter()
            .map(|&(t, ids)| Tier::new(WIDTHS[t], k, ids, pats, classes))
            .collect();
        let mut out = vec![first
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))];
        out.extend(rest);
        out
    })
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
    lens.sort_unstable();
    let k1 = (lens[0] - W + 1).min(MAX_K);
    // Split where at most 5 % of the patterns are shorter.
    let cut = lens[lens.len() / 20];
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
/// that folds to it (same UTF-8 length, see [`fold`]).
fn byte_classes(pats: &[Pat<'_>]) -> Box<[u8; 256]> {
    let mut parent: [u8; 256] = std::array::from_fn(|i| i as u8);
    fn find(p: &mut [u8; 256], mut x: u8) -> u8 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    let mut used = std::collections::HashSet::new();
    for p in pats.iter().filter(|p| p.ci) {
        for c in String::from_utf8_lossy(p.bytes).chars() {
            used.insert(c);
        }
    }
    for &(upper, folded) in fold::case_pairs() {
        // ASCII letters always (an all-ASCII gram is then mapped by SWAR
        // lowercasing); the others only for the patterns' characters.
        if !upper.is_ascii() && !used.contains(&folded) {
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
    // ASCII letters stand for their class as the lowercase letter (a class
    // holds at most the two cases of one letter: no other character's bytes
    // are ASCII), so that an all-ASCII gram maps by SWAR lowercasing.
    for b in b'A'..=b'Z' {
        let lower = b.to_ascii_lowercase();
        if out[b as usize] == out[lower as usize] {
            out[b as usize] = lower;
            out[lower as usize] = lower;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_lowercase_agrees_with_the_byte_table() {
        for a in 0u8..0x80 {
            for b in [b'@', b'A', b'Z', b'[', b'`', b'a', b'z', b'{', 0x7f, b'0'] {
                let g = u32::from_le_bytes([a, b, b'M', a]);
                let want = u32::from_le_bytes([a, b, b'M', a].map(|x| x.to_ascii_lowercase()));
                assert_eq!(ascii_lower4(g), want, "{a:#x} {b:#x}");
                for hi in [0x80u8, 0xC1, 0xC3, 0xDA, 0xE1, 0xFF] {
                    let bytes = [a, hi, b, hi ^ 0x20];
                    let want = u32::from_le_bytes(bytes.map(|x| x.to_ascii_lowercase()));
                    assert_eq!(lower4_any(u32::from_le_bytes(bytes)), want, "{bytes:?}");
                }
                let mut t = [0u8; 256];
                for (i, x) in t.iter_mut().enumerate() {
                    *x = (i as u8).to_ascii_lowercase();
                }
                let g8 = u64::from_le_bytes([a, b, b'Q', b'q', b, a, b'_', b'Z']);
                assert_eq!(map8_ascii_fast(&t, g8), map_gram(&t, g8));
            }
        }
    }

    #[test]
    fn classes_merge_the_cases_of_pattern_letters_only() {
        let p = "москва";
        let c = byte_classes(&[Pat {
            bytes: p.as_bytes(),
            ci: true,
        }]);
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
}
