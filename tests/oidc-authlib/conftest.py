"""A running Latchkey (started by run.sh, named by LATCHKEY_URL) with one user and two clients
registered through the management API: a public SPA client and a confidential web client."""
import os
import secrets

import pytest
import requests

PASSWORD = "authlib checks an independent client " + secrets.token_hex(4)
REDIRECT_URI = "http://127.0.0.1:9/callback"
LOGOUT_URI = "http://127.0.0.1:9/signed-out"


@pytest.fixture(scope="session")
def base():
    return os.environ["LATCHKEY_URL"].rstrip("/")


@pytest.fixture(scope="session")
def admin(base):
    session = requests.Session()
    session.headers["Authorization"] = "SSWS " + os.environ["LATCHKEY_ADMIN_TOKEN"]
    return session


@pytest.fixture(scope="session")
def user(admin, base):
    login = f"authlib-{secrets.token_hex(4)}@example.com"
    response = admin.post(
        f"{base}/api/v1/users?activate=true",
        json={
            "profile": {"login": login, "email": login, "firstName": "Ada", "lastName": "Lovelace"},
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    assert response.status_code == 200, response.text
    return {"login": login, "password": PASSWORD}


def register(admin, base, **metadata):
    body = {
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [LOGOUT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        **metadata,
    }
    response = admin.post(f"{base}/oauth2/v1/clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="session")
def public_client(admin, base):
    return register(admin, base, client_name="authlib SPA", token_endpoint_auth_method="none")


@pytest.fixture(scope="session")
def confidential_client(admin, base):
    return register(admin, base, client_name="authlib web app", token_endpoint_auth_method="client_secret_basic")
