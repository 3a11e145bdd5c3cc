//! Session descriptions as they go on the wire: what webrtc-rs writes, put right where it
//! differs from what JSEP (RFC 9429) asks of an offer or an answer.

/// Session-level lines every offer should carry and webrtc-rs leaves out: we trickle
/// candidates (RFC 8840), and our `a=msid` lines name WebRTC media streams (RFC 8830).
const SESSION_ATTRIBUTES: [&str; 2] = ["a=ice-options:trickle", "a=msid-semantic:WMS *"];

/// Reduced-size RTCP (RFC 5506), which an answer may accept only where it was offered.
const REDUCED_SIZE_RTCP: &str = "a=rtcp-rsize";

/// `offer` with [`SESSION_ATTRIBUTES`] added before the first media section, where missing.
pub(crate) fn offer_to_send(offer: &str) -> String {
    let first_media = offer.find("\nm=").map_or(offer.len(), |at| at + 1);
    let (session, media) = offer.split_at(first_media);
    let mut sent = session.to_owned();
    for attribute in SESSION_ATTRIBUTES {
        let name = attribute.split(':').next().unwrap_or(attribute);
        if !session.lines().any(|line| line.starts_with(name)) {
            sent.push_str(attribute);
            sent.push_str("\r\n");
        }
    }
    sent.push_str(media);
    sent
}

/// `answer` without `a=rtcp-rsize` in the media sections whose counterpart in `offer` did
/// not have it.
pub(crate) fn answer_to_send(answer: &str, offer: &str) -> String {
    let offered: Vec<bool> = media_sections(offer)
        .map(|section| section.lines().any(|line| line.trim_end() == REDUCED_SIZE_RTCP))
        .collect();
    let mut sent = String::with_capacity(answer.len());
    let mut section: Option<usize> = None;
    for line in answer.split_inclusive('\n') {
        if line.starts_with("m=") {
            section = Some(section.map_or(0, |index| index + 1));
        }
        let unoffered = section.is_some_and(|index| !offered.get(index).copied().unwrap_or(false));
        if !(unoffered && line.trim_end() == REDUCED_SIZE_RTCP) {
            sent.push_str(line);
        }
    }
    sent
}

/// The media sections of `sdp`, each from its `m=` line to the next.
fn media_sections(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.split("\nm=").skip(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\na=rtcp-rsize\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n";

    #[test]
    fn an_offer_gains_the_session_attributes_before_its_media() {
        let sent = offer_to_send(OFFER);
        assert_eq!(
            sent,
            OFFER.replace(
                "a=group:BUNDLE 0 1\r\n",
                "a=group:BUNDLE 0 1\r\na=ice-options:trickle\r\na=msid-semantic:WMS *\r\n"
            )
        );
        assert_eq!(offer_to_send(&sent), sent, "never added twice");
    }

    #[test]
    fn an_answer_keeps_reduced_size_rtcp_only_where_it_was_offered() {
        let answer = "v=0\r\nt=0 0\r\nm=video 9 X 102\r\na=mid:0\r\na=rtcp-rsize\r\n\
            m=audio 9 X 111\r\na=mid:1\r\na=rtcp-rsize\r\n";
        let sent = answer_to_send(answer, OFFER);
        assert_eq!(sent, answer.replacen("a=mid:1\r\na=rtcp-rsize\r\n", "a=mid:1\r\n", 1));
    }
}
