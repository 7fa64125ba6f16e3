"""Two gateway replicas behind one address: an account's upload rate limit holds across both."""

from __future__ import annotations

import httpx

from brainmets.db import AccountRole, Scan
from services.core.auth import issue_token
from tests.services.synthetic import upload_files


def test_the_upload_rate_limit_is_shared_by_every_gateway_replica(make_stack) -> None:
    stack = make_stack()
    stack.extra_env["UPLOADS_PER_MINUTE"] = "4"
    replicas = []
    for _ in range(2):
        stack.start_gateway()
        replicas.append(stack.gateway_url)
    with stack.sessions().begin() as session:
        other = issue_token(session, f"other-{stack.endpoints.amqp_prefix}", AccountRole.USER.value)

    def upload(url: str, token: str, seed: int) -> httpx.Response:
        files = upload_files(seed=seed, with_truth=False)
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(f"{url}/api/scans", files=files, data={"models": "unetpp"}, headers=headers, timeout=30)

    # Round-robin, as a load balancer would send them: each replica alone would allow four.
    answers = [upload(replicas[i % 2], stack.token, seed=i) for i in range(6)]
    assert [a.status_code for a in answers] == [202] * 4 + [429, 429]
    # One token every 15 s at 4 a minute, less the time the uploads took (seconds on a busy machine).
    for answer in answers[4:]:
        wait = int(answer.headers["retry-after"])
        assert 10 <= wait <= 15
        assert answer.json()["detail"] == f"too many uploads; try again in {wait} s"
    assert upload(replicas[1], other, seed=9).status_code == 202  # another account draws on its own bucket

    accepted = {a.json()["id"] for a in answers[:4]}
    with stack.sessions()() as session:
        assert {s.id for s in session.query(Scan).filter(Scan.id.in_(accepted))} == accepted
