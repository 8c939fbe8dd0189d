//! Per-route `allow`/`deny` lists of addresses and CIDR ranges (nginx's `allow`/`deny`,
//! for keeping `/status` private): a denied client gets 403.

use std::net::IpAddr;

/// One address or range: `10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not an address or CIDR range");
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { network, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client on an IPv6 socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A route's rules: denied if any `deny` range holds the client, else allowed if `allow`
/// is empty or one of its ranges holds it. A client without an IP address (a Unix
/// socket) is local and allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessRules {
    allow: Vec<Cidr>,
    deny: Vec<Cidr>,
}

impl AccessRules {
    /// `None` when both lists are empty (no check on the request path).
    pub(crate) fn new(allow: &[String], deny: &[String]) -> Result<Option<Self>, String> {
        if allow.is_empty() && deny.is_empty() {
            return Ok(None);
        }
        let parse = |list: &[String], key: &str| {
            list.iter()
                .map(|t| Cidr::parse(t).map_err(|e| format!("{key}: {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Some(Self {
            allow: parse(allow, "allow")?,
            deny: parse(deny, "deny")?,
        }))
    }

    pub(crate) fn allows(&self, client: Option<IpAddr>) -> bool {
        let Some(ip) = client else {
            return true;
        };
        !self.deny.iter().any(|c| c.contains(ip))
            && (self.allow.is_empty() || self.allow.iter().any(|c| c.contains(ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allow: &[&str], deny: &[&str]) -> AccessRules {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        AccessRules::new(&own(allow), &own(deny)).unwrap().unwrap()
    }

    #[test]
    fn ranges_allow_and_deny_as_nginx() {
        let r = rules(&["127.0.0.1", "10.0.0.0/8", "fd00::/8"], &["10.9.0.0/16"]);
        let ip = |s: &str| Some(s.parse().unwrap());
        assert!(r.allows(ip("127.0.0.1")) && r.allows(ip("10.1.2.3")) && r.allows(ip("fd12::1")));
        assert!(!r.allows(ip("10.9.1.1")) && !r.allows(ip("192.168.0.1")) && !r.allows(ip("::1")));
        assert!(r.allows(ip("::ffff:127.0.0.1")), "IPv4-mapped");
        assert!(r.allows(None), "a Unix socket is local");
        let everyone_but = rules(&[], &["0.0.0.0/0"]);
        assert!(!everyone_but.allows(ip("8.8.8.8")) && everyone_but.allows(ip("::1")));
        for bad in ["10.0.0.0/33", "nope", "::1/129", "1.2.3.4/x"] {
            assert!(AccessRules::new(&[bad.to_owned()], &[]).is_err(), "{bad}");
        }
        assert_eq!(AccessRules::new(&[], &[]), Ok(None));
    }
}
