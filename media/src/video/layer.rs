//! The sizes a camera is sent at (simulcast layers), and the shared set of those wanted.
//!
//! A camera's picture can go out in up to three sizes at once: full, half and a quarter of
//! the captured width and height. Each is its own H.264 stream, so a viewer showing the
//! camera as a small tile takes the small one and nobody has to shrink anything after
//! decoding. A layer costs an encoder's time only while some viewer wants it: the network
//! side says which ones through [`WantedLayers`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// One of the sizes a camera is sent at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The captured size.
    Full,
    /// Half the captured width and height.
    Half,
    /// A quarter of the captured width and height.
    Quarter,
}

impl Layer {
    /// Every layer, largest first.
    pub const ALL: [Self; 3] = [Self::Full, Self::Half, Self::Quarter];

    /// What the captured width and height are divided by: 1, 2 or 4.
    pub const fn divisor(self) -> u32 {
        match self {
            Self::Full => 1,
            Self::Half => 2,
            Self::Quarter => 4,
        }
    }

    /// Its place in [`Layer::ALL`], for tables indexed by layer.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The size of this layer for a `width` x `height` capture: divided by
    /// [`Layer::divisor`], rounded down to even numbers, never below 2x2.
    pub const fn size(self, (width, height): (u32, u32)) -> (u32, u32) {
        let divisor = self.divisor();
        (even_at_least_2(width / divisor), even_at_least_2(height / divisor))
    }

    /// The bitrate this layer aims at by default when the full one aims at `full_bps`: the
    /// same bits per pixel in every layer, so a half layer gets a quarter of the bits and a
    /// quarter layer a sixteenth. Browsers split theirs alike (a 720p camera sends its
    /// 320x180 layer at about 150 kbit/s beside 2.5 Mbit/s). The smallest layer is the one a
    /// thin path keeps: at an eighth, three thumbnails and three voices filled a 300 kbit/s
    /// path to the last bit, and one thumbnail after another stopped. With all three layers
    /// the camera sends 1.3125 times what it sends in one.
    pub const fn default_bitrate(self, full_bps: u32) -> u32 {
        match self {
            Self::Full => full_bps,
            Self::Half => full_bps / 4,
            Self::Quarter => full_bps / 16,
        }
    }

    const fn bit(self) -> u8 {
        1 << self.index()
    }
}

const fn even_at_least_2(length: u32) -> u32 {
    let even = length & !1;
    if even < 2 { 2 } else { even }
}

/// A set of layers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LayerSet(u8);

impl LayerSet {
    /// No layer.
    pub const NONE: Self = Self(0);
    /// The full layer only: one stream, as a camera was always sent.
    pub const FULL: Self = Self::NONE.with(Layer::Full);
    /// All three layers.
    pub const ALL: Self = Self::FULL.with(Layer::Half).with(Layer::Quarter);

    /// The set of `layers`.
    pub const fn of(layers: &[Layer]) -> Self {
        let mut set = Self::NONE;
        let mut at = 0;
        while at < layers.len() {
            set = set.with(layers[at]);
            at += 1;
        }
        set
    }

    /// This set and `layer`.
    pub const fn with(self, layer: Layer) -> Self {
        Self(self.0 | layer.bit())
    }

    /// This set without `layer`.
    pub const fn without(self, layer: Layer) -> Self {
        Self(self.0 & !layer.bit())
    }

    /// Whether `layer` is in the set.
    pub const fn contains(self, layer: Layer) -> bool {
        self.0 & layer.bit() != 0
    }

    /// Whether the set has no layer.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The layers in the set, largest first.
    pub fn iter(self) -> impl Iterator<Item = Layer> {
        Layer::ALL.into_iter().filter(move |layer| self.contains(*layer))
    }

    const fn from_bits(bits: u8) -> Self {
        Self(bits & Self::ALL.0)
    }
}

