"""The kansli's whole flow in a real browser: Debian's headless Chromium driven by Selenium
(chromedriver from Debian too, passed explicitly, so nothing is downloaded), against the real
server (uvicorn on 127.0.0.1, a free port, in a thread). Under CI=true a missing browser fails
the run; elsewhere these tests skip with the reason. The Makefile's `test` target installs the
browser when it can (root + apt-get)."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import DEMO, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = ROOT / "docs" / "web-teman.png"
SCREENSHOT_NARROW = ROOT / "docs" / "web-teman-400px.png"
TOKEN = "browser-test-token"
LONG = 900          # seconds a background job may take on a busy 2-core machine (not a timing assert)


def _need_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        reason = (f"headless Chromium not installed ({', '.join(missing)} missing): "
                  "`apt-get install chromium chromium-driver` (the Makefile's test target does it as root)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    _need_browser()
    import uvicorn

    from pipeline.web.app import create_app
    studies = tmp_path_factory.mktemp("web") / "studier"
    app = create_app(studies, TOKEN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield {"base": f"http://127.0.0.1:{port}", "studies": studies, "app": app}
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def browser(server, tmp_path_factory):
    os.environ["SE_OFFLINE"] = "true"            # Selenium Manager must never fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,1400", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-extensions", "--metrics-recording-only", "--no-default-browser-check",
                "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                # no name resolves but the test server's address: nothing leaves the machine
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--lang=sv-SE"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    driver.get(f"{server['base']}/?token={TOKEN}")
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=LONG):
    from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import TimeoutException
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5,
                             ignored_exceptions=(StaleElementReferenceException, JavascriptException)).until(condition)
    except TimeoutException:                 # say where the page was (the page shows no participant text here)
        text = driver.execute_script("return document.body ? document.body.textContent : ''") or ""
        raise AssertionError(f"waited {timeout} s on {driver.current_url}: {' '.join(text.split())[:2000]}") from None


def _submit(driver, button, confirm: str | None = None):
    """Click a form's button and wait until the browser has left the page; `confirm`: the page
    asks first (window.confirm) with a question containing it, and the person says yes."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    if confirm is not None:
        from selenium.common.exceptions import NoAlertPresentException

        def asked(x):
            try:
                return x.switch_to.alert
            except NoAlertPresentException:
                return False
        alert = _wait(driver, asked, 30)
        assert confirm in alert.text, alert.text
        alert.accept()

    def left(_):
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:     # chromium's way of saying "stale" mid-navigation
            if "does not belong to the document" in str(exc):
                return True
            raise
    _wait(driver, left, 60)


def _idle(driver) -> bool:
    """No job running on the page (the page reloads itself when its job ends)."""
    from selenium.webdriver.common.by import By
    return not driver.find_elements(By.ID, "job") and driver.execute_script("return document.readyState") == "complete"


def _nav(driver, text):
    from selenium.webdriver.common.by import By
    driver.find_element(By.PARTIAL_LINK_TEXT, text).click()


