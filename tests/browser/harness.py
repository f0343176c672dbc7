"""The browser-test harness the console's stories use (tests/browser/stories.py).

A story drives Debian's headless chromium through chromedriver (selenium) against a real
`marktrace serve` that tests/browser/run.sh started on a fresh SQLite database. The harness
gives it a few verbs a person would use, and checks every page it lands on:

    h.at("/v/junk")                 # open a page (then check_accessibility on it)
    h.fill("地区", "360100")         # type into the input that <label> names (none: a failure)
    h.submit("提交")                 # press a submit button, wait for the next page, check it
    h.wait_for(lambda d: ..., 10)   # poll a condition until a deadline, never a fixed sleep
    h.screenshot("verdict-forged")  # docs/console/<name>-1280.png and <name>-390.png

check_accessibility(driver) fails a page (AccessibilityError, naming its URL) when
  (a) a visible input, select or textarea (other than hidden, submit, button, reset and image
      inputs, which are buttons named by their own value or alt) has no <label> (for=id or
      wrapping, with text), aria-label or aria-labelledby;
  (b) a visible, enabled interactive element (a[href], button, input, select, textarea) has a
      positive tabindex or tabindex=-1, or is never focused when TAB is pressed from the top
      of the page until focus cycles;
  (c) a visible element's own text has a contrast below 4.5:1 against the background behind
      it (WCAG 2 relative luminance; the background is the nearest ancestor's non-transparent
      background-color, blended over those above it and over white at the root; the text's
      colour takes the element's and its ancestors' opacity down to that background).
Background images and text over positioned siblings are not seen by (c).

Environment (set by run.sh): MARKTRACE_BASE_URL, the server; MARKTRACE_BIN, the binary (with
MARKTRACE_DATABASE_URL, MARKTRACE_KEYS_DIR and MARKTRACE_CONFIG, so `h.marktrace(...)` acts on
the server's own registry); BROWSER_SHOTS_DIR (default docs/console); CHROMIUM and
CHROMEDRIVER (default /usr/bin/chromium, /usr/bin/chromedriver).
"""

import base64
import os
import re
import subprocess
import time
import urllib.parse
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

ROOT = Path(__file__).resolve().parents[2]
# The two sizes every story's screenshots are taken at: a laptop and a phone (CSS px).
SIZES = ((1280, 800), (390, 844))
DEFAULT_SIZE = SIZES[0]
MIN_CONTRAST = 4.5
# Deadlines, in seconds: a page load, and a condition waited for by default.
PAGE_LOAD_DEADLINE = 30
WAIT_DEADLINE = 10


class StoryFailure(AssertionError):
    """A story found the product not doing what it should."""


class AccessibilityError(StoryFailure):
    """A page failed check_accessibility; `failures` lists (check, message) pairs, where check
    is one of "label", "keyboard", "contrast"."""

    def __init__(self, url, failures):
        self.url = url
        self.failures = failures
        lines = "\n".join(f"  [{check}] {message}" for check, message in failures)
        super().__init__(f"{url} fails {len(failures)} accessibility check(s):\n{lines}")


def start_driver(width=DEFAULT_SIZE[0], height=DEFAULT_SIZE[1]):
    """A headless chromium session from Debian's packages (never a downloaded browser: the
    driver's path is given, so selenium's manager is not consulted)."""
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--lang=zh-CN",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PAGE_LOAD_DEADLINE)
    driver.set_script_timeout(PAGE_LOAD_DEADLINE)
    return driver


def wait_for(driver, condition, deadline=WAIT_DEADLINE, what=None, interval=0.05):
    """Polls `condition(driver)` until it returns something truthy, which is returned; past
    `deadline` seconds, fails naming `what` (or the condition) and the page."""
    end = time.monotonic() + deadline
    last_error = None
    while True:
        try:
            value = condition(driver)
            if value:
                return value
        # A page in transition answers with errors (a stale element, a node no longer in the
        # document, no execution context): tried again until the deadline, and the last one
        # reported if it passes.
        except (WebDriverException, LookupError) as error:
            last_error = error
        if time.monotonic() >= end:
            name = what or getattr(condition, "__name__", repr(condition))
            detail = f" (last error: {last_error})" if last_error else ""
            raise StoryFailure(
                f"{driver.current_url}: waited {deadline} s for {name}{detail}"
            )
        time.sleep(interval)


