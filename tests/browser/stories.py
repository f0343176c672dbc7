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
import os
import signal
import sys
import time
import traceback

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


# --- the console (supervisor, certification body, admin, refusals): to come ----------------


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
