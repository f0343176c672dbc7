#!/usr/bin/env python3
"""The browser stories: what a person does with marktrace's pages, in headless chromium
against a real server (tests/browser/run.sh starts it and runs this file).

A story is a function taking the harness (tests/browser/harness.py: `h.at`, `h.fill`,
`h.submit`, `h.wait_for`, `h.screenshot`, `h.token`), registered with @story. Each runs in a
browser session of its own (no cookies carried from one to the next); every page it opens or
submits to is checked for accessibility, and its screenshots land in docs/console/.

Usage: stories.py [--list] [NAME ...]     (no NAME: every story, in registry order)
Environment: MARKTRACE_BASE_URL (required), MARKTRACE_BIN and the rest that harness.py reads.
"""

import argparse
import json
import os
import signal
import sys
import time
import traceback
import urllib.request

from harness import ROOT, AccessibilityError, Harness, StoryFailure

STORIES = {}


def story(name):
    """Registers a story under `name` (also the stem of its screenshots, by convention)."""

    def register(function):
        if name in STORIES:
            raise ValueError(f"two stories named {name}")
        STORIES[name] = function
        return function

    return register


# --- the harness itself ----------------------------------------------------------------------

@story("harness-self-check")
def harness_self_check(h):
    """The accessibility checks catch what they exist to catch, on small pages of known faults
    (so a harness that quietly checks nothing cannot pass every story)."""
    good = ('<main><h1>Ok</h1><label for=a>Name</label><input id=a>'
            '<label>Wrapped <select><option>1</select></label><textarea aria-label=Note></textarea>'
            '<a href="#x">link</a><button>Send</button></main>')
    cases = {
        "label": ('<input id=a><label for=elsewhere>Other</label><select></select>'
                  '<input type=hidden name=h><button>Send</button>',
                  ["<input type=text id=a>", "<select>"]),
        "keyboard": ('<a href="#x" tabindex=-1>skipped</a><button tabindex=2>first</button>'
                     '<a href="#y">fine</a>',
                     ['"skipped" has tabindex=-1', '"first" has tabindex=2']),
        "contrast": ('<p style="color:#777">grey on white</p><p style="color:#767676">just enough</p>'
                     '<div style="background:#c62828;color:#fff"><span style="opacity:.5">faded'
                     '</span></div><p style="color:oklch(0.7 0.1 200)">oklch</p>',
                     ["'grey on white': 4.48:1", "'faded'", "'oklch'"]),
    }
    h.at_html(good)
    h.fill("Name", "typed by its label")
    h.at_html('<input id=q name=q><span>Query</span>', check=False)
    try:
        h.fill("Query", "x")
    except StoryFailure:
        pass
    else:
        raise StoryFailure("fill() found an input that no <label> names")
    for check, (html, wanted) in cases.items():
        try:
            h.at_html(html)
        except AccessibilityError as error:
            got = [m for c, m in error.failures]
            if {c for c, _ in error.failures} != {check} or len(got) != len(wanted) or not all(
                    any(w in m for m in got) for w in wanted):
                raise StoryFailure(f"the {check} check reported {error.failures}, "
                                   f"expected {len(wanted)} failures naming {wanted}") from None
        else:
            raise StoryFailure(f"the {check} check passed a page that fails it: {html}")


# --- the consumer (pages on main before the console) ---------------------------------------

@story("verdict-forged")
def verdict_forged(h):
    """A consumer scans a label whose token is junk: the verdict page says forged, and offers
    the report form."""
    h.at("/v/not-a-mark-token")
    h.expect_text("伪造标识", "Forged mark")
    h.screenshot("verdict-forged")


@story("report-received")
def report_received(h):
    """The same consumer reports the fake through the page's form, by its labels, and is
    thanked."""
    h.at("/v/not-a-mark-token")
    h.fill("所在地区代码", "360102")
    h.fill("情况说明", "超市货架上的大米，标签二维码扫出来是伪造")
    h.submit("举报疑似假冒")
    h.expect_text("举报已收到", "Report received")
    h.screenshot("report-received")


