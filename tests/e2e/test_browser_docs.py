"""Swagger UI at /docs in a real browser (issue 21): Debian's chromium, headless, driven by
Selenium over the local stack. The page lists the operations; "Authorize" takes a token;
"Try it out" on GET /users/me answers 200 with the user. A screenshot of each state is saved
under build/test-output/screenshots/.

`make test` installs chromium and chromium-driver with apt-get when it can (`make browser`);
where it cannot, this test says so and skips (the rest of the suite runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.local.stack import LocalStack
from tests.e2e.browser import WAIT, shot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


def test_swagger_ui_lists_every_route_and_tries_one_with_a_token(stack: LocalStack, chromium: WebDriver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium
    wait = WebDriverWait(driver, WAIT)
    stack.add_user("docs-reader")
    token = stack.token("docs-reader")
    driver.get(f"{stack.api_url}/docs")
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    operations = driver.find_elements(By.CSS_SELECTOR, ".opblock")
    assert len(operations) > 250, len(operations)  # every route (tags are expanded)
    shot(driver, "docs-1-operations")

    driver.find_element(By.CSS_SELECTOR, "button.authorize").click()
    field = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".modal-ux input[type=text]")))
    field.send_keys(token)
    shot(driver, "docs-2-authorize")
    driver.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper button.authorize").click()
    driver.find_element(By.CSS_SELECTOR, ".modal-ux button.btn-done").click()

    block = driver.find_element(By.ID, "operations-users-users_me")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#operations-users-users_me .try-out__btn"))).click()
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#operations-users-users_me .execute"))).click()
    status = wait.until(
        ready.presence_of_element_located(
            (By.CSS_SELECTOR, "#operations-users-users_me .live-responses-table tbody .response-col_status")
        )
    )
    answer = "#operations-users-users_me .live-responses-table tbody .microlight"
    body = driver.find_element(By.CSS_SELECTOR, answer)
    shot(driver, "docs-3-tried")
    assert status.text.strip().startswith("200"), status.text
    assert '"docs-reader"' in body.text, body.text