impl FromIterator<Layer> for LayerSet {
    fn from_iter<I: IntoIterator<Item = Layer>>(layers: I) -> Self {
        layers.into_iter().fold(Self::NONE, Self::with)
    }
}

impl std::fmt::Debug for LayerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The layers a camera encodes, settable from any thread: the network side keeps it at the
/// layers some viewer wants, the camera thread reads it once per picture. Cloning shares it.
/// Starts with the full layer only.
#[derive(Clone, Debug)]
pub struct WantedLayers(Arc<AtomicU8>);

impl Default for WantedLayers {
    fn default() -> Self {
        Self::new(LayerSet::FULL)
    }
}

impl WantedLayers {
    /// A control that wants `layers`.
    pub fn new(layers: LayerSet) -> Self {
        Self(Arc::new(AtomicU8::new(layers.0)))
    }

    /// The layers wanted now.
    pub fn get(&self) -> LayerSet {
        LayerSet::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Wants exactly `layers` from the next picture on.
    pub fn set(&self, layers: LayerSet) {
        self.0.store(layers.0, Ordering::Relaxed);
    }

    /// Wants `layer` (or stops wanting it) from the next picture on, the others as they are.
    pub fn want(&self, layer: Layer, wanted: bool) {
        if wanted {
            self.0.fetch_or(layer.bit(), Ordering::Relaxed);
        } else {
            self.0.fetch_and(!layer.bit(), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes_divide_the_capture_in_even_numbers_of_at_least_two() {
        let sizes = |capture| Layer::ALL.map(|layer| layer.size(capture));
        assert_eq!(sizes((1280, 720)), [(1280, 720), (640, 360), (320, 180)]);
        assert_eq!(sizes((1920, 1080)), [(1920, 1080), (960, 540), (480, 270)]);
        assert_eq!(sizes((640, 360)), [(640, 360), (320, 180), (160, 90)]);
        // 360 / 4 = 90 is even; 180 / 4 = 45 is not, nor 270 / 2 = 135.
        assert_eq!(sizes((320, 180)), [(320, 180), (160, 90), (80, 44)]);
        assert_eq!(sizes((480, 270)), [(480, 270), (240, 134), (120, 66)]);
        assert_eq!(sizes((6, 4)), [(6, 4), (2, 2), (2, 2)], "never below 2x2");
        assert_eq!(sizes((2, 2)), [(2, 2), (2, 2), (2, 2)]);
    }

    #[test]
    fn a_quarter_of_a_capture_is_a_half_of_its_half() {
        // So the quarter layer can be shrunk from the half one, reading a quarter of the pixels.
        for width in (2..400).step_by(2) {
            for height in (2..400).step_by(2) {
                let capture = (width, height);
                assert_eq!(
                    Layer::Half.size(Layer::Half.size(capture)),
                    Layer::Quarter.size(capture),
                    "{capture:?}"
                );
            }
        }
    }

    #[test]
    fn default_bitrates_split_the_full_one() {
        let split = Layer::ALL.map(|layer| layer.default_bitrate(2_400_000));
        assert_eq!(split, [2_400_000, 600_000, 150_000]);
    }

    #[test]
    fn wanted_layers_are_shared_and_start_with_the_full_one() {
        let wanted = WantedLayers::default();
        assert_eq!(wanted.get(), LayerSet::FULL);
        let network = wanted.clone();
        network.want(Layer::Quarter, true);
        assert_eq!(wanted.get(), LayerSet::of(&[Layer::Full, Layer::Quarter]));
        network.want(Layer::Full, false);
        assert_eq!(wanted.get(), LayerSet::of(&[Layer::Quarter]));
        network.set(LayerSet::ALL);
        assert_eq!(wanted.get().iter().collect::<Vec<_>>(), Layer::ALL);
        network.set(LayerSet::NONE);
        assert!(wanted.get().is_empty());
        assert_eq!(format!("{:?}", LayerSet::of(&[Layer::Half])), "{Half}");
    }
}