# --- the console -----------------------------------------------------------------------------

def api(h, method, path, bearer=None, body=None, accept="application/json"):
    """One call of the HTTP API the stories set things up with (what another system would do)."""
    headers = {"Accept": accept}
    data = None
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(h.base_url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
        return json.loads(text) if "json" in response.headers.get("Content-Type", "") else text


def sign_in(h, bearer):
    """Signs in on the console's sign-in page with an access token."""
    h.at("/console/login")
    h.fill("访问令牌", bearer)
    h.submit("登录")
    h.expect_text("退出")


# A penalty decision that passes every rule (tests/it/common/cases.rs has the same), by the
# labels the close form shows: "<双公示 title> <field>".
DECISION = [
    ("行政相对人名称 name", "南昌某米业有限公司"),
    ("统一社会信用代码 uscc", "91330000704202479R"),
    ("法定代表人 legal_representative", "张三"),
    ("处罚决定书文号 decision_number", "洪市监罚〔2026〕12号"),
    ("违法行为类型 violation_type", "伪造认证标志"),
    ("违法事实 facts", "使用伪造的江西绿色生态标识, 共 1200 袋"),
    ("处罚依据 basis", "《认证认可条例》第七十一条"),
    ("处罚类别 category", "罚款"),
    ("处罚内容 content", "罚款 5 万元"),
    ("罚款金额（万元） fine_wan", "5"),
    ("没收金额（万元） confiscated_wan", "0.35"),
    ("处罚决定日期 decided_on", "2026-03-02"),
    ("公示截止期 publish_until", "2029-03-02"),
    ("处罚机关 authority", "南昌市市场监督管理局"),
    ("处罚机关统一社会信用代码 authority_uscc", "11360100MB1739152L"),
    ("数据来源单位 data_source", "南昌市市场监督管理局"),
]


@story("supervisor")
def supervisor(h):
    """A mark scanned in 南昌 (360100) and minutes later in 赣州 (360700) is flagged cloned. The
    南昌 supervisor finds it in the queue, with 南昌 shaded on the map, opens a case from it and
    shares it with 赣州; 赣州's enforcement team adds a note; 南昌 closes it with a penalty;
    the credit platform sees the published record with its proof."""
    issuer = os.environ["MT_TOKEN_ISSUER"]
    batch = api(h, "GET", "/api/v1/batches", issuer)[0]
    serial = batch["first_serial"] + 50
    token = api(h, "GET", f"/api/v1/marks/{serial}", issuer)["token"]
    for region in ("360102", "360702"):
        api(h, "GET", f"/v/{token}?region={region}")

    sign_in(h, h.token("supervisor", "--region", "360100"))
    h.at("/console/flags?flag=cloned")

    def flagged(driver):
        if str(serial) in h.text():
            return True
        driver.refresh()
        return False
    h.wait_for(flagged, what=f"the cloned flag of serial {serial} in the queue")
    h.check()
    shaded = h.driver.find_element("css selector", 'a[href="/console/flags?region=360100"] path')
    if shaded.get_attribute("fill") == "#e3ecdf":
        raise StoryFailure("南昌 is not shaded on the map though its queue has a flag")
    h.screenshot("console-flag-queue")
    api(h, "POST", "/api/v1/reports", body={
        "token": token, "region": "360102", "note": "同一标签在赣州也出现", "contact": "138 0000 0000"})
    h.at("/console/reports")
    h.expect_text("同一标签在赣州也出现", "138 0000 0000")
    h.screenshot("console-reports")
    h.at(f"/console/marks/{serial}")
    h.expect_text("360102", "360702", "cloned")
    h.screenshot("console-mark")
    h.at("/console/flags?flag=cloned")

    h.driver.find_element("xpath", f"//tr[td[normalize-space()='{serial}']]//a[contains(., '立案')]").click()
    h.wait_for(lambda d: "/console/cases" in d.current_url, what="the case form")
    h.check()
    h.fill("案由", f"疑似复制标识 {serial}")
    h.submit("立案")
    h.expect_text(f"疑似复制标识 {serial}", f"flag-{serial}-cloned")
    h.fill("共享给地区", "360700")
    h.submit("共享")
    h.expect_text("360700 赣州市")
    case_url = h.driver.current_url
    h.screenshot("console-case-shared")

    h.submit("退出")
    sign_in(h, h.token("enforcement", "--region", "360700"))
    h.at(case_url.replace(h.base_url, ""))
    h.fill("记录 Note", "赣州市场现场核查：同批次标签在本地超市出现")
    h.submit("添加")
    h.expect_text("赣州市场现场核查")

    h.submit("退出")
    sign_in(h, h.token("supervisor", "--region", "360100"))
    h.at(case_url.replace(h.base_url, ""))
    for label, value in DECISION:
        h.fill(label, value)
    h.submit("处罚结案并公示")
    h.expect_text("信用记录")
    h.screenshot("console-case-closed")

    h.submit("退出")
    sign_in(h, os.environ["MT_TOKEN_CREDIT"])
    h.at("/console/credit")
    h.expect_text("南昌某米业有限公司", "included in the signed checkpoint")
    h.screenshot("console-credit")


def uscc(body17):
    """A GB 32100 unified social credit code: 17 characters and their check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(body17, weights))
    return body17 + alphabet[(31 - total % 31) % 31]


def set_date(h, label, value):
    """A date input's value, set as a date picker would (typing into one depends on locale)."""
    h.driver.execute_script("arguments[0].value = arguments[1]", h.field(label), value)


def console_get(h, path):
    """A console page fetched with the browser's session cookie (a download the browser would
    save): its text."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in h.driver.get_cookies())
    request = urllib.request.Request(h.base_url + path, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


@story("certification-body")
def certification_body(h):
    """A certification body registers a licensee, takes its certificate from application
    through evaluation (the report's SHA-256 computed from the uploaded file) to issue, issues
    a batch of 1,000 marks, downloads their CSV and label sheet, voids a range, and a voided mark's label URL
    shows the void verdict."""
    sign_in(h, os.environ["MT_TOKEN_ISSUER"])
    h.at("/console/keys")
    h.expect_text("jx-cb1", "Active")
    code = uscc("91360100MA35" + f"{int(time.time()) % 100000:05d}")
    h.at("/console/licensees")
    h.fill("统一社会信用代码 USCC", code)
    h.fill("企业名称 Name", "赣南脐橙合作社")
    h.fill("地区代码 Region code", "360702")
    h.submit("登记")
    h.expect_text(code, "赣南脐橙合作社")
    h.fill("统一社会信用代码或名称 USCC or name", "脐橙")
    h.submit("查找")
    h.expect_text(code)
    h.screenshot("console-licensees")

    h.at("/console/certificates")
    h.fill("企业统一社会信用代码 Enterprise USCC", code)
    h.fill("产品名称 Product name", "赣南脐橙")
    h.fill("产品类别 Product category", "水果")
    h.fill("认证标准 Standard", "GB/T 12947")
    h.fill("认证范围 Scope", "鲜果")
    h.submit("申请")
    h.expect_text("applied")
    report = ROOT / "target" / "browser-evaluation-report.txt"
    report.write_text("评价报告：赣南脐橙，抽样 12 批，全部合格。\n", encoding="utf-8")
    h.fill("评价机构 Evaluator", "江西省质量检验中心")
    h.fill("结论 Result", "pass")
    set_date(h, "评价日期 Date", "2026-01-05")
    h.field("评价报告（计算 SHA-256，不保存文件）Report file (its SHA-256 is recorded, the file is not kept)").send_keys(str(report))
    h.submit("提交评价")
    h.expect_text("evaluated")
    certificate_code = f"JXGE-2026-{int(time.time()) % 10000:04d}"
    h.fill("证书编号 Code", certificate_code)
    set_date(h, "生效日期 Valid from", "2026-01-10")
    set_date(h, "截止日期 Valid until", "2029-01-09")
    h.submit("发证")
    h.expect_text("issued", certificate_code)
    certificate_id = h.driver.current_url.rsplit("/", 1)[1]
    h.screenshot("console-certificate-issued")

    h.at("/console/batches")
    h.fill("证书 Certificate id", certificate_id)
    h.fill("数量 Count", "1000")
    h.fill("许可销售地区 Licensed regions (codes, optional)", "360000")
    h.submit("发放")
    h.expect_text(certificate_code, "1000")
    batch_id = h.driver.current_url.rsplit("/", 1)[1]
    rows = console_get(h, f"/console/batches/{batch_id}/marks.csv").splitlines()
    if len(rows) != 1001:
        raise StoryFailure(f"the CSV has {len(rows)} lines, not a header and 1,000 marks")
    sheet = console_get(h, f"/console/batches/{batch_id}/labels.html")
    if sheet.count("<figure>") != 1000 or not sheet.rstrip().endswith("</html>"):
        raise StoryFailure(f"the label sheet has {sheet.count('<figure>')} labels, not 1,000")
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(",")))
    serial = int(first["serial"])
    h.fill("起始序号 First serial", str(serial))
    h.fill("结束序号 Last serial", str(serial + 9))
    h.fill("状态 Status", "voided")
    h.fill("原因 Reason", "印刷错位")
    h.submit("报告")
    h.expect_text(f"{serial}–{serial + 9}")
    h.screenshot("console-batch-voided")

    label = first["url"]
    h.at(label.replace(label.split("/v/")[0], ""))
    h.expect_text("作废")
    h.screenshot("console-voided-mark-label")


@story("admin")
def admin(h):
    """The brand authority registers a certification body, adds and activates its key, reads
    the log's state, mints a supervisor token (shown once); the supervisor signs in with it in
    another browser, the authority revokes it, and the supervisor's open session is refused at
    its next page."""
    sign_in(h, os.environ["MT_TOKEN_ADMIN"])
    h.at("/console/issuers")
    h.fill("机构代号 Id (a-z, 0-9, -)", "jx-cb7")
    h.fill("机构名称 Name", "赣州市认证中心")
    h.fill("地区代码 Region code", "360700")
    h.submit("登记")
    h.expect_text("jx-cb7 · 赣州市认证中心")
    h.screenshot("console-issuers")
    h.at("/console/keys")
    h.fill("发证机构代号 Issuer id", "jx-cb7")
    h.submit("新增")
    key = h.driver.find_element(
        "xpath", "//tr[td[normalize-space()='jx-cb7']]/td[1]").text.strip()
    h.submit(f"启用 {key}")
    h.expect_text("Active")
    h.screenshot("console-keys")
    h.at("/console/log")
    h.expect_text("最新签名检查点", "Verifier key", "Not audited on this node yet")
    h.submit("立即核验")
    h.expect_text("核验通过", "verified")
    h.screenshot("console-log")
    h.at("/console/tokens")
    h.fill("角色 Role", "supervisor")
    h.fill("地区代码（监管与执法令牌）Region codes (supervisor: one; enforcement: one or more)", "360100")
    h.fill("备注 Note", "南昌市市场监督管理局 王科长")
    h.submit("签发")
    minted = h.driver.find_element("css selector", "input[readonly]")
    bearer = minted.get_attribute("value")
    token_id = bearer.split("_")[1]
    h.screenshot("console-token-minted")

    other = Harness(h.base_url)
    try:
        sign_in(other, bearer)
        other.at("/console/flags")
        other.expect_text("风险队列")
        h.at("/console/tokens")
        h.driver.find_element("id", f"confirm-{token_id}").click()
        h.submit(f"撤销 {token_id}")
        h.expect_text("已撤销")
        h.screenshot("console-token-revoked")
        other.at("/console/flags")
        if not other.driver.current_url.endswith("/console/login"):
            raise StoryFailure(f"the revoked token's session still opened {other.driver.current_url}")
        other.expect_text("访问令牌")
    finally:
        other.close()


@story("refusals")
def refusals(h):
    """What the console refuses: a form without its CSRF token (and nothing is written), a
    session whose token was revoked, and an issuer opening another issuer's certificate, which
    is the same 404 as a certificate that does not exist."""
    supervisor_token = h.token("supervisor", "--region", "360100")
    sign_in(h, supervisor_token)
    h.at("/console/cases")
    h.driver.execute_script("document.querySelector('form[action=\"/console/cases\"] input[name=csrf]').remove()")
    h.fill("案由 Title", "无令牌的表单")
    h.submit("立案")
    h.expect_text("403", "CSRF")
    h.screenshot("console-refused-csrf")
    h.at("/console/cases")
    if "无令牌的表单" in h.text():
        raise StoryFailure("the refused form opened a case")

    h.marktrace("token", "revoke", supervisor_token.split("_")[1])
    h.at("/console/cases")
    if not h.driver.current_url.endswith("/console/login"):
        raise StoryFailure("a session of a revoked token still opens pages")

    admin_token = os.environ["MT_TOKEN_ADMIN"]
    api(h, "POST", "/api/v1/issuers", admin_token,
        {"id": "jx-cb9", "name": "另一认证机构", "brand": "江西绿色生态", "region": "360700"})
    theirs = api(h, "GET", "/api/v1/certificates", os.environ["MT_TOKEN_ISSUER"])[0]
    sign_in(h, h.token("issuer", "--issuer", "jx-cb9"))
    pages = {}
    for certificate in (theirs["certificate_id"], "0" * 32):
        h.at(f"/console/certificates/{certificate}")
        pages[certificate] = h.text().replace(certificate, "ID")
    if len(set(pages.values())) != 1 or "404" not in pages["0" * 32]:
        raise StoryFailure(f"another issuer's certificate differs from a missing one: {pages}")
    h.screenshot("console-refused-other-issuer")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="stories to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the stories and exit")
    args = parser.parse_args()
    if args.list:
        for name, function in STORIES.items():
            print(f"{name}: {' '.join((function.__doc__ or '').split())}")
        return 0
    unknown = [n for n in args.names if n not in STORIES]
    if unknown:
        parser.error(f"no such story: {', '.join(unknown)} (known: {', '.join(STORIES)})")
    base_url = os.environ.get("MARKTRACE_BASE_URL")
    if not base_url:
        parser.error("MARKTRACE_BASE_URL is not set (tests/browser/run.sh sets it)")

    # run.sh's deadline stops this with SIGTERM: exit through the `finally`s, which quit the
    # browser and its driver rather than leaving them behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))

    passed, failed = [], []
    for name in args.names or list(STORIES):
        started = time.monotonic()
        print(f"== {name}", flush=True)
        h = None
        try:
            h = Harness(base_url)
            STORIES[name](h)
            h.finish()
            passed.append(name)
            shots = ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
                              for p in h.screenshots)
            print(f"   ok ({time.monotonic() - started:.1f} s){'; ' + shots if shots else ''}",
                  flush=True)
        except Exception:
            failed.append(name)
            print(f"   FAILED ({time.monotonic() - started:.1f} s)", flush=True)
            traceback.print_exc()
            sys.stderr.flush()
        finally:
            if h is not None:
                h.close()
    if failed:
        print(f"failed stories: {' '.join(failed)}", file=sys.stderr)
    print(f"stories: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