def test_kansli_flow_from_files_to_word_with_a_renamed_theme(server, browser):
    import docx
    from selenium.webdriver.common.by import By
    d = browser
    # 1. create a study and upload the demo files
    d.find_element(By.ID, "study-name").send_keys("Berättelse 2025")
    _submit(d, d.find_element(By.ID, "create-study"))
    _wait(d, lambda x: x.find_elements(By.ID, "file-input"), 30)
    files = sorted(DEMO.iterdir())
    d.find_element(By.ID, "file-input").send_keys("\n".join(str(p) for p in files))
    _submit(d, d.find_element(By.ID, "upload-button"))
    _wait(d, lambda x: x.find_elements(By.CSS_SELECTOR, "#job progress, #last-job"), 60)
    assert d.find_elements(By.CSS_SELECTOR, "#job progress"), "no progress bar while the files are read"
    _wait(d, _idle)
    rows = d.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert sorted(r.find_element(By.TAG_NAME, "td").text for r in rows) == [p.name for p in files]
    assert "klar" in d.find_element(By.ID, "last-job").text

    # 2. what was read, and the review list
    _nav(d, "2. Vad som lästes in")
    body = d.find_element(By.TAG_NAME, "main").text
    assert "Deltagare per team" in body and "Intervjuer" in body
    assert not {"Jag", "Det", "De", "Nu", "Tack"} & {e.text for e in d.find_elements(By.CSS_SELECTOR, "#kept-words td.word")}
    placeholders = d.find_elements(By.CSS_SELECTOR, "#placeholders tbody tr")
    assert placeholders and placeholders[0].text.startswith("[")
    assert d.find_elements(By.CSS_SELECTOR, "#kept-words button[value=deny]")

    # 3. themes: find them, rename one
    _nav(d, "3. Teman")
    _submit(d, d.find_element(By.ID, "run-themes"))
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "tr.theme-row"))
    assert d.execute_script("return document.documentElement.scrollHeight") < 2 * 1400 + 600   # a screen or two
    link = d.find_elements(By.CSS_SELECTOR, "tr.theme-row a.theme-link")[0]
    old_label = link.text
    _submit(d, link)                                  # each theme on a page of its own
    first = d.find_element(By.CSS_SELECTOR, "section.theme")
    assert first.find_element(By.CLASS_NAME, "theme-label").text == old_label
    new_label = f"{old_label} (omdöpt)"
    assert old_label and first.find_elements(By.CSS_SELECTOR, ".bars .bar-row")
    assert first.find_elements(By.CSS_SELECTOR, ".quotes blockquote")
    assert not d.find_elements(By.CSS_SELECTOR, "select")                   # no preselected target anywhere
    # moving a quote: the target is chosen by name, and the question names it
    move = first.find_element(By.CSS_SELECTOR, ".quote-tools form[data-confirm]")
    move.find_element(By.CSS_SELECTOR, "button").click()                    # nothing chosen: refused in Swedish
    assert "välj i listan" in d.execute_script("return arguments[0].validationMessage",
                                               move.find_element(By.CSS_SELECTOR, "input.choose-theme"))
    field = first.find_element(By.CLASS_NAME, "rename-input")
    field.clear()
    field.send_keys(new_label)
    _submit(d, first.find_element(By.CSS_SELECTOR, "button.rename"))
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "section.theme"))
    assert d.find_element(By.CSS_SELECTOR, "section.theme .theme-label").text == new_label   # back on its page
    assert d.find_elements(By.ID, "undo")
    theme_url = d.current_url.split("#")[0]

    # Ångra: pin the last quote first, then undo it; the page is back as it was (on the theme's page)
    def quotes(x):
        return [e.get_attribute("data-segment") for e in x.find_elements(By.CSS_SELECTOR, "section.theme .quotes li")]
    shown, count = quotes(d), _theme_count(d)
    assert len(shown) >= 2
    last = d.find_elements(By.CSS_SELECTOR, "section.theme .quotes li")[-1]
    _submit(d, last.find_element(By.XPATH, ".//form[.//input[@name='action'][@value='pin']]//button"))
    _wait(d, lambda x: _idle(x) and quotes(x))
    assert quotes(d)[0] == shown[-1], "the pinned quote is not first"
    assert "visas först" in d.find_element(By.ID, "undo").text
    _submit(d, d.find_element(By.CSS_SELECTOR, "#undo button"))
    _wait(d, lambda x: _idle(x) and quotes(x))
    assert d.current_url.split("#")[0] == theme_url                       # still on the theme's page
    assert quotes(d) == shown and _theme_count(d) == count
    assert d.find_element(By.CSS_SELECTOR, "section.theme .theme-label").text == new_label
    assert "heter nu" in d.find_element(By.ID, "undo").text                # the rename is next to undo
    study = server["studies"] / "Berättelse 2025"
    assert new_label in (study / "codebook.yaml").read_text(encoding="utf-8")
    _nav(d, "3. Teman")
    labels = [e.text for e in d.find_elements(By.CSS_SELECTOR, "a.theme-link")]
    assert new_label in labels and old_label not in labels
    d.set_window_size(1366, 900)
    _screenshot(d, full=True)
    d.set_window_size(1200, 1400)
    _nav(d, "3. Teman")

    # 4. the draft, with each paragraph's quotes one click away
    _nav(d, "4. Utkast")
    _submit(d, d.find_element(By.ID, "run-draft"))
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "article.draft .paragraph"))
    details = d.find_elements(By.CSS_SELECTOR, "article.draft details")
    assert details
    quote = details[0].find_element(By.CSS_SELECTOR, "li q")
    assert not quote.is_displayed()
    details[0].find_element(By.TAG_NAME, "summary").click()
    assert quote.is_displayed() and quote.text

    assert not d.find_elements(By.ID, "stale")

    # an edit after the draft (a quote moved to another theme, asked first): the draft and its
    # downloads say they are out of date, with the button that refreshes them; after it, no note
    d.get(theme_url)
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "section.theme .quotes li"), 60)
    other = d.execute_script("return Array.from(document.querySelectorAll('#theme-choices option'))"
                             ".map(o => o.value)")
    target_label = next(x for x in other if x != new_label)
    move = d.find_elements(By.CSS_SELECTOR, "section.theme .quotes li")[-1].find_element(
        By.CSS_SELECTOR, "form[data-confirm]")
    move.find_element(By.CSS_SELECTOR, "input.choose-theme").send_keys(target_label)
    _submit(d, move.find_element(By.CSS_SELECTOR, "button"), confirm=target_label)
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "section.theme"))
    assert "flyttas" in d.find_element(By.ID, "undo").text
    _nav(d, "4. Utkast")
    _wait(d, lambda x: _idle(x) and x.find_elements(By.ID, "stale"), 60)
    stale = d.find_element(By.ID, "stale")
    assert "Inaktuellt" in stale.text
    _nav(d, "5. Ladda ner")
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "ul.downloads"), 60)
    assert d.find_elements(By.ID, "stale") and d.find_elements(By.CSS_SELECTOR, ".stale-mark")
    _submit(d, d.find_element(By.CSS_SELECTOR, "#stale button.refresh"))          # refresh from the downloads
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "ul.downloads, article.draft"))
    _nav(d, "4. Utkast")
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "article.draft .paragraph"), 60)
    assert not d.find_elements(By.ID, "stale")

    # the counts on the Teman page for two themes (the renamed one and the move's target)
    _nav(d, "3. Teman")
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "tr.theme-row"), 60)
    page = {}
    for row in d.find_elements(By.CSS_SELECTOR, "tr.theme-row"):
        page[row.find_element(By.CSS_SELECTOR, "a.theme-link").text] = int(row.find_element(By.CSS_SELECTOR, "td.num").text)
    shown_target = next(k for k in page if k == target_label or k.startswith(target_label + " ("))
    on_page = {new_label: page[new_label], target_label: page[shown_target]}

    # 5. download the Word and Excel files and read them back
    _nav(d, "5. Ladda ner")
    _wait(d, lambda x: _idle(x) and x.find_elements(By.ID, "dl-narrativ-docx"), 60)
    assert not d.find_elements(By.ID, "stale") and not d.find_elements(By.CSS_SELECTOR, ".stale-mark")
    got = {}
    for name in ("narrativ.docx", "narrativ.xlsx"):
        target = d.downloads / name
        target.unlink(missing_ok=True)
        d.find_element(By.ID, "dl-" + name.replace(".", "-")).click()
        _wait(d, lambda x: target.exists() and not list(d.downloads.glob("*.crdownload")), 60)
        got[name] = target
    paragraphs = docx.Document(str(got["narrativ.docx"])).paragraphs
    text = "\n".join(p.text for p in paragraphs)
    assert new_label in text
    in_word = _word_counts(paragraphs)
    in_excel = _excel_counts(got["narrativ.xlsx"])
    for label, n in on_page.items():
        assert in_word.get(label) == n, (label, n, in_word.get(label))
        assert in_excel.get(label) == n, (label, n, in_excel.get(label))
    assert d.find_elements(By.CSS_SELECTOR, "img.chart")

    # 400 px: no page overflows sideways; the overview as a person sees it on a phone
    d.set_window_size(400, 900)
    try:
        base = f"{server['base']}/studie/Berättelse 2025"
        d.get(f"{base}/teman")
        theme_id = d.find_elements(By.CSS_SELECTOR, "tr.theme-row")[0].get_attribute("data-theme")
        for url in ("/", f"{base}/filer", f"{base}/inlast", f"{base}/teman", f"{base}/teman/{theme_id}",
                    f"{base}/utkast", f"{base}/ladda-ner"):
            d.get(url if url.startswith("http") else server["base"] + url)
            _wait(d, lambda x: x.execute_script("return document.readyState") == "complete", 30)
            wide = d.execute_script("return document.documentElement.scrollWidth")
            inner = d.execute_script("return document.documentElement.clientWidth")
            assert wide <= inner, (url, wide, inner)
            for box in d.find_elements(By.CSS_SELECTOR, "textarea.rename-input"):      # the whole name shows,
                box.send_keys(" och en lång fortsättning av namnet" * 2)                  # also as it grows
                assert d.execute_script("return arguments[0].scrollHeight <= arguments[0].clientHeight + 1", box), url
        d.get(f"{base}/teman")
        _screenshot(d, SCREENSHOT_NARROW, full=True)
    finally:
        d.set_window_size(1200, 1400)


