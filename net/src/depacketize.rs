//! H.264 RTP payloads (RFC 6184) back into Annex B NAL units, refusing anything malformed.
//!
//! Written here rather than taken from the RTP crate, whose depacketizer indexes past the end
//! of a truncated aggregation packet: one hostile packet would have ended the process.

use bytes::BytesMut;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Payload types (the low five bits of the first byte) for the packetization modes we accept.
const SINGLE_NAL: std::ops::RangeInclusive<u8> = 1..=23;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Why a payload could not be read; the frame it belongs to is given up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Damaged {
    /// Empty, or shorter than its headers say.
    Truncated,
    /// A packetization we do not send (STAP-B, MTAP, FU-B) or a reserved type.
    Unsupported(u8),
    /// A fragment without the start of its NAL unit.
    OrphanFragment,
}

/// Turns the payloads of one frame, in order, into an access unit.
#[derive(Default)]
pub(crate) struct Depacketizer {
    /// A fragmented NAL unit is open: its later fragments continue it.
    in_fragment: bool,
}

impl Depacketizer {
    /// Appends the NAL units in `payload` to `unit`.
    pub(crate) fn push(&mut self, payload: &[u8], unit: &mut BytesMut) -> Result<(), Damaged> {
        let (&indicator, body) = payload.split_first().ok_or(Damaged::Truncated)?;
        let kind = indicator & 0x1F;
        if kind != FU_A {
            // A new NAL unit or aggregate: an open fragment never got its end.
            if std::mem::take(&mut self.in_fragment) {
                return Err(Damaged::OrphanFragment);
            }
        }
        match kind {
            kind if SINGLE_NAL.contains(&kind) => {
                unit.extend_from_slice(&START_CODE);
                unit.extend_from_slice(payload);
            }
            STAP_A => {
                let mut rest = body;
                while !rest.is_empty() {
                    let [high, low, after @ ..] = rest else {
                        return Err(Damaged::Truncated);
                    };
                    let size = usize::from(u16::from_be_bytes([*high, *low]));
                    if size == 0 || size > after.len() {
                        return Err(Damaged::Truncated);
                    }
                    let (nal, after) = after.split_at(size);
                    unit.extend_from_slice(&START_CODE);
                    unit.extend_from_slice(nal);
                    rest = after;
                }
            }
            FU_A => {
                let (&header, fragment) = body.split_first().ok_or(Damaged::Truncated)?;
                let (starts, ends) = (header & 0x80 != 0, header & 0x40 != 0);
                if starts {
                    if self.in_fragment {
                        return Err(Damaged::OrphanFragment);
                    }
                    unit.extend_from_slice(&START_CODE);
                    // The NAL header: the indicator's F and NRI bits with the fragment's type.
                    unit.extend_from_slice(&[(indicator & 0xE0) | (header & 0x1F)]);
                } else if !self.in_fragment {
                    return Err(Damaged::OrphanFragment);
                }
                unit.extend_from_slice(fragment);
                self.in_fragment = !ends;
            }
            other => return Err(Damaged::Unsupported(other)),
        }
        Ok(())
    }

    /// The frame is over: an error if a fragmented NAL unit is still open.
    pub(crate) fn finish(&mut self) -> Result<(), Damaged> {
        if std::mem::take(&mut self.in_fragment) {
            Err(Damaged::OrphanFragment)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depacketize(payloads: &[&[u8]]) -> Result<Vec<u8>, Damaged> {
        let mut depacketizer = Depacketizer::default();
        let mut unit = BytesMut::new();
        for payload in payloads {
            depacketizer.push(payload, &mut unit)?;
        }
        depacketizer.finish()?;
        Ok(unit.to_vec())
    }

    #[test]
    fn single_nal_units_get_start_codes() {
        assert_eq!(
            depacketize(&[&[0x67, 1, 2], &[0x68, 3]]).unwrap(),
            [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3]
        );
    }

    #[test]
    fn aggregates_are_split_into_their_units() {
        let stap = [0x78, 0, 2, 0x67, 9, 0, 1, 0x68];
        assert_eq!(depacketize(&[&stap]).unwrap(), [0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68]);
    }

    #[test]
    fn fragments_are_joined_under_one_header() {
        let (first, middle, last) = ([0x7C, 0x85, 1, 2], [0x7C, 0x05, 3], [0x7C, 0x45, 4]);
        assert_eq!(
            depacketize(&[&first, &middle, &last]).unwrap(),
            [0, 0, 0, 1, 0x65, 1, 2, 3, 4]
        );
    }

    #[test]
    fn malformed_payloads_are_refused() {
        // An aggregate cut inside a length field (this one crashed the RTP crate's reader).
        assert_eq!(depacketize(&[&[0x18, 0, 2, 0x67, 0x42, 0]]), Err(Damaged::Truncated));
        assert_eq!(depacketize(&[&[0x78, 0, 9, 0x67]]), Err(Damaged::Truncated));
        assert_eq!(depacketize(&[&[0x78, 0, 0]]), Err(Damaged::Truncated));
        assert_eq!(depacketize(&[&[]]), Err(Damaged::Truncated));
        assert_eq!(depacketize(&[&[0x7C]]), Err(Damaged::Truncated));
        assert_eq!(depacketize(&[&[0x7C, 0x05, 1]]), Err(Damaged::OrphanFragment));
        assert_eq!(depacketize(&[&[0x7C, 0x85, 1]]), Err(Damaged::OrphanFragment));
        assert_eq!(
            depacketize(&[&[0x7C, 0x85, 1], &[0x67, 1]]),
            Err(Damaged::OrphanFragment)
        );
        assert_eq!(depacketize(&[&[0x79, 0, 1, 2]]), Err(Damaged::Unsupported(25)));
        assert_eq!(depacketize(&[&[0x00, 1]]), Err(Damaged::Unsupported(0)));
    }
}
