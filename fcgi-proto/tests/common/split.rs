//! Split-anywhere equivalence: the same bytes fed in any chunking must give
//! the same outcome as feeding them whole.

use std::fmt::Debug;

/// Runs `run` on `input` fed whole, then split at every single point, then
/// one byte at a time, then at every pair of points when the input is short
/// (at most `pair_limit` bytes), and asserts every outcome equals the first.
/// Returns the outcome.
pub fn assert_split_anywhere<T, F>(input: &[u8], pair_limit: usize, run: F) -> T
where
    T: PartialEq + Debug,
    F: Fn(&[&[u8]]) -> T,
{
    let whole = run(&[input]);
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run(&[a, b]), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "byte at a time");
    if input.len() <= pair_limit {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let parts = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(run(&parts), whole, "split at {i} and {j}");
            }
        }
    }
    whole
}

/// Splits `input` at the given cut points (sorted and clamped), for proptest
/// strategies that pick arbitrary chunkings.
pub fn cut<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(&input[start..p]);
        start = p;
    }
    out.push(&input[start..]);
    out
}
