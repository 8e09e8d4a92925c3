"""The web page (web/) in a real browser over the local stack (issue 21): a researcher signs
in through the hosted UI (PKCE), finds a dataset by a word of its README (highlighted, with
facets), opens it, archives it and watches every step; uploads files through presigned POSTs
and sees the folder become a dataset; an outsider sees nothing. The page also fits a phone.
Screenshots of each page: build/test-output/screenshots/page-*.png."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.local.stack import LocalStack
from tests.e2e.browser import WAIT, shot
from tests.e2e.helpers import Client, persona, unique, wait_for

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

WORD = "pangolin"  # in the README of the dataset the researcher looks for


def _base_uri_with_dataset(stack: LocalStack, admin: Client, researcher: str, outsider: str) -> tuple[str, str]:
    """A watched bucket where ``researcher`` searches and registers, holding one sidecar
    dataset whose README says :data:`WORD`; ``outsider`` exists but has no permission."""
    bucket = unique("page")
    stack.watch_bucket(bucket)
    base_uri = f"s3://{bucket}"
    assert admin.post("/base-uris", {"base_uri": base_uri}).status_code == 201
    for user in (researcher, outsider):
        persona(stack, user)
    permissions = {"users_with_search_permissions": [researcher], "users_with_register_permissions": [researcher]}
    assert admin.put(f"/base-uris/{base_uri.replace('/', '%2F').replace(':', '%3A')}/permissions", permissions).ok
    s3 = stack.client("s3")
    s3.put_object(Bucket=bucket, Key="survey/counts.csv", Body=b"site,count\nA,3\nB,5\n")
    sidecar = {
        "name": "scale-survey-2026",
        "description": "Night counts along the river",
        "tags": ["survey"],
        "readme": f"---\nspecies: {WORD}\nnote: <script>alert(1)</script>\n",
    }
    s3.put_object(Bucket=bucket, Key="survey/dataset.json", Body=json.dumps(sidecar).encode())

    def registered() -> bool:
        r = admin.get("/datasets", params={"q": WORD, "base_uri": base_uri})
        return r.status_code == 200 and r.json()["total"] == 1

    assert wait_for(registered, timeout=30)
    uuid = admin.get("/datasets", params={"q": WORD, "base_uri": base_uri}).json()["items"][0]["uuid"]
    return base_uri, str(uuid)


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> dict[str, Any]:
    admin = persona(stack, "admin", admin=True)
    researcher, outsider = unique("researcher"), unique("outsider")
    base_uri, uuid = _base_uri_with_dataset(stack, admin, researcher, outsider)
    return {"researcher": researcher, "outsider": outsider, "base_uri": base_uri, "uuid": uuid}


def _sign_in(driver: WebDriver, stack: LocalStack, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, WAIT)
    driver.delete_all_cookies()
    driver.get(stack.web_url)
    driver.execute_script("sessionStorage.clear()")
    driver.get(stack.web_url)
    wait.until(ready.element_to_be_clickable((By.ID, "sign-in-main"))).click()
    wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(stack.password(username))
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "signed-in-as"), username))


def _search(driver: WebDriver, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.CSS_SELECTOR, "nav a[href='#/search']").click()
    WebDriverWait(driver, WAIT).until(ready.presence_of_element_located((By.CSS_SELECTOR, "#results[aria-busy=false]")))
    field = driver.find_element(By.ID, "q")
    field.clear()
    field.send_keys(text)
    field.submit()
    # the count of this search (data-q), not one still shown from the previous page
    WebDriverWait(driver, WAIT).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, f"#result-count[data-q={json.dumps(text)}]"))
    )


def _no_errors(driver: WebDriver) -> None:
    """Nothing the page ran failed (CSP refusals, exceptions); 4xx answers it shows are fine."""
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "Failed to load resource" not in entry["message"]
    ]
    assert problems == []


def test_sign_in_search_open_archive_and_watch_the_steps(
    stack: LocalStack, chromium: WebDriver, world: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver, wait = chromium, WebDriverWait(chromium, WAIT)
    _sign_in(driver, stack, world["researcher"])
    shot(driver, "page-1-signed-in")
    _search(driver, WORD)
    assert driver.find_element(By.ID, "result-count").text == "1 dataset found."
    marks = driver.find_elements(By.CSS_SELECTOR, ".hit mark")
    assert [m.text.lower() for m in marks][:1] == [WORD]
    # facets of what this user sees: the one base URI, the tag, the type (a sidecar folder)
    facets = {e.get_attribute("value") for e in driver.find_elements(By.CSS_SELECTOR, "input[data-facet]")}
    assert {world["base_uri"], "survey", "folder"} <= facets
    assert driver.find_element(By.CSS_SELECTOR, "input[data-facet=type][value=folder] + label").text == "folder (1)"
    shot(driver, "page-2-search")

    driver.find_element(By.CSS_SELECTOR, ".hit h3 a").click()
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), "scale-survey-2026"))
    readme = driver.find_element(By.CSS_SELECTOR, "pre.readme").text
    assert WORD in readme and "<script>alert(1)</script>" in readme  # shown as text, never run
    assert "counts.csv" in driver.find_element(By.ID, "manifest-body").text
    kind = driver.find_element(By.XPATH, "//dl[@class='facts']/dt[.='Type']/following-sibling::dd[1]")
    assert kind.text == "folder"
    shot(driver, "page-3-dataset")

    driver.find_element(By.ID, "archive-button").click()
    area = driver.find_element(By.ID, "archive-area")
    assert wait_for(lambda: "Archival: archived" in area.text, timeout=90), area.text
    steps = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#archive-area tbody tr")]
    assert len(steps) == 5 and all("succeeded" in row for row in steps), steps
    shot(driver, "page-4-archived")
    _no_errors(driver)


def test_upload_files_and_see_them_become_a_dataset(
    stack: LocalStack, chromium: WebDriver, world: dict[str, Any], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver, wait = chromium, WebDriverWait(chromium, WAIT)
    _sign_in(driver, stack, world["researcher"])
    driver.get(f"{stack.web_url}#/upload")
    Select(wait.until(ready.presence_of_element_located((By.ID, "up-base-uri")))).select_by_value(world["base_uri"])
    folder = unique("upload")
    driver.find_element(By.ID, "up-folder").send_keys(folder)
    driver.find_element(By.ID, "up-name").send_keys("okapi-tracks")
    driver.find_element(By.ID, "up-tags").send_keys("tracks, okapi")
    files = []
    for name, data in (("tracks.csv", b"t,x,y\n0,1,2\n"), ("notes.txt", b"muddy banks\n")):
        path = tmp_path / name
        path.write_bytes(data)
        files.append(str(path))
    driver.find_element(By.ID, "up-files").send_keys("\n".join(files))
    shot(driver, "page-5-upload-form")
    driver.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    status = driver.find_element(By.ID, "up-status")
    assert wait_for(lambda: "Registered" in status.text or "alert" in status.get_attribute("innerHTML"), timeout=90)
    assert "Registered" in status.text, status.text
    link = driver.find_element(By.ID, "up-dataset-link")
    shot(driver, "page-6-uploaded")
    link.click()
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), "okapi-tracks"))
    assert world["researcher"] in driver.find_element(By.CSS_SELECTOR, "dl.facts").text  # the creator
    manifest = driver.find_element(By.ID, "manifest-body").text
    assert "tracks.csv" in manifest and "notes.txt" in manifest and "2 files" in manifest  # not the sidecar
    _search(driver, "okapi")
    assert driver.find_element(By.ID, "result-count").text == "1 dataset found."
    _no_errors(driver)


def test_a_dataset_view_embeds_its_schema_org_description_and_leaving_removes_it(
    stack: LocalStack, chromium: WebDriver, world: dict[str, Any]
) -> None:
    """README "Exports": the dataset's view puts its schema.org JSON-LD in <head>."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver, wait = chromium, WebDriverWait(chromium, WAIT)
    _sign_in(driver, stack, world["researcher"])
    driver.get(f"{stack.web_url}#/datasets/{world['uuid']}")
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), "scale-survey-2026"))
    script = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "head script#dataset-jsonld")))
    assert script.get_attribute("type") == "application/ld+json"
    described = json.loads(driver.execute_script("return document.getElementById('dataset-jsonld').textContent"))
    assert described["@type"] == "Dataset" and described["name"] == "scale-survey-2026"
    assert described["url"].endswith(f"#/datasets/{world['uuid']}")
    assert [d["contentUrl"].startswith(world["base_uri"]) for d in described["distribution"]] == [True]
    driver.find_element(By.CSS_SELECTOR, "nav a[href='#/search']").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#results[aria-busy=false]")))
    assert driver.find_elements(By.CSS_SELECTOR, "#dataset-jsonld") == []
    _no_errors(driver)


