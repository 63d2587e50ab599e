"""``POST /api/v1/recovery/discounts/redeem/``: a code redeemed once per order, its session recovered; refusals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from formrecap.services import api_key_create
from recovery.models import ActionExecution, DiscountCode
from tests.recovery.actions import abandoned_session, rule_for, scheduled_execution

pytestmark = pytest.mark.django_db

URL = "/api/v1/recovery/discounts/redeem/"


def discount_code(site, *, code: str = "FR-ABCDEFGHJKLM", expires_in: timedelta = timedelta(days=7)) -> DiscountCode:
    """A code as the discount handler leaves it: sent for an abandoned session by a succeeded execution."""
    rule, _ = rule_for(site, "discount", params={"amount": "10%"})
    execution = scheduled_execution(abandoned_session(site), rule, status=ActionExecution.Status.SUCCEEDED)
    return DiscountCode.all_tenants.create(
        tenant=site.tenant, execution=execution, code=code, amount="10%", expires_at=timezone.now() + expires_in
    )


def redeem(client, code: str = "FR-ABCDEFGHJKLM", order_ref: str = "order-1001"):
    return client.post(URL, {"code": code, "order_ref": order_ref}, format="json")


def test_redeeming_marks_the_code_and_recovers_the_session(api_client, site):
    code = discount_code(site)
    session_id = code.execution.session_id
    other_rule, _ = rule_for(site, "email")
    also_for_the_session = scheduled_execution(code.execution.session, other_rule)
    unrelated = scheduled_execution(abandoned_session(site), other_rule)

    response = redeem(api_client)

    assert response.status_code == 200, response.content
    code.refresh_from_db()
    assert code.redeemed_at is not None and code.order_ref == "order-1001"
    assert response.json() == {
        "code": "FR-ABCDEFGHJKLM",
        "amount": "10%",
        "redeemed_at": response.data["redeemed_at"],
        "order_ref": "order-1001",
        "session": session_id,
    }
    assert response.data["redeemed_at"] == code.redeemed_at.isoformat().replace("+00:00", "Z")
    recovered = ActionExecution.all_tenants.filter(session_id=session_id).values_list("pk", "recovered_at")
    assert {pk for pk, _ in recovered} == {code.execution_id, also_for_the_session.pk}
    assert {at for _, at in recovered} == {code.redeemed_at}
    assert ActionExecution.all_tenants.get(pk=unrelated.pk).recovered_at is None


def test_the_same_order_again_is_the_same_redemption(api_client, site):
    code = discount_code(site)
    first = redeem(api_client)
    code.refresh_from_db()
    ActionExecution.all_tenants.filter(pk=code.execution_id).update(recovered_at=None)  # to see that nothing runs again

    again = redeem(api_client)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert DiscountCode.all_tenants.get(pk=code.pk).redeemed_at == code.redeemed_at
    assert ActionExecution.all_tenants.get(pk=code.execution_id).recovered_at is None


def test_the_same_order_again_after_expiry_is_still_the_redemption(api_client, site):
    code = discount_code(site)
    first = redeem(api_client)
    DiscountCode.all_tenants.filter(pk=code.pk).update(expires_at=timezone.now() - timedelta(days=1))
    again = redeem(api_client)
    assert again.status_code == 200 and again.json() == first.json()


def test_another_order_is_refused_with_409(api_client, site):
    code = discount_code(site)
    redeem(api_client, order_ref="order-1001")

    response = redeem(api_client, order_ref="order-2002")

    assert response.status_code == 409
    assert response.json() == {"detail": "this discount code was already redeemed for another order"}
    code.refresh_from_db()
    assert code.order_ref == "order-1001"


def test_an_expired_code_answers_410(api_client, site):
    code = discount_code(site, expires_in=-timedelta(minutes=1))

    response = redeem(api_client)

    assert response.status_code == 410 and response.json()["detail"].startswith("this discount code expired at ")
    code.refresh_from_db()
    assert (code.redeemed_at, code.order_ref) == (None, "")
    assert ActionExecution.all_tenants.get(pk=code.execution_id).recovered_at is None


def test_an_unknown_code_answers_404(api_client, site):
    discount_code(site)
    response = redeem(api_client, code="FR-NOSUCHCODE99")
    assert response.status_code == 404 and response.json() == {"detail": "no such discount code"}


def test_another_tenants_code_answers_like_an_unknown_one(other_api_client, site):
    code = discount_code(site)

    response = redeem(other_api_client)

    assert response.status_code == 404 and response.json() == {"detail": "no such discount code"}
    code.refresh_from_db()
    assert code.redeemed_at is None
    assert ActionExecution.all_tenants.get(pk=code.execution_id).recovered_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_ref": "order-1"}, "code"),
        ({"code": "FR-ABCDEFGHJKLM"}, "order_ref"),
        ({"code": "", "order_ref": "order-1"}, "code"),
        ({"code": "FR-ABCDEFGHJKLM", "order_ref": ""}, "order_ref"),
        ({"code": "FR-ABCDEFGHJKLM", "order_ref": "   "}, "order_ref"),
        ({"code": "F" * 33, "order_ref": "order-1"}, "code"),
        ({"code": "FR-ABCDEFGHJKLM", "order_ref": "o" * 129}, "order_ref"),
        ({"code": "FR-ABCDEFGHJKLM", "order_ref": "order\n1"}, "order_ref"),
        ({"code": "FR-ABCDEFGHJKLM", "order_ref": "order\x001"}, "order_ref"),
    ],
)
def test_bad_fields_answer_400(api_client, site, body, field):
    code = discount_code(site)

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400 and list(response.json()) == [field]
    code.refresh_from_db()
    assert code.redeemed_at is None


def test_the_longest_order_ref_is_accepted(api_client, site):
    discount_code(site)
    response = redeem(api_client, order_ref="o" * 128)
    assert response.status_code == 200 and response.json()["order_ref"] == "o" * 128


def test_redeeming_needs_a_key_with_the_write_scope(api_client, tenant, site):
    discount_code(site)
    api_client.credentials()
    assert redeem(api_client).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(tenant=tenant, name='ro', scopes=['read']).secret}")
    assert redeem(api_client).status_code == 403
    assert DiscountCode.all_tenants.get().redeemed_at is None


def test_openapi_documents_the_redeem_endpoint(db):
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"][URL]["post"]
    assert {"200", "400", "401", "403", "404", "409", "410"} <= set(operation["responses"])
    assert schema["components"]["schemas"]["DiscountRedeemInput"]["required"] == ["code", "order_ref"]


# --- concurrent redemptions on PostgreSQL (row locks) ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_for_different_orders_give_the_code_to_one(on_postgres, site):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from recovery.services import DiscountCodeUsed, discount_code_redeem

    code = discount_code(site)
    orders = [f"order-{i % 4}" for i in range(8)]  # four orders, each sent twice

    def redeem_in_thread(order_ref):
        try:
            return discount_code_redeem(tenant=site.tenant, code=code.code, order_ref=order_ref).order_ref
        except DiscountCodeUsed:
            return None
        finally:
            connection.close()

    with ThreadPoolExecutor(len(orders)) as pool:
        results = list(pool.map(redeem_in_thread, orders))

    code.refresh_from_db()
    winner = code.order_ref
    assert sorted(r for r in results if r is not None) == [winner, winner]
    assert results.count(None) == 6
