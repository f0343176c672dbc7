//! Label URLs (SPEC.md "The mark", "Label URL"): `{public_url}/v/{token}` and the GS1 Digital
//! Link form `{public_url}/01/{gtin14}/21/{serial}?t={token}`, taken apart, and the hosts the
//! brand prints them on. Parsing only: whether what a URL carries is genuine is verification's.

use std::str::FromStr;

use http::uri::Authority;

/// The hosts the brand prints label URLs on (SPEC.md "Label URL"): the public URL's host, with
/// its port as the public URL has it, and any configured extra label hosts, for a deployment
/// that moved domain. Hosts compare case-insensitively (they are stored lowercase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelHosts(Vec<(String, Option<u16>)>);

/// A label host that is not `host` or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a host or host:port")]
pub struct InvalidLabelHost(pub String);

impl LabelHosts {
    /// The public URL's host and port, then each of `extra` (`host` or `host:port`).
    pub fn new(public_url: &str, extra: &[String]) -> Result<LabelHosts, InvalidLabelHost> {
        let public = split_url(public_url)
            .and_then(|(scheme, authority, _)| host_port(authority, default_port(scheme)))
            .ok_or_else(|| InvalidLabelHost(public_url.to_owned()))?;
        let mut hosts = vec![public];
        for host in extra {
            // A bare authority: no user information, which would hide the real host.
            let parsed = (!host.contains('@'))
                .then(|| host_port(host, None))
                .flatten()
                .ok_or_else(|| InvalidLabelHost(host.clone()))?;
            hosts.push(parsed);
        }
        Ok(LabelHosts(hosts))
    }

    /// Label hosts as written down (`host` or `host:port`), as [`LabelHosts::of`] reads them.
    pub fn written(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(host, port)| match port {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            })
            .collect()
    }

    /// Label hosts from their written form, as a status snapshot carries them.
    pub fn of(written: &[String]) -> Result<LabelHosts, InvalidLabelHost> {
        written
            .iter()
            .map(|h| host_port(h, None).ok_or_else(|| InvalidLabelHost(h.clone())))
            .collect::<Result<_, _>>()
            .map(LabelHosts)
    }

    fn contains(&self, scheme: &str, authority: &str) -> bool {
        host_port(authority, default_port(scheme)).is_some_and(|label| self.0.contains(&label))
    }
}

/// `(host, port)` of an authority, the host lowercase and the port `None` when it is absent
/// or the scheme's `default` (`https://host:443/` is `https://host/`); any user information is
/// dropped, since a browser goes to the host after it (`http://ours.example@evil.example/`
/// is evil.example).
fn host_port(authority: &str, default: Option<u16>) -> Option<(String, Option<u16>)> {
    let authority = Authority::from_str(authority).ok()?;
    let host = authority.host();
    let port = authority.port_u16().filter(|&p| Some(p) != default);
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        Some(80)
    }
}

/// An `http(s)` URL's scheme, authority and the rest (path, query, fragment).
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    Some((scheme, authority, rest))
}

/// A label URL taken apart.
#[derive(Debug, PartialEq, Eq)]
pub struct LabelUrl<'a> {
    pub token: &'a str,
    /// The GS1 form's GTIN and serial path segments, exactly as they stood.
    pub gs1_path: Option<(&'a str, &'a str)>,
    /// The URL's host is not one the brand prints: a genuine token copied onto a label that
    /// sends consumers elsewhere is a changed label (`altered`, `url_mismatch`).
    pub foreign_host: bool,
}

/// An `http(s)` label URL: `…/v/{token}` or `…/01/{gtin}/21/{serial}?t={token}`, on any host
/// (whether it is a label host is part of the answer, decided after the token's signature).
///
/// The path is read from its end, segment by segment. The public URL before the label's own
/// segments may have a path of its own, which may hold a `v`, `01` or `21` segment too
/// (`https://brand.example/v` prints `https://brand.example/v/01/…`), so searching the text
/// for `/v/` or `/01/` is not enough.
pub fn parse_label_url<'a>(url: &'a str, hosts: &LabelHosts) -> Option<LabelUrl<'a>> {
    let (scheme, authority, rest) = split_url(url)?;
    let foreign_host = !hosts.contains(scheme, authority);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut segments = path.rsplit('/');
    let last = segments.next()?;
    let (token, gs1_path) = match segments.next()? {
        "v" if query.is_empty() => (last, None),
        "21" => {
            let gtin = segments.next()?;
            if segments.next()? != "01" {
                return None;
            }
            let token = query.split('&').find_map(|pair| pair.strip_prefix("t="))?;
            (token, Some((gtin, last)))
        }
        _ => return None,
    };
    Some(LabelUrl {
        token,
        gs1_path,
        foreign_host,
    })
}