def page_loaded(driver):
    return driver.execute_script("return document.readyState") == "complete"


def at(driver, base_url, path):
    """Opens `path` (relative to the server) and waits until the page has loaded."""
    driver.get(base_url.rstrip("/") + path)
    wait_for(driver, page_loaded, PAGE_LOAD_DEADLINE, "the page to load")


# --- accessibility ---------------------------------------------------------------------------

_LABELS_JS = r"""
const skip = new Set(["hidden", "submit", "button", "reset", "image"]);
const text = (el) => (el ? el.textContent.replace(/\s+/g, " ").trim() : "");
const visible = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
const describe = (el) => {
  const bits = [el.tagName.toLowerCase()];
  if (el.type && el.tagName === "INPUT") bits.push(`type=${el.type}`);
  if (el.id) bits.push(`id=${el.id}`);
  if (el.name) bits.push(`name=${el.name}`);
  return `<${bits.join(" ")}>`;
};
const out = [];
for (const el of document.querySelectorAll("input, select, textarea")) {
  if (el.tagName === "INPUT" && skip.has(el.type)) continue;
  if (!visible(el)) continue;
  const labelled = [...(el.labels || [])].some((l) => text(l) !== "");
  const aria = (el.getAttribute("aria-label") || "").trim() !== "";
  const by = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean)
    .some((id) => text(document.getElementById(id)) !== "");
  if (!labelled && !aria && !by) out.push(describe(el));
}
return out;
"""

_INTERACTIVE_JS = r"""
const visible = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
const out = [];
for (const el of document.querySelectorAll("a[href], button, input, select, textarea")) {
  if (el.tagName === "INPUT" && el.type === "hidden") continue;
  if (el.disabled || !visible(el)) continue;
  out.push(el);
}
return out;
"""

_DESCRIBE_JS = r"""
const el = arguments[0];
const bits = [el.tagName.toLowerCase()];
for (const a of ["type", "id", "name", "href", "tabindex"]) {
  if (el.hasAttribute(a)) bits.push(`${a}=${el.getAttribute(a)}`);
}
const t = (el.innerText || el.value || "").replace(/\s+/g, " ").trim().slice(0, 60);
return `<${bits.join(" ")}>` + (t ? ` "${t}"` : "");
"""

# Every visible element with text of its own: its text, its colour and the background behind
# it, as sRGB [r, g, b, a] (canvas converts whatever colour syntax the computed style uses).
_CONTRAST_JS = r"""
const ctx = document.createElement("canvas").getContext("2d", {willReadFrequently: true});
const rgba = (css) => {
  const m = css.match(/^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/);
  if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
  ctx.clearRect(0, 0, 1, 1);
  ctx.fillStyle = "#000";
  ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  const d = ctx.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2], d[3] / 255];
};
const over = (top, below) => {
  const a = top[3] + below[3] * (1 - top[3]);
  if (a === 0) return [0, 0, 0, 0];
  const c = (i) => (top[i] * top[3] + below[i] * below[3] * (1 - top[3])) / a;
  return [c(0), c(1), c(2), a];
};
const out = [];
for (const el of document.body.querySelectorAll("*")) {
  if (["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "OPTION"].includes(el.tagName)) continue;
  const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
    .map((n) => n.textContent).join(" ").replace(/\s+/g, " ").trim();
  if (!own) continue;
  if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
  const style = getComputedStyle(el);
  let color = rgba(style.color);
  // Opacity of the element and of its ancestors up to the one whose background is behind it.
  let layers = [], opacity = 1, reached = false;
  for (let node = el; node; node = node.parentElement) {
    const s = getComputedStyle(node);
    if (!reached) opacity *= +s.opacity;
    const bg = rgba(s.backgroundColor);
    if (bg[3] > 0) { layers.push(bg); reached = true; if (bg[3] >= 1) break; }
  }
  let background = [255, 255, 255, 1];
  for (const layer of layers.reverse()) background = over(layer, background);
  color = over([color[0], color[1], color[2], color[3] * opacity], background);
  out.push({text: own.slice(0, 80), tag: el.tagName.toLowerCase(),
            color: color, background: background,
            cssColor: style.color, cssBackground: layers.length ? "" : "(white root)"});
}
return out;
"""