def test_server_gone_is_said_on_the_page(server, browser):
    """The page notices a stopped server (here: its status address answering with an error)
    and says how to start it again."""
    from selenium.webdriver.common.by import By
    d = browser
    d.get(f"{server['base']}/")
    d.find_element(By.ID, "study-name").send_keys("Borta")
    _submit(d, d.find_element(By.ID, "create-study"))
    _wait(d, lambda x: x.find_elements(By.ID, "file-input"), 30)
    d.execute_script("document.body.dataset.ping = '/finns-inte'; ")
    d.execute_script("""
        var fetch0 = window.fetch;
        window.fetch = function () { return Promise.reject(new TypeError('Failed to fetch')); };
    """)
    _wait(d, lambda x: x.find_elements(By.ID, "server-gone"), 30)
    assert "narrativ serve" in d.find_element(By.ID, "server-gone").text


def test_files_dropped_on_the_page_are_read(server, browser):
    """Drag and drop: a real drop event carrying a file onto the upload area."""
    from selenium.webdriver.common.by import By
    d = browser
    d.get(f"{server['base']}/")
    d.find_element(By.ID, "study-name").send_keys("Släppta filer")
    _submit(d, d.find_element(By.ID, "create-study"))
    # the drop is dispatched only once the page has loaded (app.js listens from then on)
    _wait(d, lambda x: x.find_elements(By.ID, "dropzone") and _idle(x), 30)
    d.execute_script("""
        const text = "Samordningsteam Ekbacka\\n\\n- ”Jag fick stöd att söka jobb och har nu en anställning.”\\n";
        const dt = new DataTransfer();
        dt.items.add(new File([text], "släppt.md", {type: "text/markdown"}));
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    """)
    _wait(d, lambda x: _idle(x) and x.find_elements(By.CSS_SELECTOR, "table tbody tr"), 120)
    assert d.find_element(By.CSS_SELECTOR, "table tbody tr td").text == "släppt.md"


