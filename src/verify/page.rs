//! The HTML page a phone opens at the label URL: one [`Answer`] rendered for a consumer, Chinese
//! first with English below it, readable at 360 px, with a form to report a suspected fake; and
//! the small page shown after that report. This module owns the page's words, markup and style.
//! It does not decide verdicts (`verify::check`), serve HTTP or accept the report (`http`).
//!
//! The page is one self-contained document: inline CSS, inline SVG icons, no scripts, fonts or
//! images from anywhere, so [`CSP`] can forbid everything else. A label page is opened from a QR
//! code by people who cannot judge a URL; anything it loaded would be one more thing to forge.
//! Every dynamic string goes through `escape`: a forged or altered token, and registry text
//! such as an enterprise name, are attacker-controlled as far as the page is concerned.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::verdict::{Answer, CertificateStatus, Facts, Flag, Reason, Verdict};

/// The Content-Security-Policy the pages are served with. Nothing external, no scripts, no
/// images beyond the inline SVG (which is markup, not a fetch), and the one stylesheet allowed by
/// its hash rather than by `'unsafe-inline'`, so even markup that slipped past `escape` could
/// not add style. The hash is of `STYLE`; a test recomputes it, so a CSS edit that forgets it
/// fails there and not on a phone. `form-action 'self'` lets the report form post to this origin.
pub const CSP: &str = "default-src 'none'; style-src 'sha256-VSnxo+hzc5fCqUq5PpCnReRucwTZGnyP6ErbK4MktGM='; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Where the report form posts (application/x-www-form-urlencoded).
pub const REPORT_ACTION: &str = "/api/v1/reports";

/// The brand the pages speak for, as literals so `concat!` can build sentences from them. The
/// verdict sentences name it because a consumer should learn who stands behind the mark, not only
/// that "a" certification body does.
macro_rules! brand_zh {
    () => {
        "江西绿色生态"
    };
}
macro_rules! brand_en {
    () => {
        "Jiangxi Green Ecology"
    };
}
const BRAND_ZH: &str = brand_zh!();
const BRAND_EN: &str = brand_en!();

/// The one stylesheet, inlined in a `<style>` element whose text must be exactly this (see
/// [`CSP`]). Sizes are in rem on an 18 px root so the page reads at arm's length on a 360 px
/// screen; nothing has a fixed width, and long identifiers wrap anywhere.
const STYLE: &str = "\
*{box-sizing:border-box}\
html{font-size:18px;-webkit-text-size-adjust:100%}\
body{margin:0;font-family:system-ui,-apple-system,\"PingFang SC\",\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;line-height:1.5;color:#1a1a1a;background:#f4f5f2}\
main{max-width:40rem;margin:0 auto;padding:.75rem}\
.en{color:#555;font-size:.85rem}\
.site{margin:0 0 .5rem;font-size:.85rem;color:#444}\
.banner{margin-top:0;border-radius:.75rem;padding:1rem;color:#fff}\
.banner h1{margin:0;display:flex;align-items:center;gap:.6rem;font-size:1.9rem;line-height:1.2}\
.banner h1 svg{flex:none;width:3rem;height:3rem}\
.banner h1 .en,.banner .en{color:inherit;opacity:.92}\
.banner h1 .en{display:block;font-size:1.05rem;font-weight:600}\
.banner p{margin:.6rem 0 0;font-size:1.05rem}\
.banner .detail{font-weight:700}\
.v-genuine{background:#1b7f3b}\
.v-forged,.v-altered{background:#c62828}\
.v-void{background:#c43e00}\
.v-revoked{background:#7f0000}\
.v-suspended{background:#f2b01e;color:#2b1d00}\
section{margin-top:1rem;background:#fff;border-radius:.75rem;padding:.75rem 1rem}\
h2{margin:0 0 .5rem;font-size:1.15rem}\
h2 .en{font-weight:400}\
dl{margin:0}\
dt{margin-top:.5rem;font-size:.85rem;color:#444}\
dd{margin:0;font-size:1.05rem;overflow-wrap:anywhere}\
.warn{margin:.5rem 0 0;padding:.5rem .75rem;border-left:.3rem solid #e0a100;background:#fff8e1;border-radius:.25rem}\
.warn p{margin:0}\
label{display:block;margin-top:.75rem}\
input,textarea,button{display:block;width:100%;margin-top:.25rem;font:inherit;padding:.5rem;border:1px solid #999;border-radius:.4rem;background:#fff}\
textarea{min-height:6rem}\
button{margin-top:1rem;background:#333;color:#fff;border:0;font-weight:700}\
footer{margin:1rem 0;text-align:center;font-size:.8rem;color:#666}";

