"""The owner page's chat route over plain HTTP: the cookie and the form token in place of the bearer token, the
same answers as the chat API, and refusals for a missing or wrong form token, another site, or no cookie."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agent.service.routes_chat import THREAD_HEADER
from agent.service.web_chat import CSRF_HEADER

from .conftest import SHOP_A, Service
from .test_chat_api import chat as api_chat
from .test_chat_api import events_of, stored_messages

QUESTION = "How did we do yesterday?"


def sign_in(svc: Service, token: str) -> str:
    """Sign in through the page's form, as a browser does; the page's form token."""
    page = svc.http.post("/login", data={"token": token})
    assert page.status_code == 200 and "chat-form" in page.text, page.text[:500]
    assert token not in page.text, "the owner token never reaches the page"
    found = re.search(r'id="chat" data-csrf="([0-9a-f]{64})"', page.text)
    assert found, "the chat box carries the form token"
    return found.group(1)


def page_chat(svc: Service, message: str, csrf: str | None, thread_id: str | None = None,
              **headers: str) -> tuple[Any, list[dict[str, Any]]]:
    body = {"message": message, **({"thread_id": thread_id} if thread_id else {})}
    sent = {**({CSRF_HEADER: csrf} if csrf is not None else {}), **headers}
    answer = svc.http.post("/chat", json=body, headers=sent)
    return answer, events_of(answer.text) if answer.status_code == 200 else []


@pytest.fixture
def owner(service: Service) -> tuple[str, str]:
    """A shop with a policy and its owner signed in on the page: (owner token, form token)."""
    token = service.create_shop(SHOP_A, policy={})
    return token, sign_in(service, token)


def test_page_chat_streams_the_same_answer_as_the_api_and_continues_its_thread(service: Service, owner) -> None:
    token, csrf = owner
    answer, events = page_chat(service, QUESTION, csrf)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    thread_id = answer.headers[THREAD_HEADER]
    assert events[0]["event"] == "token" and events[-1]["event"] == "done"
    assert events[-1]["data"]["thread_id"] == thread_id
    _, from_api = api_chat(service, token, QUESTION)
    assert events[-1]["data"]["answer"] == from_api[-1]["data"]["answer"]
    assert "Orders: " in from_api[-1]["data"]["answer"]

    again, more = page_chat(service, "And the week before?", csrf, thread_id=thread_id)
    assert again.headers[THREAD_HEADER] == thread_id and more[-1]["data"]["thread_id"] == thread_id
    assert len(stored_messages(service, f"chat:{SHOP_A}:{thread_id}")) == 4  # two questions, two answers


@pytest.mark.parametrize("csrf, headers", [
    (None, {}),  # no form token
    ("0" * 64, {}),  # a wrong one
    ("right", {"Origin": "http://evil.test"}),  # the right one, from another site
], ids=["missing-token", "wrong-token", "cross-origin"])
def test_page_chat_refuses_what_did_not_come_from_the_page(service: Service, owner, csrf, headers) -> None:
    _, right = owner
    answer, _ = page_chat(service, QUESTION, right if csrf == "right" else csrf, **headers)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "csrf", answer.text
    assert THREAD_HEADER not in answer.headers  # refused before any conversation began
    same_site, _ = page_chat(service, QUESTION, right, Origin="http://xiaoer.test")
    assert same_site.status_code == 200


def test_page_chat_without_the_cookie_answers_401(service: Service, owner) -> None:
    token, csrf = owner
    service.http.cookies.clear()
    assert page_chat(service, QUESTION, csrf)[0].status_code == 401
    assert page_chat(service, "", csrf)[0].status_code == 401, "who is asking is checked before the message"
    bearer_only, _ = page_chat(service, QUESTION, csrf, **service.bearer(token))
    assert bearer_only.status_code == 401, "the page's route takes the cookie, not the API's bearer token"
    service.http.cookies.set("xiaoer_owner", "xo_not-a-token")
    assert page_chat(service, QUESTION, csrf)[0].status_code == 401


def test_page_chat_checks_the_message_and_the_policy_like_the_api(service: Service) -> None:
    csrf = sign_in(service, service.create_shop(SHOP_A))  # no policy yet
    answer, _ = page_chat(service, QUESTION, csrf)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no_policy"
    bad, _ = page_chat(service, QUESTION, csrf, thread_id="../other")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "thread_id"
