//! The HTML page a phone opens at the label URL: one [`Answer`] rendered for a consumer, Chinese
//! first with English beside it, readable at 360 px, with a form to report a suspected fake; and
//! the small page shown after that report. This module picks what a page shows (which warnings,
//! which rows) and serves the pages' security policy; the words and markup live in the askama
//! templates under `templates/verify/`, on the layout `templates/base.html` shares with every
//! other page. It does not decide verdicts (`verify::check`), serve HTTP or accept the report
//! (`http`).
//!
//! A page is one self-contained document: inline CSS, inline SVG icons, no scripts, fonts or
//! images from anywhere, so [`CSP`] can forbid everything else. A label page is opened from a QR
//! code by people who cannot judge a URL; anything it loaded would be one more thing to forge.
//! askama escapes every value a template prints, and no template marks a value `|safe`: a forged
//! or altered token, and registry text such as an enterprise name, are attacker-controlled as far
//! as the page is concerned, and no caller has to remember to escape them.

use std::collections::BTreeSet;

use askama::Template;

use crate::domain::verdict::{
    Answer, CertificateStatus, Facts, Flag, Reason, Recognised, StatusSource, Verdict,
};

/// The Content-Security-Policy the pages are served with. Nothing external, no scripts, no
/// images beyond the inline SVG (which is markup, not a fetch), and the one stylesheet
/// (`templates/base.css`) allowed by its hash rather than by `'unsafe-inline'`, so even markup
/// that slipped past escaping could not add style. A test recomputes the hash from a rendered
/// page, so a CSS edit that forgets it fails there and not on a phone. `form-action 'self'` lets
/// the report form post to this origin.
pub const CSP: &str = "default-src 'none'; style-src 'sha256-hXxpuKoHlkCujvEYsGG24u2hpLWDHHlfMMSj6SMoaH0='; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Where the report form posts (application/x-www-form-urlencoded).
pub const REPORT_ACTION: &str = "/api/v1/reports";

/// `templates/verify/verdict.html`: what one answer shows.
#[derive(Template)]
#[template(path = "verify/verdict.html")]
struct VerdictPage<'a> {
    verdict: Verdict,
    reason: Reason,
    /// A genuine mark whose certificate has expired since the mark was issued: said in words,
    /// since the banner alone would read as an unqualified "genuine".
    certificate_expired: bool,
    /// Each flag once, in a fixed order.
    flags: BTreeSet<Flag>,
    facts: Option<&'a Facts>,
    /// A partner brand's mark: whose it is.
    recognised: Option<&'a Recognised>,
    /// The scanned token, echoed only into the report form's hidden field.
    token: &'a str,
}

/// `templates/verify/report_received.html`.
#[derive(Template)]
#[template(path = "verify/report_received.html")]
struct ReportReceivedPage;

/// The page for one answer. `token` is the scanned token, echoed only into the report form's
/// hidden field so a report names what was scanned.
pub fn render(answer: &Answer, token: &str) -> String {
    // A void mark's `leaked` flag says what the void banner already says; repeating it as a
    // warning would only push the page down.
    let flags = answer
        .flags
        .iter()
        .copied()
        .filter(|&f| !(answer.verdict == Verdict::Void && f == Flag::Leaked))
        .collect();
    let certificate_expired = answer.reason == Reason::Registered
        && answer
            .facts
            .as_ref()
            .is_some_and(|f| f.certificate_status == CertificateStatus::Expired);
    VerdictPage {
        verdict: answer.verdict,
        reason: answer.reason,
        certificate_expired,
        flags,
        facts: answer.facts.as_ref(),
        recognised: answer.recognised.as_ref(),
        token,
    }
    .render()
    .expect(RENDERS)
}

/// The small page shown after a consumer submits the report form.
pub fn report_received() -> String {
    ReportReceivedPage.render().expect(RENDERS)
}

