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

/// Gram width in bytes (one unaligned `u32` load).
const W: usize = 4;
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

/// One slot of the exact gram table (open addressing).
#[derive(Clone, Copy)]
struct Slot {
    gram: u32,
    /// `entries[start..end]`; `start == end` marks an empty slot.
    start: u32,
    end: u32,
}

/// The compiled matcher. Immutable and shared by all scanning threads.
pub(crate) struct Strided {
    k: usize,
    /// Byte classes for the probe when some pattern is case-insensitive.
    classes: Option<Box<[u8; 256]>>,
    bloom: Vec<u64>,
    bloom_shift: u32,
    slots: Vec<Slot>,
    slot_shift: u32,
    /// (pattern, offset of the gram in the pattern).
    entries: Vec<(u32, u32)>,
    arena: Vec<u8>,
    pats: Vec<PatRef>,
    short: Option<Short>,
}

/// Patterns shorter than `W + K - 1` bytes, in an automaton.
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
        f.debug_struct("Strided")
            .field("stride", &self.k)
            .field("patterns", &self.pats.len())
            .field("grams", &self.entries.len())
            .field("bloom_bytes", &(self.bloom.len() * 8))
            .field("short", &self.short.as_ref().map_or(0, |s| s.ids.len()))
            .finish()
    }
}

#[inline(always)]
fn hash(g: u32) -> u64 {
    let h = (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h ^ (h >> 32)).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// Three bits of one Bloom word, from the low bits of the hash (the word
/// index comes from the high bits).
#[inline(always)]
fn bloom_mask(h: u64) -> u64 {
    (1u64 << (h & 63)) | (1u64 << ((h >> 6) & 63)) | (1u64 << ((h >> 12) & 63))
}

#[inline(always)]
fn gram_at(t: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]])
}