def _luminance(rgb):
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground, background):
    """WCAG 2 contrast ratio of two opaque sRGB colours (r, g, b in 0..255)."""
    a, b = _luminance(foreground), _luminance(background)
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def _hex(rgb):
    return "#" + "".join(f"{round(c):02x}" for c in rgb[:3])


def _focus_order(driver, limit):
    """The elements TAB visits from the top of the page, in order, until focus cycles back to
    the top or leaves the page (to the body or the browser), at most `limit` presses. The walk
    starts from a focusable marker put first in the body: after a blur, chromium would start
    from wherever focus last was."""
    driver.execute_script(
        "if (document.activeElement) document.activeElement.blur();"
        "window.getSelection().removeAllRanges(); window.scrollTo(0, 0);"
        "const start = document.createElement('span'); start.id = '__harness_start';"
        "start.tabIndex = 0; document.body.prepend(start); start.focus();"
    )
    body = driver.find_element(By.TAG_NAME, "body")
    order = []
    seen = set()
    try:
        for _ in range(limit):
            # Key events to the page, not send_keys to the element: on a file input send_keys
            # means "upload this path".
            ActionChains(driver).send_keys(Keys.TAB).perform()
            active = driver.switch_to.active_element
            if active.get_attribute("id") == "__harness_start":
                break
            if active == body or active.tag_name.lower() in ("body", "html"):
                if order:
                    break
                continue
            if order and active == order[-1]:
                # A date or time input takes several TAB stops (its fields) on one element.
                continue
            if active.id in seen:
                break
            seen.add(active.id)
            order.append(active)
    finally:
        driver.execute_script("document.getElementById('__harness_start')?.remove()")
    return order


def check_accessibility(driver):
    """The basic checks of the module's docstring on the page `driver` shows: raises
    AccessibilityError listing every failure, with the page's URL."""
    failures = []

    for element in driver.execute_script(_LABELS_JS):
        failures.append(("label", f"{element} has no <label>, aria-label or aria-labelledby"))

    interactive = driver.execute_script(_INTERACTIVE_JS)
    reported = set()
    for element in interactive:
        tabindex = (element.get_attribute("tabindex") or "").strip()
        if re.fullmatch(r"[+-]?\d+", tabindex) and int(tabindex) != 0:
            value = int(tabindex)
            reported.add(element.id)
            failures.append(
                ("keyboard", f"{driver.execute_script(_DESCRIBE_JS, element)} has tabindex="
                 f"{value}: {'out of document order' if value > 0 else 'not reachable by TAB'}")
            )
    order = _focus_order(driver, limit=2 * len(interactive) + 5)
    focused = {element.id for element in order}
    for element in interactive:
        if element.id not in focused and element.id not in reported:
            failures.append(
                ("keyboard", f"{driver.execute_script(_DESCRIBE_JS, element)} is never focused "
                 f"by TAB ({len(order)} stops from the top)")
            )

    for item in driver.execute_script(_CONTRAST_JS):
        ratio = contrast_ratio(item["color"], item["background"])
        if ratio < MIN_CONTRAST:
            failures.append(
                ("contrast", f"<{item['tag']}> {item['text']!r}: {ratio:.2f}:1, text "
                 f"{_hex(item['color'])} (computed {item['cssColor']}) on "
                 f"{_hex(item['background'])}{' ' + item['cssBackground'] if item['cssBackground'] else ''}")
            )

    if failures:
        raise AccessibilityError(driver.current_url, failures)


# --- screenshots -----------------------------------------------------------------------------

