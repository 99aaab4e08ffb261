"""Open every built docs page in headless Chromium with the network cut off, and fail on what a reader would hit.

Usage: python tools/docs_check.py [SITE]        (SITE defaults to `_docs/`; `make docs-check` builds it first)

Each page is loaded from disk (file://) in Debian's Chromium, driven by Playwright. Every request that is not for a
local file or a data: URL is refused and reported. A page fails on:
- `request`: a request that would leave the machine (a CDN script, a web font, a remote image);
- `console`: an error on the browser console, or an uncaught script error;
- `tex`: raw TeX left in the text (`$...$`, `$$`, `\\(`, `\\begin{`), or a TeX command MathML could not translate;
- `image`: an image that did not load, or one without alt text (nbconvert's stand-in counts as none);
- `link`: a link to a local page or anchor that does not exist, or one into the placeholder repository or site named
  in `settings.ini` (`git_url`, `doc_host`), which does not exist yet.
Exit status: 0 when every page passes, 1 when any fails, 2 when Chromium or Playwright is missing.
"""
import html, os, re, shutil, sys
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from build_docs import NO_ALT, settings  # noqa: E402  (one reading of settings.ini, one stand-in text)
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions']

# What the page reports about itself: text outside code (for raw TeX), math that kept a backslash, images, links.
_PROBE = r"""() => {
  const skip = new Set(['CODE', 'PRE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'math']);
  const texts = [];
  const walk = (n) => {
    if (n.nodeType === 3) { texts.push(n.textContent); return; }
    if (n.nodeType !== 1 || skip.has(n.nodeName) || skip.has(n.localName)) return;
    for (const c of n.childNodes) walk(c);
  };
  walk(document.body);
  return {
    text: texts.join(' '),
    math: [...document.querySelectorAll('math')].map(m => m.textContent).filter(t => t.includes('\\')),
    images: [...document.images].map(i => ({src: i.currentSrc.slice(0, 120), ok: i.complete && i.naturalWidth > 0,
                                           alt: i.getAttribute('alt')})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""
_RAW_TEX = re.compile(r'\$\$|\$[^$\n]{0,200}[\\^_{}][^$\n]{0,200}\$|\\\(|\\\[|\\begin\{|\\frac|\\mathrm')


def find_chromium() -> str | None:
    for c in (os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome'):
        if c and shutil.which(c): return shutil.which(c)
    return None


_ids_cache: dict = {}
def _ids(page:Path) -> set:
    "The ids and names a page's anchors can point at."
    if page not in _ids_cache:
        text = page.read_text(encoding='utf-8', errors='replace')
        _ids_cache[page] = {html.unescape(m) for m in re.findall(r'\s(?:id|name)="([^"]*)"', text)}
    return _ids_cache[page]


def check_link(href:str, page:Path, placeholders:list) -> str | None:
    "Why the link `href` on `page` is broken, or None."
    u = urlparse(href)
    if u.scheme in ('http', 'https'):
        for p in placeholders:
            if p and href.startswith(p): return f'{href} points into {p}, which does not exist yet'
        return None
    if u.scheme != 'file': return None                   # mailto:, data:, javascript: ...
    target = Path(unquote(u.path))
    if not target.exists(): return f'{href}: no such file'
    frag = unquote(u.fragment)
    if frag and target.suffix == '.html' and frag not in _ids(target): return f'{href}: no anchor #{frag} in {target.name}'
    return None


def _refuse_remote(problems:list):
    "A route handler: local files and data: URLs load; anything else is refused and noted in `problems`."
    def route(r, request):
        if request.url.startswith(('file:', 'data:', 'blob:', 'about:')): return r.continue_()
        problems.append(f'request: {request.url[:160]} would leave the machine'); r.abort()
    return route


def check_site(site:Path, chromium:str|None=None, placeholders:list|None=None) -> dict:
    """Load every `*.html` under `site`; return {page name: [problem, ...]} (pages without problems map to [])."""
    from playwright.sync_api import sync_playwright
    site = Path(site).resolve()
    pages = sorted(site.rglob('*.html'))
    if not pages: raise FileNotFoundError(f'{site}: no .html pages to check (build them with `make docs`)')
    if placeholders is None:
        cfg = settings()
        placeholders = [cfg.get('git_url', '').rstrip('/') + '/',
                        cfg.get('doc_host', '').rstrip('/') + '/' + cfg.get('doc_baseurl', '').strip('/')]
        placeholders = [p for p in placeholders if p.startswith('http')]
    chromium = chromium or find_chromium()
    report = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(offline=True, service_workers='block')
            for page_path in pages:
                name = str(page_path.relative_to(site)); problems = []
                ctx.route('**/*', _refuse_remote(problems))
                page = ctx.new_page()
                page.on('console', lambda m, problems=problems: m.type == 'error' and problems.append(
                    f'console: {m.text[:200]}'))
                page.on('pageerror', lambda e, problems=problems: problems.append(f'console: uncaught {e}'[:220]))
                page.goto(page_path.as_uri(), wait_until='load', timeout=60_000)
                page.wait_for_timeout(200)                       # late scripts get their chance to fail
                probe = page.evaluate(_PROBE)
                for m in list(dict.fromkeys(_RAW_TEX.findall(probe['text'])))[:5]:
                    i = probe['text'].find(m)
                    problems.append(f'tex: raw TeX in the text: …{probe["text"][max(0, i - 30):i + 50]!r}…')
                for t in probe['math'][:5]: problems.append(f'tex: MathML kept a TeX command: {t[:80]!r}')
                for im in probe['images']:
                    if not im['ok']: problems.append(f'image: did not load: {im["src"]}')
                    if not (im['alt'] or '').strip() or im['alt'] == NO_ALT:
                        problems.append(f'image: no alt text: {im["src"][:60]}')
                for href in dict.fromkeys(probe['links']):
                    why = check_link(href, page_path, placeholders)
                    if why: problems.append(f'link: {why}')
                page.close(); ctx.unroute('**/*')
                report[name] = problems
        finally:
            browser.close()
    return report


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0]) if argv else ROOT/'_docs'
    chromium = find_chromium()
    if chromium is None:
        print('docs-check: Chromium not found (tried $CHROMIUM, chromium, chromium-browser, google-chrome): '
              'install Debian\'s `chromium` package (`make chromium` does it)', file=sys.stderr)
        return 2
    try: import playwright  # noqa: F401
    except ImportError:
        print('docs-check: the Python package `playwright` is missing: `make env` installs it', file=sys.stderr)
        return 2
    try: report = check_site(site, chromium)
    except FileNotFoundError as e:
        print(f'docs-check: {e}', file=sys.stderr); return 2
    bad = {k: v for k, v in report.items() if v}
    for name, problems in bad.items():
        for p in problems: print(f'{name}: {p}')
    print(f'docs-check: {len(report) - len(bad)} of {len(report)} pages pass in {Path(chromium).name} offline'
          + (f'; {sum(map(len, bad.values()))} problems on {len(bad)} pages' if bad else ''))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