def test_an_outsider_sees_nothing(stack: LocalStack, chromium: WebDriver, world: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver, wait = chromium, WebDriverWait(chromium, WAIT)
    _sign_in(driver, stack, world["outsider"])
    _search(driver, WORD)
    assert driver.find_element(By.ID, "result-count").text == "No datasets found."
    assert driver.find_elements(By.CSS_SELECTOR, "input[data-facet]") == []
    shot(driver, "page-7-outsider-search")
    driver.get(f"{stack.web_url}#/datasets/{world['uuid']}")
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "[role=alert]"), "No such dataset"))
    assert "scale-survey" not in driver.find_element(By.ID, "main").text
    assert driver.find_elements(By.CSS_SELECTOR, "#dataset-jsonld") == []  # no export of what it may not see
    driver.get(f"{stack.web_url}#/upload")
    wait.until(ready.text_to_be_present_in_element((By.ID, "main"), "may not register"))
    shot(driver, "page-8-outsider-dataset")


def test_the_page_fits_a_phone(stack: LocalStack, chromium: WebDriver, world: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    driver = chromium
    _sign_in(driver, stack, world["researcher"])
    size = driver.get_window_size()
    driver.set_window_size(390, 844)
    try:
        _search(driver, WORD)
        # nothing wider than the screen: no sideways scrolling
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert driver.find_element(By.CSS_SELECTOR, ".hit h3 a").is_displayed()
        shot(driver, "page-9-phone")
    finally:
        driver.set_window_size(size["width"], size["height"])


def test_projects_lead_to_their_page(stack: LocalStack, chromium: WebDriver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    admin = persona(stack, "admin", admin=True)
    word = unique("order")
    title = f"Permafrost cores {word}"
    assert admin.post("/projects", {"title": title}).status_code == 201
    driver, wait = chromium, WebDriverWait(chromium, WAIT)
    _sign_in(driver, stack, "admin")
    driver.find_element(By.CSS_SELECTOR, "nav a[href='#/projects']").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#list-area[aria-busy=false]")))
    field = driver.find_element(By.ID, "list-q")
    field.send_keys(word)  # one row, whatever else the session made
    field.submit()
    wait.until(ready.element_to_be_clickable((By.LINK_TEXT, title))).click()
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
    assert "Datasets of this order" in driver.find_element(By.ID, "main").text
    assert "null" not in driver.find_element(By.ID, "main").text  # no missing value printed
    shot(driver, "page-10-project")
    _no_errors(driver)