/// The page for one answer. `token` is the scanned token, echoed only into the report form's
/// hidden field so a report names what was scanned.
pub fn render(answer: &Answer, token: &str) -> String {
    let look = look(answer.verdict);
    // A void mark's `leaked` flag says what the void banner already says; repeating it as a
    // warning would only push the page down.
    let flags: BTreeSet<Flag> = answer
        .flags
        .iter()
        .copied()
        .filter(|&f| !(answer.verdict == Verdict::Void && f == Flag::Leaked))
        .collect();
    let mut out = String::with_capacity(8 * 1024);
    head(&mut out, &format!("{} {}", look.title_zh, look.title_en));

    let _ = write!(
        out,
        "<section class=\"banner {class}\">",
        class = look.class
    );
    let _ = write!(
        out,
        "<h1>{icon}<span>{zh}<span class=\"en\" lang=\"en\">{en}</span></span></h1>",
        icon = look.icon,
        zh = look.title_zh,
        en = look.title_en
    );
    bilingual(&mut out, "", look.meaning_zh, look.meaning_en);
    let certificate_status = answer.facts.as_ref().map(|f| f.certificate_status);
    if let Some((zh, en)) = reason_detail(answer.reason, certificate_status) {
        bilingual(&mut out, "detail", zh, en);
    }
    if !flags.is_empty() {
        bilingual(
            &mut out,
            "detail",
            "请注意下方的风险提示",
            "Please read the warnings below",
        );
    }
    out.push_str("</section>");

    // Warnings come before the facts: they are what may change a buyer's mind, so they belong
    // on the first screen, not under a dozen rows of registry details.
    if !flags.is_empty() {
        out.push_str("<section><h2>风险提示 <span class=\"en\" lang=\"en\">Warnings</span></h2>");
        for flag in flags {
            let (zh, en) = flag_warning(flag);
            out.push_str("<div class=\"warn\">");
            bilingual(&mut out, "", zh, en);
            out.push_str("</div>");
        }
        out.push_str("</section>");
    }

    if let Some(facts) = &answer.facts {
        facts_section(&mut out, facts, answer.verdict);
    }

    report_form(&mut out, token);
    foot(&mut out);
    out
}

/// The small page shown after a consumer submits the report form.
pub fn report_received() -> String {
    let mut out = String::with_capacity(3 * 1024);
    head(&mut out, "举报已收到 Report received");
    out.push_str("<section class=\"banner v-genuine\">");
    let _ = write!(
        out,
        "<h1>{CHECK}<span>举报已收到<span class=\"en\" lang=\"en\">Report received</span></span></h1>"
    );
    bilingual(
        &mut out,
        "",
        "谢谢！市场监管部门会核查您的举报。",
        "Thank you. Market supervisors will look into your report.",
    );
    out.push_str("</section>");
    foot(&mut out);
    out
}

/// HTML-escapes text for use in element content and in double- or single-quoted attribute
/// values: the five characters that can end a text run or an attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How one verdict looks and what it means, in both languages.
struct Look {
    class: &'static str,
    icon: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
    meaning_zh: &'static str,
    meaning_en: &'static str,
}