/// Why rendering cannot fail: askama fails only when a value's `Display` does, and these pages
/// print only strings and integers into a `String`.
const RENDERS: &str = "a page of strings and integers renders into a String";

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::*;

    /// A real-looking token (base64url) for the report form.
    const TOKEN: &str = "AR2m5OQfXIoIAAAAAAAAAClKWEdFLTIwMjYtMDAwMQEAAAAAAAAA";
    const USCC: &str = "91330000704202479R";
    const GTIN: &str = "06901234567892";

    fn facts() -> Facts {
        Facts {
            serial: 1_000_042,
            brand: "江西绿色生态".into(),
            issuer_id: "jxqcc".into(),
            issuer_name: "江西省质量认证中心".into(),
            enterprise_name: "江西绿源米业有限公司".into(),
            enterprise_uscc: USCC.into(),
            product_name: "有机大米".into(),
            product_category: "粮食".into(),
            certificate_code: "JXGE-2026-0001".into(),
            certificate_status: CertificateStatus::Valid,
            valid_from: "2026-01-01".into(),
            valid_until: "2028-12-31".into(),
            batch_id: "0193a5c0e4b87c6e9d1f2a3b4c5d6e7f".into(),
            gtin: Some(GTIN.into()),
            lot: Some("2026-11".into()),
        }
    }

    fn answer(verdict: Verdict, reason: Reason, flags: &[Flag]) -> Answer {
        let facts = match verdict {
            Verdict::Forged => None,
            Verdict::Revoked | Verdict::Suspended
                if matches!(
                    reason,
                    Reason::CertificateRevoked | Reason::CertificateSuspended
                ) =>
            {
                let status = if verdict == Verdict::Revoked {
                    CertificateStatus::Revoked
                } else {
                    CertificateStatus::Suspended
                };
                Some(Facts {
                    certificate_status: status,
                    ..facts()
                })
            }
            _ => Some(facts()),
        };
        Answer {
            verdict,
            reason,
            facts,
            flags: flags.to_vec(),
            recognised: None,
        }
    }

    /// An answer of every verdict, and a genuine one with a warning: every kind of page.
    fn samples() -> Vec<Answer> {
        vec![
            answer(Verdict::Forged, Reason::BadSignature, &[]),
            answer(Verdict::Altered, Reason::BodyMismatch, &[]),
            answer(Verdict::Void, Reason::Stolen, &[Flag::Leaked]),
            answer(Verdict::Revoked, Reason::CertificateRevoked, &[]),
            answer(Verdict::Suspended, Reason::MarkSuspended, &[]),
            answer(Verdict::Genuine, Reason::Registered, &[]),
            answer(Verdict::Genuine, Reason::Registered, &[Flag::Cloned]),
        ]
    }

    /// Every page: each sample's and the report receipt.
    fn pages() -> Vec<String> {
        let mut pages: Vec<String> = samples().iter().map(|a| render(a, TOKEN)).collect();
        pages.push(report_received());
        pages
    }

    /// The text of the page's `<style>` element: what the browser hashes against [`CSP`].
    fn stylesheet(page: &str) -> &str {
        let start = page.find("<style>").expect("a stylesheet") + "<style>".len();
        let end = page[start..].find("</style>").unwrap() + start;
        &page[start..end]
    }

    /// The `<section>` of the page whose heading starts with `heading`, or "" if there is none.
    fn section<'a>(page: &'a str, heading: &str) -> &'a str {
        let Some(start) = page.find(&format!("<section><h2>{heading}")) else {
            return "";
        };
        let end = page[start..].find("</section>").unwrap() + start;
        &page[start..end]
    }

    #[test]
    fn each_verdict_page_has_its_coloured_banner_and_its_sentence_in_chinese_and_english() {
        let cases = [
            (
                Verdict::Genuine,
                Reason::Registered,
                "#1b7f3b",
                "正品标识",
                "Genuine mark",
                "本标识由江西绿色生态认证机构签发并登记在册",
                "Issued and registered by a certification body of Jiangxi Green Ecology",
            ),
            (
                Verdict::Forged,
                Reason::BadSignature,
                "#c62828",
                "伪造标识",
                "Forged mark",
                "本标识并非由江西绿色生态认证机构签发",
                "This mark was not issued by a certification body of Jiangxi Green Ecology",
            ),
            (
                Verdict::Altered,
                Reason::BodyMismatch,
                "#c62828",
                "变造标识",
                "Altered mark",
                "标识内容被篡改",
                "The content of this mark was changed",
            ),
            (
                Verdict::Void,
                Reason::Voided,
                "#c43e00",
                "作废标识",
                "Void mark",
                "本标识已被报告作废、遗失或被盗，不应出现在市场上",
                "This mark was reported voided, lost or stolen and should not be on sale",
            ),
            (
                Verdict::Revoked,
                Reason::MarkRevoked,
                "#7f0000",
                "已撤销",
                "Revoked",
                "本标识或其认证证书已被撤销",
                "This mark or its certificate was revoked",
            ),
            (
                Verdict::Suspended,
                Reason::MarkSuspended,
                "#f2b01e",
                "已暂停",
                "Suspended",
                "本标识或其认证证书已被暂停",
                "This mark or its certificate is suspended",
            ),
        ];
        for (verdict, reason, colour, title_zh, title_en, zh, en) in cases {
            let page = render(&answer(verdict, reason, &[]), TOKEN);
            let class = format!("v-{}", verdict.as_str());
            assert!(
                page.contains(&format!("<section class=\"banner {class}\"><h1><svg")),
                "{class}: banner with its icon"
            );
            let style = stylesheet(&page);
            assert!(
                style.contains(&format!("{class}{{background:{colour}"))
                    || style.contains(&format!("{class},"))
                        && style.contains(&format!("{{background:{colour}}}")),
                "{class}: background {colour}"
            );
            for text in [title_zh, title_en, zh, en] {
                assert!(page.contains(text), "{class}: {text}");
            }
            assert!(
                page.contains(&format!(
                    "<title>{title_zh} {title_en} · 江西绿色生态标识查验</title>"
                )),
                "{class}: the window title names the verdict"
            );
        }
    }

    #[test]
    fn a_void_page_says_whether_the_mark_was_voided_lost_or_stolen() {
        for (reason, zh, en) in [
            (Reason::Voided, "此标识在印制时已作废", "voided at printing"),
            (Reason::Lost, "此标识已被报告遗失", "reported lost"),
            (Reason::Stolen, "此标识已被报告失窃", "reported stolen"),
        ] {
            let page = render(&answer(Verdict::Void, reason, &[]), TOKEN);
            assert!(page.contains(zh) && page.contains(en), "{reason:?}");
        }
    }

    #[test]
    fn revoked_and_suspended_pages_say_whether_the_mark_or_the_certificate_is_affected() {
        for (verdict, reason, zh) in [
            (Verdict::Revoked, Reason::MarkRevoked, "此标识已被撤销"),
            (
                Verdict::Revoked,
                Reason::CertificateRevoked,
                "认证证书已被撤销",
            ),
            (Verdict::Suspended, Reason::MarkSuspended, "此标识已被暂停"),
            (
                Verdict::Suspended,
                Reason::CertificateSuspended,
                "认证证书已被暂停",
            ),
        ] {
            let page = render(&answer(verdict, reason, &[]), TOKEN);
            assert!(page.contains(zh), "{reason:?}");
        }
    }

    #[test]
    fn a_genuine_mark_under_an_expired_certificate_says_it_was_issued_while_valid() {
        let mut expired = answer(Verdict::Genuine, Reason::Registered, &[]);
        expired.facts.as_mut().unwrap().certificate_status = CertificateStatus::Expired;
        let page = render(&expired, TOKEN);
        assert!(page.contains("证书已过期（标识签发时有效）"));
        assert!(page.contains("Certificate expired; the mark was issued while it was valid"));
        assert!(page.contains("class=\"banner v-genuine\""));

        let valid = render(&answer(Verdict::Genuine, Reason::Registered, &[]), TOKEN);
        assert!(!valid.contains("证书已过期"));
        assert!(valid.contains("有效 <span class=\"en\" lang=\"en\">valid</span>"));
    }

    #[test]
    fn registered_facts_are_shown_with_bilingual_labels() {
        let page = render(&answer(Verdict::Genuine, Reason::Registered, &[]), TOKEN);
        let facts = section(&page, "登记信息");
        for text in [
            "品牌 <span class=\"en\" lang=\"en\">Brand</span></dt><dd>江西绿色生态</dd>",
            "<dd>有机大米（粮食）</dd>",
            "<dd>江西绿源米业有限公司</dd>",
            "Unified social credit code</span></dt><dd>91330000704202479R</dd>",
            "<dd>JXGE-2026-0001 · 有效",
            "<dd>2026-01-01 至 2028-12-31</dd>",
            "Certification body</span></dt><dd>江西省质量认证中心</dd>",
            "<dd>0193a5c0e4b87c6e9d1f2a3b4c5d6e7f</dd>",
            "Lot</span></dt><dd>2026-11</dd>",
            "GTIN</span></dt><dd>06901234567892</dd>",
            "Serial</span></dt><dd>1000042</dd>",
        ] {
            assert!(facts.contains(text), "missing {text}");
        }
    }

    #[test]
    fn lot_and_gtin_rows_are_left_out_when_the_batch_has_none() {
        let mut bare = answer(Verdict::Genuine, Reason::Registered, &[]);
        let facts = bare.facts.as_mut().unwrap();
        facts.lot = None;
        facts.gtin = None;
        let page = render(&bare, TOKEN);
        assert!(page.contains("<dl>"));
        assert!(!page.contains("生产批号") && !page.contains("商品条码"));
    }

    #[test]
    fn a_forged_page_without_facts_shows_no_registered_details() {
        let page = render(&answer(Verdict::Forged, Reason::UnknownKey, &[]), TOKEN);
        assert!(!page.contains("<dl>"));
        assert!(!page.contains("登记信息") && !page.contains("Registered details"));
        assert!(!page.contains("江西绿源米业有限公司"));
    }

    #[test]
    fn an_altered_page_presents_the_facts_as_what_the_register_holds() {
        let page = render(&answer(Verdict::Altered, Reason::UrlMismatch, &[]), TOKEN);
        assert!(section(&page, "登记的真实信息").contains("<dd>JXGE-2026-0001"));
        assert!(page.contains("标签网址中的商品条码或序列号与标识不符"));
    }

    #[test]
    fn each_flag_has_a_calm_warning_that_never_calls_the_product_fake() {
        let cases = [
            (
                Flag::Cloned,
                "此标识已在多个地区被扫描，可能是复制的标签",
                "This code has been scanned in several regions; the label may be a copy",
            ),
            (
                Flag::ExcessiveScans,
                "此标识被扫描的次数异常多",
                "scanned unusually often",
            ),
            (
                Flag::Diverted,
                "在授权销售地区以外被扫描",
                "scanned outside the regions it is licensed for",
            ),
            (
                Flag::Leaked,
                "本不应流入市场",
                "should not have reached the market",
            ),
            (
                Flag::Traded,
                "此标识可能被用在其他企业的产品上",
                "This mark may be on another enterprise's product",
            ),
            (
                Flag::KeyCompromised,
                "签发此标识的密钥已被报告泄露",
                "The issuer's signing key was reported compromised",
            ),
        ];
        for (flag, zh, en) in cases {
            let page = render(
                &answer(Verdict::Genuine, Reason::Registered, &[flag]),
                TOKEN,
            );
            let warnings = section(&page, "风险提示");
            assert!(warnings.contains(zh), "{flag:?}: {zh}");
            assert!(warnings.contains(en), "{flag:?}: {en}");
            assert!(page.contains("class=\"banner v-genuine\""), "{flag:?}");
            assert!(page.contains("请注意下方的风险提示"), "{flag:?}");
            let lower = warnings.to_lowercase();
            for word in ["fake", "forged", "counterfeit", "假", "伪造"] {
                assert!(!lower.contains(word), "{flag:?} says {word}");
            }
        }
    }

    #[test]
    fn warnings_come_before_the_registered_facts() {
        let page = render(
            &answer(Verdict::Genuine, Reason::Registered, &[Flag::Cloned]),
            TOKEN,
        );
        let warnings = page.find("风险提示 <span").unwrap();
        assert!(page.find("class=\"banner").unwrap() < warnings);
        assert!(warnings < page.find("登记信息").unwrap());
    }

    #[test]
    fn a_void_page_does_not_repeat_its_banner_as_a_leaked_warning() {
        let void = render(&answer(Verdict::Void, Reason::Lost, &[Flag::Leaked]), TOKEN);
        assert!(!void.contains("class=\"warn\"") && !void.contains("请注意下方"));
        let diverted = render(
            &answer(Verdict::Void, Reason::Lost, &[Flag::Leaked, Flag::Diverted]),
            TOKEN,
        );
        assert_eq!(diverted.matches("class=\"warn\"").count(), 1);
        assert!(diverted.contains("在授权销售地区以外被扫描"));
    }

    #[test]
    fn a_page_without_flags_has_no_warnings() {
        let page = render(&answer(Verdict::Genuine, Reason::Registered, &[]), TOKEN);
        assert!(!page.contains("风险提示") && !page.contains("class=\"warn\""));
    }

    #[test]
    fn a_flag_listed_twice_is_warned_about_once() {
        let twice = [Flag::Traded, Flag::Cloned, Flag::Traded];
        let page = render(&answer(Verdict::Genuine, Reason::Registered, &twice), TOKEN);
        assert_eq!(page.matches("class=\"warn\"").count(), 2);
    }

    #[test]
    fn dynamic_text_in_facts_and_the_token_is_escaped() {
        let mut hostile = answer(Verdict::Genuine, Reason::Registered, &[]);
        let facts = hostile.facts.as_mut().unwrap();
        facts.enterprise_name = r#"<script>alert("x")</script> & 'Co'"#.into();
        facts.lot = Some("\"><img src=x>".into());
        let token = r#""><script>alert(1)</script>"#;
        let page = render(&hostile, token);
        assert!(!page.contains("<script") && !page.contains("<img"));
        // askama writes each of the five characters that can end a text run or an attribute
        // value as a numeric reference: &#60; < &#62; > &#38; & &#34; " &#39; '
        assert!(page.contains(
            "<dd>&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;Co&#39;</dd>"
        ));
        assert!(page.contains("<dd>&#34;&#62;&#60;img src=x&#62;</dd>"));
        assert!(page.contains(
            "name=\"token\" value=\"&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;\">"
        ));
    }

    #[test]
    fn every_registry_text_a_page_shows_is_escaped() {
        // Each registry field a template prints, not only the ones a test thought of: no
        // caller has to remember to escape anything.
        const HOSTILE: &str = "<b x='1'>\"&";
        const ESCAPED: &str = "&#60;b x=&#39;1&#39;&#62;&#34;&#38;";
        let mut hostile = answer(Verdict::Altered, Reason::BodyMismatch, &[]);
        let f = hostile.facts.as_mut().unwrap();
        for field in [
            &mut f.brand,
            &mut f.issuer_name,
            &mut f.enterprise_name,
            &mut f.enterprise_uscc,
            &mut f.product_name,
            &mut f.product_category,
            &mut f.certificate_code,
            &mut f.valid_from,
            &mut f.valid_until,
            &mut f.batch_id,
        ] {
            *field = HOSTILE.into();
        }
        f.gtin = Some(HOSTILE.into());
        f.lot = Some(HOSTILE.into());
        let page = render(&hostile, HOSTILE);
        assert!(!page.contains("<b "));
        // The twelve texts shown among the facts, and the token in the report form.
        assert_eq!(page.matches(ESCAPED).count(), 13);
    }

    #[test]
    fn no_template_turns_escaping_off() {
        // The escaping tests cover the values printed today; this keeps tomorrow's template
        // edits to the rule that markup comes only from the templates' own text.
        fn check(dir: &std::path::Path) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    check(&path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap().replace(' ', "");
                for off in ["|safe", "|escape(\"none\")", "|e(\"none\")"] {
                    assert!(!text.contains(off), "{} uses {off}", path.display());
                }
            }
        }
        check(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"));
    }

    #[test]
    fn no_page_loads_anything_from_anywhere() {
        for page in &pages() {
            // Stronger than checking each src= and href=: no URL with a scheme at all.
            assert!(!page.contains("://"));
            for tag in [
                "<script", "<link", "<img", "<iframe", "<object", "<embed", "<base",
            ] {
                assert!(!page.contains(tag), "{tag}");
            }
            for css in ["url(", "@import", "@font-face"] {
                assert!(!page.contains(css), "{css}");
            }
            // The only inline style is the hashed stylesheet: a style attribute would be
            // blocked by the CSP.
            assert!(!page.contains(" style="));
            assert_eq!(page.matches("<style").count(), 1);
            let hash =
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(stylesheet(page)));
            assert!(CSP.contains(&format!("'sha256-{hash}'")));
        }
    }

    #[test]
    fn the_csp_allows_exactly_the_inline_stylesheet_and_nothing_else() {
        let page = report_received();
        let hash =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(stylesheet(&page)));
        assert!(
            CSP.contains(&format!("style-src 'sha256-{hash}';")),
            "templates/base.css changed: its hash is now 'sha256-{hash}'"
        );
        assert!(CSP.starts_with("default-src 'none';"));
        for loose in ["unsafe", "script-src", "*", "http", "data:"] {
            assert!(!CSP.contains(loose), "{loose}");
        }
        for directive in [
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(CSP.contains(directive), "{directive}");
        }
    }

    #[test]
    fn the_report_form_posts_to_the_reports_api_with_the_scanned_token() {
        let page = render(&answer(Verdict::Forged, Reason::Malformed, &[]), TOKEN);
        let form = section(&page, "举报疑似假冒");
        for text in [
            "<form method=\"post\" action=\"/api/v1/reports\">",
            &format!("<input type=\"hidden\" name=\"token\" value=\"{TOKEN}\">"),
            "<input name=\"region\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" maxlength=\"6\"",
            "<textarea name=\"note\" maxlength=\"1000\">",
            "<input name=\"contact\" maxlength=\"200\"",
            "<button type=\"submit\">举报疑似假冒 / Report a suspected fake</button>",
        ] {
            assert!(form.contains(text), "missing {text}");
        }
        assert!(
            !form.contains("required"),
            "every field but the token is optional"
        );
    }

    #[test]
    fn pages_are_chinese_first_small_screen_html() {
        for page in &pages() {
            assert!(page.starts_with(
                "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">"
            ));
            assert!(page.contains(
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            ));
            assert!(page.ends_with("</body>\n</html>"));
            // A few KB: the page is opened over whatever signal a market stall has.
            assert!(page.len() < 10 * 1024, "{} bytes", page.len());
        }
    }

    #[test]
    fn the_report_received_page_thanks_in_both_languages() {
        let page = report_received();
        assert!(page.contains("举报已收到") && page.contains("Report received"));
        assert!(page.contains("Thank you"));
        assert!(!page.contains("<form"));
    }
}
