"""Bad values in the desk's URLs and forms end as a French 400 or 404, never a 500."""

from __future__ import annotations

import pytest

FAR_WEEKS = ["9999-W52", "0001-W01"]


@pytest.mark.parametrize("far", FAR_WEEKS)
@pytest.mark.parametrize("page", ["/semaine/{}", "/semaine/{}/apercu"])
def test_a_far_week_in_the_url_is_not_found(client, page, far):
    response = client.get(page.format(far))
    assert response.status_code == 404, response.text
    assert f"Semaine « {far} » invalide" in response.text


@pytest.mark.parametrize("far", FAR_WEEKS)
def test_a_far_week_asked_on_the_home_page_is_flashed(client, far):
    response = client.get("/", params={"semaine": far}, follow_redirects=False)
    assert response.status_code == 303
    assert far not in response.headers["location"]
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and f"Semaine « {far} » invalide" in page.text