fn look(verdict: Verdict) -> Look {
    match verdict {
        Verdict::Genuine => Look {
            class: "v-genuine",
            icon: CHECK,
            title_zh: "正品标识",
            title_en: "Genuine mark",
            meaning_zh: concat!("本标识由", brand_zh!(), "认证机构签发并登记在册"),
            meaning_en: concat!(
                "Issued and registered by a certification body of ",
                brand_en!()
            ),
        },
        Verdict::Forged => Look {
            class: "v-forged",
            icon: CROSS,
            title_zh: "伪造标识",
            title_en: "Forged mark",
            meaning_zh: concat!("本标识并非由", brand_zh!(), "认证机构签发"),
            meaning_en: concat!(
                "This mark was not issued by a certification body of ",
                brand_en!()
            ),
        },
        Verdict::Altered => Look {
            class: "v-altered",
            icon: ALERT,
            title_zh: "变造标识",
            title_en: "Altered mark",
            meaning_zh: "标识内容被篡改，与登记记录不符",
            meaning_en: "The content of this mark was changed and no longer matches the register",
        },
        Verdict::Void => Look {
            class: "v-void",
            icon: BAN,
            title_zh: "作废标识",
            title_en: "Void mark",
            meaning_zh: "本标识已被报告作废、遗失或被盗，不应出现在市场上",
            meaning_en: "This mark was reported voided, lost or stolen and should not be on sale",
        },
        Verdict::Revoked => Look {
            class: "v-revoked",
            icon: NO_ENTRY,
            title_zh: "已撤销",
            title_en: "Revoked",
            meaning_zh: "本标识或其认证证书已被撤销，产品不得再使用此标识",
            meaning_en: "This mark or its certificate was revoked; the product may no longer carry it",
        },
        Verdict::Suspended => Look {
            class: "v-suspended",
            icon: PAUSE,
            title_zh: "已暂停",
            title_en: "Suspended",
            meaning_zh: "本标识或其认证证书已被暂停，暂停期间不得使用",
            meaning_en: "This mark or its certificate is suspended and may not be used meanwhile",
        },
    }
}

/// The reason in words, where it tells a consumer something the verdict alone does not.
fn reason_detail(
    reason: Reason,
    certificate: Option<CertificateStatus>,
) -> Option<(&'static str, &'static str)> {
    Some(match reason {
        Reason::Malformed => (
            "二维码内容不是有效的标识",
            "The code does not contain a valid mark",
        ),
        Reason::UnsupportedVersion => ("标识格式不受支持", "The mark's format is not one we issue"),
        Reason::UnknownKey => (
            "签名密钥不属于任何登记的认证机构",
            "It is signed with a key no registered certification body holds",
        ),
        Reason::UnregisteredSignedMark => (
            "登记册中没有签发过此标识",
            "The register never issued this mark",
        ),
        Reason::BadSignature => (
            "标识的数字签名无效",
            "The mark's digital signature is invalid",
        ),
        Reason::BodyMismatch => (
            "标识上的信息与登记的真实标识不一致",
            "Its content differs from the genuine mark on the register",
        ),
        Reason::UrlMismatch => (
            "标签网址中的商品条码或序列号与标识不符",
            "The product code or serial in the label's web address does not match the mark",
        ),
        Reason::ClaimsMismatch => (
            "标签上的证书编号与登记记录不符",
            "The certificate code on the label differs from the register",
        ),
        Reason::Voided => ("此标识在印制时已作废", "This mark was voided at printing"),
        Reason::Lost => ("此标识已被报告遗失", "This mark was reported lost"),
        Reason::Stolen => ("此标识已被报告失窃", "This mark was reported stolen"),
        Reason::MarkRevoked => ("此标识已被撤销", "The mark itself was revoked"),
        Reason::CertificateRevoked => ("认证证书已被撤销", "The certificate was revoked"),
        Reason::MarkSuspended => ("此标识已被暂停", "The mark itself is suspended"),
        Reason::CertificateSuspended => ("认证证书已被暂停", "The certificate is suspended"),
        Reason::Registered => match certificate {
            Some(CertificateStatus::Expired) => (
                "证书已过期（标识签发时有效）",
                "Certificate expired; the mark was issued while it was valid",
            ),
            _ => return None,
        },
    })
}

/// A calm warning per risk flag. Flags are behaviour, not proof: none of these may call the
/// product fake (SPEC.md "Verdicts": flags warn, signatures and the registry decide).
fn flag_warning(flag: Flag) -> (&'static str, &'static str) {
    match flag {
        Flag::Cloned => (
            "此标识已在多个地区被扫描，可能是复制的标签",
            "This code has been scanned in several regions; the label may be a copy",
        ),
        Flag::ExcessiveScans => (
            "此标识被扫描的次数异常多，标签可能被复制",
            "This code has been scanned unusually often; the label may have been copied",
        ),
        Flag::Diverted => (
            "此标识在授权销售地区以外被扫描",
            "This code was scanned outside the regions it is licensed for",
        ),
        Flag::Leaked => (
            "此标识属于已报告作废、遗失或被盗的标识，本不应流入市场",
            "This mark was reported voided, lost or stolen and should not have reached the market",
        ),
        Flag::Traded => (
            "此标识可能被用在其他企业的产品上",
            "This mark may be on another enterprise's product",
        ),
        Flag::KeyCompromised => (
            "签发此标识的密钥已被报告泄露，请核对上方的产品与企业信息",
            "The issuer's signing key was reported compromised; check the product and enterprise above",
        ),
    }
}