impl Strided {
    /// Compile. Pattern `i` of `pats` is reported as `i`. Empty patterns are
    /// never reported.
    pub(crate) fn new(pats: &[Pat<'_>]) -> Result<Strided, String> {
        let k = choose_stride(pats);
        let min_len = W + k - 1;
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
        let class = |g: u32| -> u32 {
            match &classes {
                None => g,
                Some(c) => map_gram(c, g),
            }
        };

        // Gram counts over all windows of all long patterns (approximate: a
        // hashed counter array), to pick each pattern's rarest K grams.
        let long: Vec<u32> = (0..pats.len() as u32)
            .filter(|&i| pats[i as usize].bytes.len() >= min_len)
            .collect();
        const COUNT_BITS: u32 = 20;
        let mut counts = vec![0u16; 1 << COUNT_BITS];
        let cidx = |g: u32| (hash(g) >> (64 - COUNT_BITS)) as usize;
        for &i in &long {
            let b = pats[i as usize].bytes;
            for o in 0..=b.len() - W {
                let c = &mut counts[cidx(class(gram_at(b, o)))];
                *c = c.saturating_add(1);
            }
        }
        let mut grams: Vec<(u32, u32, u32)> = Vec::with_capacity(long.len() * k);
        for &i in &long {
            let b = pats[i as usize].bytes;
            let n_windows = b.len() - W + 1;
            let cost = |o: usize| counts[cidx(class(gram_at(b, o)))] as u64;
            // Sliding sum of the costs of K consecutive grams.
            let mut sum: u64 = (0..k).map(cost).sum();
            let (mut best, mut best_j) = (sum, 0);
            for j in 1..=n_windows - k {
                sum = sum + cost(j + k - 1) - cost(j - 1);
                if sum < best {
                    best = sum;
                    best_j = j;
                }
            }
            for o in best_j..best_j + k {
                grams.push((class(gram_at(b, o)), i, o as u32));
            }
        }
        grams.sort_unstable();

        // Bloom filter: about 12 bits per gram, three bits set in one word.
        let distinct = {
            let mut n = 0usize;
            let mut last = None;
            for g in &grams {
                if last != Some(g.0) {
                    n += 1;
                    last = Some(g.0);
                }
            }
            n
        };
        let words = (distinct * 12 / 64).next_power_of_two().clamp(64, 1 << 22);
        let bloom_shift = 64 - words.trailing_zeros();
        let mut bloom = vec![0u64; words];
        let nslots = (distinct * 2).next_power_of_two().max(16);
        let slot_shift = 64 - nslots.trailing_zeros();
        let mut slots = vec![
            Slot {
                gram: 0,
                start: 0,
                end: 0
            };
            nslots
        ];
        let mut entries = Vec::with_capacity(grams.len());
        let mut i = 0;
        while i < grams.len() {
            let g = grams[i].0;
            let start = entries.len() as u32;
            while i < grams.len() && grams[i].0 == g {
                entries.push((grams[i].1, grams[i].2));
                i += 1;
            }
            let h = hash(g);
            bloom[(h >> bloom_shift) as usize] |= bloom_mask(h);
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

        let short_ids: Vec<u32> = (0..pats.len() as u32)
            .filter(|&i| {
                let n = pats[i as usize].bytes.len();
                n > 0 && n < min_len
            })
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
        Ok(Strided {
            k,
            classes,
            bloom,
            bloom_shift,
            slots,
            slot_shift,
            entries,
            arena,
            pats: refs,
            short,
        })
    }

    /// Heap bytes.
    pub(crate) fn memory_usage(&self) -> usize {
        self.bloom.len() * 8
            + self.slots.len() * std::mem::size_of::<Slot>()
            + self.entries.len() * 8
            + self.arena.len()
            + self.pats.len() * std::mem::size_of::<PatRef>()
            + self.short.as_ref().map_or(0, |s| s.ac.memory_usage())
    }

    /// The stride.
    pub(crate) fn stride(&self) -> usize {
        self.k
    }

    /// Report every occurrence of every pattern in `hay` as `(start, end,
    /// pattern)`, in no particular order. `fold_buf` is scratch space.
    pub(crate) fn find(
        &self,
        hay: &[u8],
        fold_buf: &mut Vec<u8>,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        if !self.entries.is_empty() && hay.len() >= W {
            match &self.classes {
                None => self.probe(hay, |g| g, emit),
                Some(c) => self.probe(hay, |g| map_gram(c, g), emit),
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

    #[inline(always)]
    fn probe(
        &self,
        hay: &[u8],
        class: impl Fn(u32) -> u32,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let k = self.k;
        let last = hay.len() - W;
        let bloom = &self.bloom[..];
        let shift = self.bloom_shift;
        let mut pos = 0;
        // Two probes per step: their loads and hashes overlap.
        while pos + k <= last {
            let (g0, g1) = (class(gram_at(hay, pos)), class(gram_at(hay, pos + k)));
            let (h0, h1) = (hash(g0), hash(g1));
            let (m0, m1) = (bloom_mask(h0), bloom_mask(h1));
            let (w0, w1) = (bloom[(h0 >> shift) as usize], bloom[(h1 >> shift) as usize]);
            if w0 & m0 == m0 {
                self.verify(hay, pos, g0, h0, emit);
            }
            if w1 & m1 == m1 {
                self.verify(hay, pos + k, g1, h1, emit);
            }
            pos += 2 * k;
        }
        while pos <= last {
            let g = class(gram_at(hay, pos));
            let h = hash(g);
            let m = bloom_mask(h);
            if bloom[(h >> shift) as usize] & m == m {
                self.verify(hay, pos, g, h, emit);
            }
            pos += k;
        }
    }

    #[inline(never)]
    fn verify(
        &self,
        hay: &[u8],
        pos: usize,
        g: u32,
        h: u64,
        emit: &mut dyn FnMut(usize, usize, usize),
    ) {
        let mask = self.slots.len() - 1;
        let mut s = (h >> self.slot_shift) as usize;
        let slot = loop {
            let sl = self.slots[s];
            if sl.start == sl.end {
                return;
            }
            if sl.gram == g {
                break sl;
            }
            s = (s + 1) & mask;
        };
        for &(pi, off) in &self.entries[slot.start as usize..slot.end as usize] {
            let off = off as usize;
            if off > pos {
                continue;
            }
            let start = pos - off;
            let p = self.pats[pi as usize];
            let end = start + p.len as usize;
            if end > hay.len() {
                continue;
            }
            let pat = self.bytes(p);
            let ok = if p.ci {
                fold::eq_folded(&hay[start..end], pat)
            } else {
                hay[start..end] == *pat
            };
            if ok {
                emit(start, end, pi as usize);
            }
        }
    }
}

#[inline(always)]
fn map_gram(c: &[u8; 256], g: u32) -> u32 {
    let b = g.to_le_bytes();
    u32::from_le_bytes([
        c[b[0] as usize],
        c[b[1] as usize],
        c[b[2] as usize],
        c[b[3] as usize],
    ])
}

/// The stride: the largest that keeps every pattern of at least `W` bytes out
/// of the short automaton, unless a few short patterns make an automaton pass
/// cheaper than a smaller stride (an automaton pass over all bytes costs about
/// as much as probing every byte).
fn choose_stride(pats: &[Pat<'_>]) -> usize {
    let mut lens: Vec<usize> = pats
        .iter()
        .map(|p| p.bytes.len())
        .filter(|&n| n > 0)
        .collect();
    if lens.is_empty() {
        return 1;
    }
    lens.sort_unstable();
    let mut best = (f64::INFINITY, 1);
    for k in 1..=MAX_K {
        let needs_short = lens[0] < W + k - 1;
        if lens[lens.len() - 1] < W + k - 1 {
            break;
        }
        let cost = 1.0 / k as f64 + if needs_short { 1.0 } else { 0.0 };
        if cost < best.0 {
            best = (cost, k);
        }
    }
    best.1
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
        if !used.contains(&folded) {
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
    out
}
