//! Safety codes: twelve digits both sides of a media connection derive from the two DTLS
//! certificate fingerprints in its negotiation. Read aloud and compared, equal codes mean
//! nobody sits in between: a relay in the middle would have to present its own
//! certificate to each side, and the codes would differ.

use ring::digest::{SHA256, digest};

/// What the hash is computed over starts with this, so the code is ours alone.
const CONTEXT: &str = "videomeet safety code v1";

/// The DTLS fingerprint an SDP description declares (session or first media level), as
/// upper-case hex without separators, with its hash name: "SHA-256 AB12...".
pub fn fingerprint(sdp: &str) -> Option<String> {
    let value = sdp
        .lines()
        .find_map(|line| line.trim().strip_prefix("a=fingerprint:"))?;
    let (algorithm, hex) = value.split_once(' ')?;
    let hex: String = hex
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_uppercase();
    let valid = !hex.is_empty() && hex.len().is_multiple_of(2) && hex.chars().all(|c| c.is_ascii_hexdigit());
    valid.then(|| format!("{} {hex}", algorithm.to_ascii_uppercase()))
}

/// The code for a connection between the holders of fingerprints `a` and `b` (the same
/// whichever side computes it): "123 456 789 012".
pub fn safety_code(a: &str, b: &str) -> String {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let hash = digest(&SHA256, format!("{CONTEXT}\n{first}\n{second}").as_bytes());
    let number = hash.as_ref()[..5]
        .iter()
        .fold(0u64, |n, byte| n << 8 | u64::from(*byte))
        % 1_000_000_000_000;
    let digits = format!("{number:012}");
    digits
        .as_bytes()
        .chunks(3)
        .map(|group| std::str::from_utf8(group).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\na=fingerprint:sha-256 ab:cd:EF:01\r\nm=audio 9 UDP\r\n";

    #[test]
    fn fingerprints_are_read_and_normalised() {
        assert_eq!(fingerprint(OFFER).as_deref(), Some("SHA-256 ABCDEF01"));
        assert_eq!(fingerprint("v=0\r\n"), None);
        assert_eq!(fingerprint("a=fingerprint:sha-256 zz:11\r\n"), None, "not hex");
        assert_eq!(fingerprint("a=fingerprint:sha-256\r\n"), None, "no value");
    }

    #[test]
    fn both_sides_get_the_same_code_and_another_certificate_changes_it() {
        let (ada, grace, mallory) = ("SHA-256 AAAA", "SHA-256 BBBB", "SHA-256 CCCC");
        let code = safety_code(ada, grace);
        assert_eq!(code, safety_code(grace, ada));
        assert_eq!(code.len(), 15);
        assert!(
            code.split(' ')
                .all(|group| group.len() == 3 && group.chars().all(|c| c.is_ascii_digit()))
        );
        assert_ne!(
            code,
            safety_code(ada, mallory),
            "a different certificate gives another code"
        );
        assert_ne!(code, safety_code(mallory, grace));
    }
}