def _set_viewport(driver, width, height):
    """Resizes the window so the page's viewport is width x height CSS px."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    if inner != [width, height]:
        # Window decorations take their share: grow the window by it.
        driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    if inner != [width, height]:
        raise StoryFailure(f"could not size the viewport to {width}x{height} (got {inner})")


def save_screenshot(driver, path, width, height):
    """A PNG of the whole page at a width x height viewport: that size, or taller when the page
    is (the rest captured beyond the viewport)."""
    _set_viewport(driver, width, height)
    full = driver.execute_script(
        "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": max(height, full), "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


# --- the harness a story is given --------------------------------------------------------------

class Harness:
    """One browser session against one server, handed to each story."""

    def __init__(self, base_url, binary=None, shots_dir=None, driver=None):
        self.base_url = base_url.rstrip("/")
        self.binary = binary or os.environ.get("MARKTRACE_BIN")
        self.shots_dir = Path(shots_dir or os.environ.get("BROWSER_SHOTS_DIR")
                              or ROOT / "docs" / "console")
        self.driver = driver or start_driver()
        self.screenshots = []
        # Accessibility failures a story has declared expected, as (check, substring): they are
        # reported, not raised. See expect_accessibility_failure.
        self._expected = []
        self._expected_seen = set()
        self._last_form = None

    def close(self):
        self.driver.quit()

    # Navigation and forms.

    def at(self, path, check=True):
        """Opens `path` and checks the page (check_accessibility)."""
        at(self.driver, self.base_url, path)
        if check:
            self.check()
        return self

    def at_html(self, html, check=True):
        """Opens a page of the given markup (a data: URL), for checking the harness itself."""
        self.driver.get("data:text/html;charset=utf-8," + urllib.parse.quote(
            f"<!DOCTYPE html><html lang=en><title>harness</title><body>{html}</body></html>"))
        wait_for(self.driver, page_loaded, PAGE_LOAD_DEADLINE, "the page to load")
        if check:
            self.check()
        return self

    def label(self, label_text):
        """The <label> whose text is `label_text` (whitespace collapsed), or failing that the
        only one whose text contains it."""
        labels = self.driver.find_elements(By.TAG_NAME, "label")
        texts = [(" ".join(l.get_attribute("textContent").split()), l) for l in labels]
        exact = [l for t, l in texts if t == label_text]
        found = exact or [l for t, l in texts if label_text in t]
        if len(found) != 1:
            raise StoryFailure(
                f"{self.driver.current_url}: {len(found)} <label>s match {label_text!r}; "
                f"the page's labels: {[t for t, _ in texts]}"
            )
        return found[0]

    def field(self, label_text):
        """The control a <label> names (for=id or wrapped): an unlabelled input is not found."""
        label = self.label(label_text)
        control = self.driver.execute_script("return arguments[0].control", label)
        if control is None:
            raise StoryFailure(
                f"{self.driver.current_url}: the <label> {label_text!r} names no control"
            )
        return control

    def fill(self, label_text, value):
        """Types `value` into the field labelled `label_text` (a select: the option with that
        text or value; a checkbox or radio: True/False)."""
        control = self.field(label_text)
        tag = control.tag_name.lower()
        kind = (control.get_attribute("type") or "").lower()
        if tag == "select":
            select = Select(control)
            try:
                select.select_by_visible_text(value)
            except WebDriverException:
                select.select_by_value(value)
        elif kind in ("checkbox", "radio"):
            if control.is_selected() != bool(value):
                control.click()
        else:
            control.clear()
            control.send_keys(value)
        self._last_form = self.driver.execute_script("return arguments[0].form", control)
        return control

    def submit(self, button_text=None, check=True, deadline=PAGE_LOAD_DEADLINE):
        """Presses a submit button (the one whose text contains `button_text`, or the first of
        the form last filled), waits for the next page to load and checks it."""
        if button_text is not None:
            buttons = [
                b for b in self.driver.find_elements(
                    By.CSS_SELECTOR, "button, input[type=submit]")
                if button_text in " ".join(
                    (b.get_attribute("textContent") or b.get_attribute("value") or "").split())
            ]
            if len(buttons) != 1:
                raise StoryFailure(
                    f"{self.driver.current_url}: {len(buttons)} buttons match {button_text!r}"
                )
            button = buttons[0]
        else:
            if self._last_form is None:
                raise StoryFailure(f"{self.driver.current_url}: submit() before any fill()")
            found = self._last_form.find_elements(
                By.CSS_SELECTOR, "button:not([type=button]):not([type=reset]), input[type=submit]")
            if not found:
                raise StoryFailure(f"{self.driver.current_url}: the form has no submit button")
            button = found[0]
        # A mark on the current document: the next page is loaded when a complete document
        # without it answers.
        self.driver.execute_script("window.__harnessPrevious = true")
        button.click()

        def replaced(driver):
            return driver.execute_script(
                "return window.__harnessPrevious !== true && document.readyState === 'complete'")

        wait_for(self.driver, replaced, deadline, "the next page after submitting")
        self._last_form = None
        if check:
            self.check()
        return self

    def wait_for(self, condition, deadline=WAIT_DEADLINE, what=None):
        return wait_for(self.driver, condition, deadline, what)

    def text(self):
        """The page's visible text."""
        return self.driver.find_element(By.TAG_NAME, "body").text

    def expect_text(self, *needles):
        body = self.text()
        missing = [n for n in needles if n not in body]
        if missing:
            raise StoryFailure(f"{self.driver.current_url}: no {missing} on the page:\n{body}")

    # Checks and pictures.

    def expect_accessibility_failure(self, check, substring, reason):
        """Declares a known accessibility failure (of `check`, whose message contains
        `substring`) expected: reported with `reason`, not raised. For a known bug in a page
        outside the story's reach; everything else still fails."""
        self._expected.append((check, substring, reason))

    def check(self):
        """check_accessibility on the current page, less the declared expected failures (each
        printed, not raised)."""
        try:
            check_accessibility(self.driver)
            return
        except AccessibilityError as error:
            failures = error.failures
        unexpected = []
        for check, message in failures:
            match = [e for e in self._expected if e[0] == check and e[1] in message]
            if match:
                self._expected_seen.update(match)
                print(f"    expected failure [{check}] {message}  ({match[0][2]})")
            else:
                unexpected.append((check, message))
        if unexpected:
            raise AccessibilityError(self.driver.current_url, unexpected)

    def finish(self):
        """After a story: a declared expected failure that never occurred fails it, so a page
        that was fixed gets its exemption removed."""
        stale = [e for e in self._expected if e not in self._expected_seen]
        if stale:
            raise StoryFailure("declared accessibility failures did not occur (remove them): "
                               + "; ".join(f"[{c}] {s!r} ({r})" for c, s, r in stale))

    def screenshot(self, name, check=True):
        """docs/console/<name>-1280.png at 1280x800 and <name>-390.png at 390x844 (whole page),
        checking the page again at each size; the window returns to 1280x800 after."""
        try:
            for width, height in SIZES:
                path = self.shots_dir / f"{name}-{width}.png"
                save_screenshot(self.driver, path, width, height)
                self.screenshots.append(path)
                if check:
                    self.check()
        finally:
            _set_viewport(self.driver, *DEFAULT_SIZE)
        return self

    # The server's own command line, on the server's database and keys.

    def marktrace(self, *args):
        """Runs the marktrace binary with `args` and returns its standard output."""
        if not self.binary:
            raise StoryFailure("MARKTRACE_BIN is not set")
        done = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise StoryFailure(f"marktrace {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def token(self, role, *args):
        """A new bearer token of `role` (`*args`: e.g. "--region", "360100")."""
        out = self.marktrace("token", "create", "--note", "browser-story", "--role", role, *args)
        match = re.search(r"^bearer token[^:]*: (\S+)", out, re.M)
        if not match:
            raise StoryFailure(f"no token in the output of `marktrace token create`: {out}")
        return match.group(1)
