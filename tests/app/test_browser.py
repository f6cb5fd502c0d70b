"""The reference application in a real browser (Debian's headless Chromium via Selenium):
cookies, the sign-in life cycle and the forgery defences are what browsers enforce, so
they are tested in one. Two browsers are two devices."""

from __future__ import annotations

import http.server
import shutil
import threading

import httpx
import pytest

from .conftest import PASSWORD, cookie, ensure_user

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium + chromium-driver: make install")


@pytest.fixture()
def browser(tmp_path):
    from selenium import webdriver

    made = []

    def make():
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        profile = tmp_path / f"profile-{len(made)}"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
        driver.implicitly_wait(0)
        made.append(driver)
        return driver

    try:
        yield make
    finally:
        for driver in made:
            driver.quit()


def wait_for(driver, condition, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def visible(driver, element_id: str) -> bool:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).is_displayed()


def sign_in(driver, user: str, password: str = PASSWORD) -> None:
    from selenium.webdriver.common.by import By

    wait_for(driver, lambda d: visible(d, "sign-in-section"))
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    wait_for(driver, lambda d: visible(d, "signed-in") and text(d, "user") == user)


def sid(driver) -> str | None:
    found = driver.get_cookie("sid")
    return found["value"] if found else None


def test_the_whole_life_of_a_session(service, redis_client, browser):
    from selenium.webdriver.common.by import By

    ensure_user(redis_client, "browser-user")
    laptop, phone = browser(), browser()
    laptop.get(service.url + "/")
    wait_for(laptop, lambda d: text(d, "status") == "No session yet.")
    assert sid(laptop) is None  # visiting creates nothing

    laptop.find_element(By.ID, "add-item").click()  # anonymous
    wait_for(laptop, lambda d: text(d, "cart-count") == "1")
    anonymous = laptop.get_cookie("sid")
    assert anonymous["httpOnly"] and anonymous["sameSite"] == "Lax"
    assert "expiry" not in anonymous  # a browser-session cookie
    assert laptop.execute_script("return document.cookie") == ""  # out of the page's reach

    sign_in(laptop, "browser-user")  # a new id; the cart comes along
    assert sid(laptop) != anonymous["value"]
    assert httpx.get(service.url + "/api/session", headers=cookie(anonymous["value"])).status_code == 401
    assert httpx.get(service.url + "/api/session", headers=cookie(sid(laptop))).json()["data"]["cart"] == ["item-1"]

    phone.get(service.url + "/")
    sign_in(phone, "browser-user")
    laptop.refresh()
    wait_for(laptop, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")) == 2)

    laptop.find_element(By.CSS_SELECTOR, "button.end-session").click()  # end the other device
    wait_for(laptop, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")) == 1)
    phone.refresh()
    wait_for(phone, lambda d: visible(d, "sign-in-section"))

    laptop.find_element(By.ID, "step-up-password").send_keys(PASSWORD)  # step-up
    laptop.find_element(By.CSS_SELECTOR, "#step-up-form button").click()
    wait_for(laptop, lambda d: text(d, "auth-age") == "0" and text(d, "message") == "")

    laptop.find_element(By.ID, "sign-out-everywhere").click()
    wait_for(laptop, lambda d: text(d, "status") == "No session yet.")
    assert sid(laptop) is None


class _EvilPage(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):  # noqa: N802 - http.server's name
        page = f"""<!doctype html><body>
<form id="f" method="POST" action="{self.target}/api/session/rotate"></form>
<script>
fetch("{self.target}/api/session", {{method: "DELETE", credentials: "include", mode: "no-cors"}});
fetch("{self.target}/api/users/me/sessions", {{method: "DELETE", credentials: "include", mode: "no-cors"}});
setTimeout(() => document.getElementById("f").submit(), 300);
</script></body>"""
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_another_origin_cannot_act_with_the_users_cookie(service, redis_client, browser):
    """A page on another origin of the same site (another port: SameSite=Lax does not stop
    it) sends the victim's cookie with a form POST and no-cors fetches: every one refused."""
    ensure_user(redis_client, "csrf-browser-user")
    victim = browser()
    victim.get(service.url + "/")
    sign_in(victim, "csrf-browser-user")
    token = sid(victim)

    _EvilPage.target = service.url
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilPage)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        victim.get(f"http://127.0.0.1:{evil.server_address[1]}/")
        wait_for(victim, lambda d: d.current_url.startswith(service.url))  # the form was posted
        assert "403" in victim.page_source or "refused" in victim.page_source
    finally:
        evil.shutdown()
    me = httpx.get(service.url + "/api/session", headers=cookie(token))
    assert me.status_code == 200 and me.json()["user_id"] == "csrf-browser-user"
