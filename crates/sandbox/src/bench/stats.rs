//! The one rule every bench summarises its samples by: the nearest-rank percentile, the
//! smallest sample with at least `p` % of the samples at or below it. A median is then always
//! a time or rate that was measured, and the benches' figures compare with one another.

/// The `p`-th percentile of `values` (nearest rank); `None` when there are none.
pub(crate) fn percentile<T: Copy + PartialOrd>(values: &[T], p: f64) -> Option<T> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

/// The nearest-rank median: of an even count, the lower of the two middle samples.
pub(crate) fn median<T: Copy + PartialOrd>(values: &[T]) -> Option<T> {
    percentile(values, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_samples() {
        assert_eq!(median(&[3, 1, 2]), Some(2));
        assert_eq!(median(&[5, 1, 3, 4]), Some(3));
        assert_eq!(median(&[7]), Some(7));
        assert_eq!(median::<u32>(&[]), None);
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&twenty, 95.0), Some(19.0));
        assert_eq!(percentile(&twenty, 100.0), Some(20.0));
        assert_eq!(percentile(&twenty, 0.0), Some(1.0));
    }
}