fn certificate_status_words(status: CertificateStatus) -> (&'static str, &'static str) {
    match status {
        CertificateStatus::Valid => ("有效", "valid"),
        CertificateStatus::Expired => ("已过期", "expired"),
        CertificateStatus::Suspended => ("已暂停", "suspended"),
        CertificateStatus::Revoked => ("已撤销", "revoked"),
    }
}

fn facts_section(out: &mut String, facts: &Facts, verdict: Verdict) {
    // For an altered mark the facts are the genuine mark's, not what the label says.
    let (zh, en) = if verdict == Verdict::Altered {
        ("登记的真实信息", "Registered record")
    } else {
        ("登记信息", "Registered details")
    };
    let _ = write!(
        out,
        "<section><h2>{zh} <span class=\"en\" lang=\"en\">{en}</span></h2><dl>"
    );
    let product = if facts.product_category.is_empty() {
        escape(&facts.product_name)
    } else {
        format!(
            "{}（{}）",
            escape(&facts.product_name),
            escape(&facts.product_category)
        )
    };
    let (status_zh, status_en) = certificate_status_words(facts.certificate_status);
    let rows: [(&str, &str, String); 8] = [
        ("品牌", "Brand", escape(&facts.brand)),
        ("产品", "Product", product),
        ("企业", "Enterprise", escape(&facts.enterprise_name)),
        (
            "统一社会信用代码",
            "Unified social credit code",
            escape(&facts.enterprise_uscc),
        ),
        (
            "认证证书",
            "Certificate",
            format!(
                "{} · {status_zh} <span class=\"en\" lang=\"en\">{status_en}</span>",
                escape(&facts.certificate_code)
            ),
        ),
        (
            "证书有效期",
            "Certificate validity",
            format!(
                "{} 至 {}",
                escape(&facts.valid_from),
                escape(&facts.valid_until)
            ),
        ),
        ("认证机构", "Certification body", escape(&facts.issuer_name)),
        ("批次", "Batch", escape(&facts.batch_id)),
    ];
    for (label_zh, label_en, value) in &rows {
        fact(out, label_zh, label_en, value);
    }
    if let Some(lot) = &facts.lot {
        fact(out, "生产批号", "Lot", &escape(lot));
    }
    if let Some(gtin) = &facts.gtin {
        fact(out, "商品条码", "GTIN", &escape(gtin));
    }
    fact(out, "标识序列号", "Serial", &facts.serial.to_string());
    out.push_str("</dl></section>");
}

/// One definition-list row; `value` is already HTML.
fn fact(out: &mut String, label_zh: &str, label_en: &str, value: &str) {
    let _ = write!(
        out,
        "<dt>{label_zh} <span class=\"en\" lang=\"en\">{label_en}</span></dt><dd>{value}</dd>"
    );
}

fn report_form(out: &mut String, token: &str) {
    let _ = write!(
        out,
        "<section><h2>举报疑似假冒 <span class=\"en\" lang=\"en\">Report a suspected fake</span></h2>\
         <form method=\"post\" action=\"{REPORT_ACTION}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>所在地区代码（6位，可不填）<span class=\"en\" lang=\"en\"> Region code (6 digits, optional)</span>\
         <input name=\"region\" inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" placeholder=\"如 360100\" autocomplete=\"off\"></label>\
         <label>情况说明 <span class=\"en\" lang=\"en\">What did you notice?</span>\
         <textarea name=\"note\" maxlength=\"1000\"></textarea></label>\
         <label>联系方式（可不填）<span class=\"en\" lang=\"en\"> Contact (optional)</span>\
         <input name=\"contact\" maxlength=\"200\" autocomplete=\"off\"></label>\
         <button type=\"submit\">举报疑似假冒 / Report a suspected fake</button>\
         </form></section>",
        token = escape(token)
    );
}

