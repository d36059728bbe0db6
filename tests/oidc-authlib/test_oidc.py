"""Latchkey as an OpenID Connect provider, seen by authlib (an independent client library):
discovery, authorization code + PKCE, ID-token validation against JWKS, refresh with rotation,
userinfo, revocation, introspection and RP-initiated logout, on both authorization servers."""
import secrets
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client.errors import OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import LOGOUT_URI, REDIRECT_URI
from latchkey_flow import sign_in_through_the_hosted_page

SERVERS = {"default": "/oauth2/default", "org": ""}


@pytest.fixture(params=sorted(SERVERS))
def provider(request, base):
    issuer = base + SERVERS[request.param]
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer
    return discovery


def client_for(registered, scope):
    secret = registered.get("client_secret")
    return OAuth2Session(
        registered["client_id"],
        client_secret=secret,
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        revocation_endpoint_auth_method="client_secret_basic" if secret else "none",
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )


def sign_in(provider, client, user, browser=None, **extra):
    """The authorization request built by authlib, the sign-in, and authlib's token request."""
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra)
    browser = browser or requests.Session()
    location = sign_in_through_the_hosted_page(browser, provider["issuer"].split("/oauth2")[0], url, user["login"], user["password"])
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state], "state comes back unmodified (OA-5)"
    assert query["iss"] == [provider["issuer"]], "RFC 9207 iss"
    token = client.fetch_token(provider["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state)
    return token, nonce, browser


def validate_id_token(provider, client_id, id_token, nonce=None):
    jwks = KeySet.import_key_set(requests.get(provider["jwks_uri"]).json())
    decoded = jwt.decode(id_token, jwks, algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"]
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"essential": True, "value": provider["issuer"]}},
        params={"client_id": client_id, "nonce": nonce},
    )
    claims.validate(now=int(time.time()), leeway=5)
    assert claims["auth_time"] <= claims["iat"]
    return claims


@pytest.mark.parametrize("kind", ["public_client", "confidential_client"])
def test_code_flow_tokens_refresh_userinfo_revoke_introspect(provider, kind, request, user):
    registered = request.getfixturevalue(kind)
    client = client_for(registered, "openid profile email offline_access")
    token, nonce, _ = sign_in(provider, client, user)
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0
    claims = validate_id_token(provider, registered["client_id"], token["id_token"], nonce)
    assert claims["email"] == user["login"]

    info = client.get(provider["userinfo_endpoint"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["given_name"] == "Ada"

    first_refresh = token["refresh_token"]
    rotated = client.refresh_token(provider["token_endpoint"], refresh_token=first_refresh)
    assert rotated["refresh_token"] != first_refresh, "rotation on every use (OA-7)"
    refreshed_claims = validate_id_token(provider, registered["client_id"], rotated["id_token"])
    assert refreshed_claims["sub"] == claims["sub"] and refreshed_claims["auth_time"] == claims["auth_time"]
    with pytest.raises(OAuthError) as reused:
        client.refresh_token(provider["token_endpoint"], refresh_token=first_refresh)
    assert reused.value.error == "invalid_grant"
    with pytest.raises(OAuthError):
        client.refresh_token(provider["token_endpoint"], refresh_token=rotated["refresh_token"])

    token, _, _ = sign_in(provider, client, user)
    access = token["access_token"]
    active = client.introspect_token(provider["introspection_endpoint"], token=access).json()
    assert active["active"] is True and active["client_id"] == registered["client_id"]
    assert client.revoke_token(provider["revocation_endpoint"], token=access, token_type_hint="access_token").status_code == 200
    assert client.introspect_token(provider["introspection_endpoint"], token=access).json() == {"active": False}
    assert requests.get(provider["userinfo_endpoint"], headers={"Authorization": f"Bearer {access}"}).status_code == 401
    assert client.revoke_token(provider["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert client.introspect_token(provider["introspection_endpoint"], token=token["refresh_token"]).json() == {"active": False}


def test_session_is_reused_and_logout_ends_it(provider, public_client, user):
    client = client_for(public_client, "openid email")
    token, _, browser = sign_in(provider, client, user)
    url, state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=generate_token(64), prompt="none")
    silent = browser.get(url, allow_redirects=False)
    assert silent.status_code == 303, "the session skips the page"
    assert "code" in parse_qs(urlparse(silent.headers["Location"]).query)

    bad = browser.get(provider["end_session_endpoint"], params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.test/"}, allow_redirects=False)
    assert bad.status_code == 400 and "Location" not in bad.headers
    logout_state = secrets.token_urlsafe(12)
    out = browser.get(
        provider["end_session_endpoint"],
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT_URI, "state": logout_state},
        allow_redirects=False,
    )
    assert out.status_code == 303
    assert out.headers["Location"] == f"{LOGOUT_URI}?state={logout_state}"
    after = browser.get(client.create_authorization_url(provider["authorization_endpoint"], code_verifier=generate_token(64), prompt="none")[0], allow_redirects=False)
    assert parse_qs(urlparse(after.headers["Location"]).query)["error"] == ["login_required"]


def test_a_replayed_code_is_refused(provider, public_client, user):
    client = client_for(public_client, "openid")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(provider["authorization_endpoint"], code_verifier=verifier)
    location = sign_in_through_the_hosted_page(requests.Session(), provider["issuer"].split("/oauth2")[0], url, user["login"], user["password"])
    token = client.fetch_token(provider["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state)
    with pytest.raises(OAuthError) as replay:
        client.fetch_token(provider["token_endpoint"], authorization_response=location, code_verifier=verifier, state=state)
    assert replay.value.error == "invalid_grant"
    assert client.introspect_token(provider["introspection_endpoint"], token=token["access_token"]).json() == {"active": False}