def _theme_count(driver) -> int:
    """The count a theme's own page shows ('N av M deltagare')."""
    from selenium.webdriver.common.by import By
    return int(driver.find_element(By.CSS_SELECTOR, "section.theme .theme-count strong").text)


def _word_counts(paragraphs) -> dict[str, int]:
    """label -> count from the Word file's theme headings ('Label (N av M deltagare)'; a theme
    narrativ named itself may carry '(nytt tema)' before the count)."""
    import re
    found = {}
    for p in paragraphs:
        m = re.fullmatch(r"(.+?)(?: \(nytt tema\))? \((\d+) av \d+ \w+\)", p.text.strip())
        if m and p.style.name.startswith("Heading"):
            found[m.group(1)] = int(m.group(2))
    return found


def _excel_counts(path: Path) -> dict[str, int]:
    """label -> count from the Excel file's sheet 'Teman' (columns 'tema' and 'deltagare')."""
    import openpyxl
    sheet = openpyxl.load_workbook(path, read_only=True)["Teman"]
    rows = sheet.iter_rows(values_only=True)
    head = list(next(rows))
    at, n = head.index("tema"), head.index("deltagare")
    return {str(r[at]): int(r[n]) for r in rows                 # notes below the table are shorter rows
            if len(r) > max(at, n) and r[at] is not None and isinstance(r[n], (int, float))}


def _screenshot(driver, path: Path = SCREENSHOT, full: bool = False) -> None:
    """docs/web-teman.png for the README: the themes page, as a small palette PNG (`full`: the
    whole page height, as at 400 px)."""
    from PIL import Image
    path.parent.mkdir(exist_ok=True)
    raw = path.with_suffix(".raw.png")
    if full:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.execute_script("return window.outerWidth")
        driver.set_window_size(width, min(height + 150, 6000))
    driver.save_screenshot(str(raw))
    with Image.open(raw) as img:
        img = img.convert("RGB")
        img.thumbnail((1000, 6000) if full else (1000, 1200))
        img.quantize(colors=64).save(path, optimize=True)
    raw.unlink()
