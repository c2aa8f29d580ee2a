//! Seeded pseudo-random draws, so that what fault probabilities and propagation jitter
//! decide is the same in every run with the same seed.

/// A uniform draw in [0, 1) from the seed and the index of the draw (SplitMix64).
pub(crate) fn draw(seed: u64, index: u64) -> f64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits as a fraction.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::draw;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn draws_are_reproducible_uniform_and_below_one(seed in any::<u64>(), p in 0.05f64..0.95) {
            let fired = |seed| (0..2000u64).filter(|i| draw(seed, *i) < p).count();
            let a = fired(seed);
            prop_assert_eq!(a, fired(seed));
            let share = a as f64 / 2000.0;
            prop_assert!((share - p).abs() < 0.06, "share {} for p {}", share, p);
            prop_assert!((0..100u64).all(|i| (0.0..1.0).contains(&draw(seed, i))));
        }
    }
}
