//! The client address used for limits and logs: the socket peer, or the right-most
//! `X-Forwarded-For` entry that is not a trusted proxy, and only when the peer itself is a
//! trusted proxy (security-checklist RL-4). Anyone else's forwarding headers are ignored.
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// Walks the forwarding chain from the right (the hop our trusted peer wrote) to the left,
/// past every trusted proxy, and stops at the first address that is not one: that is the
/// client as the last trusted proxy saw it. Everything further left was written by the client
/// and proves nothing.
///
/// An entry that cannot be parsed ends the walk at the nearest address already established
/// (the peer or the last trusted hop), never at anything to its left: proxies that append
/// `ip:port` once made the walk skip the real hop and believe the client's own left-hand
/// value (finding 8).
pub fn resolve(peer: SocketAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.ip();
    if !is_trusted(&client) {
        return client;
    }
    let entries: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().flat_map(|v| v.to_str().unwrap_or_default().split(',')).map(str::trim).collect();
    for entry in entries.iter().rev() {
        let Some(hop) = parse_hop(entry) else { break };
        client = hop;
        if !is_trusted(&hop) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry as proxies write it: `ip`, `ip:port`, `[v6]` or `[v6]:port`
/// (a bare IPv6 address has no port). A header value that is not visible ASCII reads as ""
/// above and so is unparsable too.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = entry.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    entry.strip_prefix('[')?.strip_suffix(']')?.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
}

/// The key per-IP limits count: the address, or its /64 for IPv6 (one host often owns a /64).
pub fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().expect("valid header"));
        }
        headers
    }

    fn proxy() -> (SocketAddr, Vec<ipnet::IpNet>) {
        ("198.51.100.1:5000".parse().expect("valid"), vec!["198.51.100.0/24".parse().expect("valid")])
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let headers = forwarded(&["203.0.113.9"]);
        let (peer, trusted) = proxy();
        assert_eq!(resolve(peer, &headers, &[]), peer.ip());
        assert_eq!(resolve(peer, &headers, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn every_form_a_proxy_appends_is_parsed() {
        for (entry, expected) in [
            ("203.0.113.9", "203.0.113.9"),
            ("203.0.113.9:4711", "203.0.113.9"),
            ("2001:db8::7", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("[2001:db8::7]:4711", "2001:db8::7"),
        ] {
            assert_eq!(parse_hop(entry), Some(ip(expected)), "{entry}");
        }
        for entry in ["", "unknown", "_hidden", "203.0.113.9:port", "[203.0.113.9]", "2001:db8::7]:1", "[2001:db8::7", "203.0.113.9 x"] {
            assert_eq!(parse_hop(entry), None, "{entry}");
        }
    }

    #[test]
    fn a_client_supplied_left_value_never_wins_over_a_hop_with_a_port() {
        let (peer, trusted) = proxy();
        for header in ["6.6.6.6, 203.0.113.9:4711", "6.6.6.6, [2001:db8::7]:4711", "6.6.6.6,203.0.113.9"] {
            let resolved = resolve(peer, &forwarded(&[header]), &trusted);
            assert_ne!(resolved, ip("6.6.6.6"), "{header}");
        }
        assert_eq!(resolve(peer, &forwarded(&["6.6.6.6, [2001:db8::7]:4711"]), &trusted), ip("2001:db8::7"));
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right() {
        let (peer, trusted) = proxy();
        let headers = forwarded(&["6.6.6.6, 203.0.113.9:1", "198.51.100.7:443"]);
        assert_eq!(resolve(peer, &headers, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn an_unparsable_hop_ends_the_walk_at_the_nearest_known_address() {
        let (peer, trusted) = proxy();
        assert_eq!(resolve(peer, &forwarded(&["6.6.6.6, garbage"]), &trusted), peer.ip(), "nothing left of the garbage counts");
        let headers = forwarded(&["6.6.6.6, garbage, 198.51.100.7"]);
        assert_eq!(resolve(peer, &headers, &trusted), ip("198.51.100.7"), "the last trusted hop before it");
        assert_eq!(resolve(peer, &forwarded(&["6.6.6.6, "]), &trusted), peer.ip(), "an empty entry is unparsable");
    }
}