#[cfg(test)]
mod tests {
    use super::{InvalidLabelHost, LabelHosts, LabelUrl, parse_label_url};

    fn hosts() -> LabelHosts {
        LabelHosts::new(
            "https://M.example.cn/marks",
            &["old.example.cn:8443".into()],
        )
        .unwrap()
    }

    fn ours<'a>(token: &'a str, gs1_path: Option<(&'a str, &'a str)>) -> Option<LabelUrl<'a>> {
        Some(LabelUrl {
            token,
            gs1_path,
            foreign_host: false,
        })
    }

    #[test]
    fn label_urls_of_both_forms_are_parsed_and_others_refused() {
        let hosts = hosts();
        assert_eq!(
            parse_label_url("https://m.example.cn/v/AbC_-1", &hosts),
            ours("AbC_-1", None)
        );
        assert_eq!(
            parse_label_url("https://m.example.cn/01/06901234567892/21/17?t=AbC", &hosts),
            ours("AbC", Some(("06901234567892", "17")))
        );
        for bad in [
            "https://m.example.cn/x/AbC",
            "https://m.example.cn/v/a/b",
            "https://m.example.cn/01/069/22/17?t=AbC",
            "https://m.example.cn/01/069/21/17",
            "https://m.example.cn/01/069/21/17/x?t=AbC",
            "m.example.cn/v/AbC",
            "ftp://m.example.cn/v/AbC",
            "/v/AbC",
        ] {
            assert_eq!(parse_label_url(bad, &hosts), None, "{bad}");
        }
    }

    #[test]
    fn label_hosts_are_the_public_url_s_and_the_extra_ones_in_any_case() {
        let hosts = hosts();
        for url in [
            "https://m.example.cn/v/AbC",
            "HTTP://M.EXAMPLE.CN/v/AbC",
            "https://old.example.cn:8443/v/AbC",
            "https://OLD.example.cn:8443/01/06901234567892/21/17?t=AbC",
            "https://evil@m.example.cn/v/AbC",
            "https://m.example.cn:443/v/AbC",
            "http://m.example.cn:80/v/AbC",
        ] {
            let parsed = parse_label_url(url, &hosts).unwrap();
            assert!(!parsed.foreign_host, "{url}");
        }
        for url in [
            "https://evil.example/v/AbC",
            "https://m.example.cn.evil.example/v/AbC",
            "https://m.example.cn:8443/v/AbC",
            "http://m.example.cn:443/v/AbC",
            "https://old.example.cn/v/AbC",
            "https://m.example.cn@evil.example/v/AbC",
            "https://evil.example/01/06901234567892/21/17?t=AbC",
            "https:///v/AbC",
        ] {
            let parsed = parse_label_url(url, &hosts).unwrap();
            assert!(parsed.foreign_host, "{url}");
        }
    }

    #[test]
    fn an_extra_label_host_is_a_bare_host_and_port() {
        for bad in [
            "",
            "https://old.example.cn",
            "old.example.cn/v",
            "a@old.example.cn",
        ] {
            assert_eq!(
                LabelHosts::new("https://m.example.cn", &[bad.into()]),
                Err(InvalidLabelHost(bad.into())),
                "{bad}"
            );
        }
    }

    /// Found by the property tests (`tests/it/props`): the GS1 form under the public URL
    /// `http://a/v` was searched for `/v/` first and refused.
    #[test]
    fn a_gs1_url_under_a_public_url_whose_path_ends_in_v_is_parsed() {
        let hosts = LabelHosts::new("http://a/v", &[]).unwrap();
        assert_eq!(
            parse_label_url("http://a/v/01/06901234567892/21/1?t=AbC", &hosts),
            ours("AbC", Some(("06901234567892", "1")))
        );
        assert_eq!(
            parse_label_url("http://a/01/21/v/AbC", &hosts),
            ours("AbC", None)
        );
        assert_eq!(
            parse_label_url("http://a/v/21/01/06901234567892/21/1?t=AbC", &hosts),
            ours("AbC", Some(("06901234567892", "1")))
        );
    }
}