/// A Chinese paragraph with its English below; the text is trusted (constants of this module).
fn bilingual(out: &mut String, class: &str, zh: &str, en: &str) {
    let class = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    };
    let _ = write!(
        out,
        "<p{class}>{zh}<br><span class=\"en\" lang=\"en\">{en}</span></p>"
    );
}

/// The document's start, up to the opened `<main>`. `title` is trusted text.
fn head(out: &mut String, title: &str) {
    // `noindex` and `no-referrer`: the URL holds a token, which is nobody's business but the
    // scanner's; search engines and the sites linked from nowhere here need not learn it.
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"color-scheme\" content=\"light\">\
         <title>{title} · {BRAND_ZH}标识查验</title><style>{STYLE}</style></head><body><main>\
         <p class=\"site\">{BRAND_ZH} · 标识查验 <span class=\"en\" lang=\"en\">Mark check</span></p>"
    );
}

fn foot(out: &mut String) {
    let _ = write!(
        out,
        "</main><footer>{BRAND_ZH}认证标识查验 · <span lang=\"en\">{BRAND_EN} certification mark check</span></footer></body></html>"
    );
}

// Icons: inline SVG, stroked in the banner's text colour. No `xmlns`: inline SVG in HTML needs
// none, and leaving it out keeps the page free of any URL at all.
const CHECK: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\"><circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M7 12.5l3.2 3.2L17 9\"/></svg>";
const CROSS: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linecap=\"round\" aria-hidden=\"true\"><circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M8 8l8 8M16 8l-8 8\"/></svg>";
const ALERT: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linecap=\"round\" stroke-linejoin=\"round\" aria-hidden=\"true\"><path d=\"M12 2.5L22.5 21h-21z\"/><path d=\"M12 9.5v5M12 17.8v.2\"/></svg>";
const BAN: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linecap=\"round\" aria-hidden=\"true\"><circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M5 5l14 14\"/></svg>";
const NO_ENTRY: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linecap=\"round\" aria-hidden=\"true\"><circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M6.5 12h11\"/></svg>";
const PAUSE: &str = "<svg viewBox=\"0 0 24 24\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"2.5\" stroke-linecap=\"round\" aria-hidden=\"true\"><circle cx=\"12\" cy=\"12\" r=\"10\"/><path d=\"M10 8v8M14 8v8\"/></svg>";

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
            assert!(
                STYLE.contains(&format!("{class}{{background:{colour}"))
                    || STYLE.contains(&format!("{class},"))
                        && STYLE.contains(&format!("{{background:{colour}}}")),
                "{class}: background {colour}"
            );
            for text in [title_zh, title_en, zh, en] {
                assert!(page.contains(text), "{class}: {text}");
            }
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
    fn escape_replaces_every_character_that_can_end_text_or_an_attribute() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("江西绿源米业有限公司"), "江西绿源米业有限公司");
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
        assert!(page.contains(
            "<dd>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;</dd>"
        ));
        assert!(page.contains("<dd>&quot;&gt;&lt;img src=x&gt;</dd>"));
        assert!(
            page.contains(
                "name=\"token\" value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">"
            )
        );
    }

    #[test]
    fn no_page_loads_anything_from_anywhere() {
        let mut pages: Vec<String> = samples().iter().map(|a| render(a, TOKEN)).collect();
        pages.push(report_received());
        for page in &pages {
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
            assert_eq!(page.matches("<style>").count(), 1);
            assert!(page.contains(&format!("<style>{STYLE}</style>")));
        }
    }

    #[test]
    fn the_csp_allows_exactly_the_inline_stylesheet_and_nothing_else() {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        assert!(
            CSP.contains(&format!("style-src 'sha256-{hash}';")),
            "STYLE changed: its hash is now 'sha256-{hash}'"
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
        let mut pages: Vec<String> = samples().iter().map(|a| render(a, TOKEN)).collect();
        pages.push(report_received());
        for page in &pages {
            assert!(
                page.starts_with(
                    "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                )
            );
            assert!(page.contains(
                "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            ));
            assert!(page.ends_with("</body></html>"));
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
