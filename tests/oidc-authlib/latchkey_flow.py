"""Getting an authorization code without a browser: the `/v1/authorize` page, then the IDX calls
its widget makes (introspect, identify with the password), then `/signin/callback`, whose
redirect carries `code`, `state` and `iss` back to the client's redirect URI."""
import json
import re

import requests

CONFIG = re.compile(r'<script type="application/json" id="latchkey-config">(.*?)</script>', re.S)
IDX_HEADERS = {"Content-Type": "application/ion+json; okta-version=1.0.0", "Accept": "application/ion+json; okta-version=1.0.0"}


def sign_in_through_the_hosted_page(browser: requests.Session, base: str, authorization_url: str, login: str, password: str) -> str:
    """Returns the Location the callback redirects to (the client's redirect URI with the code)."""
    page = browser.get(authorization_url, allow_redirects=False)
    assert page.status_code == 200, page.text
    config = json.loads(CONFIG.search(page.text).group(1))
    state = browser.post(f"{base}/idp/idx/introspect", json={"interactionHandle": config["interactionHandle"]}, headers=IDX_HEADERS)
    assert state.status_code == 200, state.text
    success = browser.post(
        f"{base}/idp/idx/identify",
        json={"identifier": login, "credentials": {"passcode": password}, "stateHandle": state.json()["stateHandle"]},
        headers=IDX_HEADERS,
    )
    assert success.status_code == 200, success.text
    fields = success.json()["successWithInteractionCode"]["value"]
    code = next(f["value"] for f in fields if f["name"] == "interaction_code")
    callback = browser.get(f"{base}/signin/callback", params={"interaction_code": code}, allow_redirects=False)
    assert callback.status_code == 303, callback.text
    return callback.headers["Location"]
