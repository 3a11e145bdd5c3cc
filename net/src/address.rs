//! Meeting addresses as people type them: `host:port`, `host`, or `videomeet://host:port/CODE`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The port a host listens on unless told otherwise (or unless it is taken).
pub const DEFAULT_PORT: u16 = 47_800;

/// Where to join, parsed from what the user typed or clicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinTarget {
    /// Host name or IP address.
    pub host: String,
    /// Signaling port.
    pub port: u16,
    /// Meeting code from a link, checked by the host.
    pub code: Option<String>,
}

/// Why an address could not be understood.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("\"{input}\" is not a meeting address: {reason}. Use host:port or a videomeet:// link")]
pub struct AddressError {
    input: String,
    reason: &'static str,
}

impl JoinTarget {
    /// Parses `host`, `host:port`, `[v6]:port` or `videomeet://host:port/CODE`.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let fail = |reason| AddressError {
            input: input.chars().take(200).collect(),
            reason,
        };
        let text = input.trim();
        let (rest, from_link) = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("videomeet") => (rest, true),
            Some(_) => return Err(fail("only videomeet:// links are meeting links")),
            None => (text, false),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let code = path.trim_matches('/');
        let code = (from_link && !code.is_empty()).then(|| code.to_owned());
        if code
            .as_ref()
            .is_some_and(|c| c.len() > 32 || !c.chars().all(|ch| ch.is_ascii_alphanumeric()))
        {
            return Err(fail("the meeting code has unexpected characters"));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| fail("the port is not a number from 1 to 65535"))?;
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        if host.len() > 253 || !is_host(host) {
            return Err(fail("the host name has unexpected characters"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            code,
        })
    }

    /// `host:port` for connecting (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for JoinTarget {
    /// The shareable link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "videomeet://{}/{}",
            self.authority(),
            self.code.as_deref().unwrap_or("")
        )
    }
}

fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, parse_port(port)?)),
            None if after.is_empty() => Some((host, DEFAULT_PORT)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Some((authority, DEFAULT_PORT)),
        Some((host, port)) => Some((host, parse_port(port)?)),
        None => Some((authority, DEFAULT_PORT)),
    }
}

/// An IPv6 address (with an optional `%zone` for link-local ones), or a name or IPv4
/// address made of letters, digits, `-`, `_` and `.`.
fn is_host(host: &str) -> bool {
    let name_like = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if host.contains(':') {
        let (address, zone) = host.split_once('%').unwrap_or((host, "x"));
        address.parse::<std::net::Ipv6Addr>().is_ok() && name_like(zone)
    } else {
        name_like(host)
    }
}

fn parse_port(text: &str) -> Option<u16> {
    text.parse().ok().filter(|&port| port != 0)
}

/// This machine's address on the LAN as others would see it (for the shareable link): the
/// one the route to the mDNS group uses; on a network with no such route (no internet and
/// no default route, which is what this program is for), the best address of an interface
/// (see [`best_lan_address`]); loopback only on a machine with no network at all.
pub fn lan_address() -> IpAddr {
    // Connecting a UDP socket sends nothing; it only asks the routing table which local
    // address would be used for the mDNS group.
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect((Ipv4Addr::new(224, 0, 0, 251), 5353))?;
            socket.local_addr()
        })
        .map(|address| address.ip())
        .ok()
        .filter(|ip| !ip.is_unspecified())
        .or_else(|| {
            let interfaces = if_addrs::get_if_addrs().unwrap_or_default();
            best_lan_address(interfaces.iter().map(if_addrs::Interface::ip))
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// The address of `addresses` others on a LAN most likely reach: a private IPv4 address
/// (10/8, 172.16/12, 192.168/16), else any other IPv4 one, else a self-assigned one
/// (169.254/16), else a routable IPv6 one. Never loopback, and never a link-local IPv6
/// address, which means nothing without its interface.
pub fn best_lan_address(addresses: impl Iterator<Item = IpAddr>) -> Option<IpAddr> {
    let rank = |address: &IpAddr| match address {
        IpAddr::V4(v4) if v4.is_loopback() || v4.is_unspecified() => None,
        IpAddr::V4(v4) if v4.is_private() => Some(0),
        IpAddr::V4(v4) if v4.is_link_local() => Some(2),
        IpAddr::V4(_) => Some(1),
        IpAddr::V6(v6) if v6.is_loopback() || v6.is_unspecified() || v6.is_unicast_link_local() => None,
        IpAddr::V6(_) => Some(3),
    };
    addresses
        .filter_map(|address| rank(&address).map(|rank| (rank, address)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, address)| address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, port: u16, code: Option<&str>) -> JoinTarget {
        JoinTarget {
            host: host.into(),
            port,
            code: code.map(Into::into),
        }
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(
            JoinTarget::parse("192.168.1.20:5000"),
            Ok(target("192.168.1.20", 5000, None))
        );
        assert_eq!(
            JoinTarget::parse(" meet.local "),
            Ok(target("meet.local", DEFAULT_PORT, None))
        );
        assert_eq!(
            JoinTarget::parse("videomeet://10.0.0.2:47800/K7QX3MZP"),
            Ok(target("10.0.0.2", 47_800, Some("K7QX3MZP")))
        );
        assert_eq!(JoinTarget::parse("[fe80::1]:9000"), Ok(target("fe80::1", 9000, None)));
        assert_eq!(JoinTarget::parse("fe80::1"), Ok(target("fe80::1", DEFAULT_PORT, None)));
        assert_eq!(
            JoinTarget::parse("[fe80::1%eth0]:9000"),
            Ok(target("fe80::1%eth0", 9000, None))
        );
        assert_eq!(JoinTarget::parse("büro-pc"), Ok(target("büro-pc", DEFAULT_PORT, None)));
        let link = target("10.0.0.2", 47_800, Some("K7QX3MZP"));
        assert_eq!(JoinTarget::parse(&link.to_string()), Ok(link));
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            ":5000",
            "host:0",
            "host:99999",
            "host:port",
            "https://example.org/x",
            "videomeet://h:1/../../etc",
            "a b:5",
            "user@host:5",
            // Found by fuzzing: it read as a host whose link did not read back.
            "meeting-romm::1]:47800.local",
            "[::1]]:5",
            "[not:v6]:5",
            "fe80::1%",
            "host?x:5",
        ] {
            let error = JoinTarget::parse(bad).expect_err(bad);
            assert!(error.to_string().contains("not a meeting address"), "{error}");
        }
    }

    #[test]
    fn the_lan_address_is_a_private_ipv4_one_when_there_is_one() {
        let pick =
            |addresses: &[&str]| best_lan_address(addresses.iter().map(|a| a.parse().unwrap())).map(|a| a.to_string());
        let all = [
            "127.0.0.1",
            "fe80::1",
            "169.254.3.4",
            "2001:db8::5",
            "203.0.113.9",
            "192.168.1.20",
        ];
        assert_eq!(pick(&all).as_deref(), Some("192.168.1.20"));
        assert_eq!(pick(&all[..5]).as_deref(), Some("203.0.113.9"));
        assert_eq!(pick(&all[..4]).as_deref(), Some("169.254.3.4"));
        assert_eq!(pick(&all[..3]).as_deref(), Some("169.254.3.4"));
        assert_eq!(
            pick(&["127.0.0.1", "fe80::1", "2001:db8::5"]).as_deref(),
            Some("2001:db8::5")
        );
        assert_eq!(pick(&["127.0.0.1", "::1", "fe80::1"]), None);
    }
}
