//! Deterministic randomness.
//!
//! ChaCha8 keyed by the population seed, with one stream per person: person `i` gets the same
//! life whatever the population size or the order in which persons are generated, so output is
//! reproducible and patients can be generated in parallel or on demand.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

/// Stream numbers at and above this are reserved for population-wide data (the directory).
const DIRECTORY_STREAM: u64 = u64::MAX;

pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    pub(crate) fn for_person(seed: u64, index: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        Self(rng)
    }

    pub(crate) fn for_directory(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(DIRECTORY_STREAM);
        Self(rng)
    }

    /// True with probability `p` (clamped to 0..=1).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.0.gen::<f64>() < p.clamp(0.0, 1.0)
    }

    /// Uniform integer in `lo..=hi`; returns `lo` when the range is empty.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.0.gen_range(lo..=hi)
        }
    }

    pub(crate) fn unit(&mut self) -> f64 {
        self.0.gen::<f64>()
    }

    /// Normal deviate (Box–Muller); good enough for vitals and lab values.
    pub(crate) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let u1 = self.0.gen::<f64>().max(f64::MIN_POSITIVE);
        let u2 = self.0.gen::<f64>();
        mean + sd * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Poisson count for small means (Knuth), capped so a bad mean cannot loop for long.
    pub(crate) fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean.max(0.0)).exp();
        let mut product = self.0.gen::<f64>();
        let mut count = 0;
        while product > limit && count < 50 {
            product *= self.0.gen::<f64>();
            count += 1;
        }
        count
    }

    /// One element of a constant table; the table being non-empty is checked at compile time,
    /// so the index is always in bounds.
    pub(crate) fn pick<'a, T, const N: usize>(&mut self, items: &'a [T; N]) -> &'a T {
        const { assert!(N > 0, "pick needs a non-empty table") };
        &items[self.0.gen_range(0..N)]
    }

    /// Index chosen by relative weights (all zero picks the first).
    pub(crate) fn weighted<const N: usize>(&mut self, weights: &[f64; N]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.0.gen::<f64>() * total;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i;
            }
            target -= w;
        }
        0
    }

    /// Random (version 4 layout) UUID, as used for resource ids.
    pub(crate) fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.0.gen();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// `n` decimal digits.
    pub(crate) fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.0.gen_range(0..10u8)))
            .collect()
    }
}
