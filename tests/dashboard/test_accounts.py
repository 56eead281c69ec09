"""Sign up, log in, throttled failures, password reset."""

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from properties.models import HostMember


def test_signing_up_creates_the_user_their_host_and_logs_them_in(client, db):
    response = client.post(
        reverse("signup"),
        {"email": "Rita@Example.com", "host_name": "Rita's Rentals", "password": "a long pass 42!"},
    )
    assert response.status_code == 302 and response.url == reverse("home")
    member = HostMember.objects.select_related("host", "user").get()
    assert member.host.name == "Rita's Rentals"
    assert member.host.alert_email == "Rita@example.com"
    assert member.user.check_password("a long pass 42!")
    home = client.get(reverse("home"))
    assert "Rita&#x27;s Rentals" in home.text


def test_sign_up_refuses_a_weak_password_and_a_taken_email(client, host_user):
    weak = client.post(
        reverse("signup"), {"email": "new@example.com", "host_name": "X", "password": "123"}
    )
    assert weak.status_code == 200 and "too short" in weak.text
    taken = client.post(
        reverse("signup"),
        {"email": "hannah@example.com", "host_name": "X", "password": "a long pass 42!"},
    )
    assert "already exists" in taken.text
    assert get_user_model().objects.count() == 1


def test_the_sign_up_and_reset_pages_are_linked_from_the_login_page(client, db):
    page = client.get(reverse("login")).text
    assert reverse("signup") in page and reverse("password_reset") in page


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_are_throttled_even_with_the_right_password(client, host_user):
    for _ in range(3):
        response = client.post(
            reverse("login"), {"username": "hannah@example.com", "password": "wrong"}
        )
    assert response.status_code == 429
    blocked = client.post(
        reverse("login"),
        {"username": "hannah@example.com", "password": "correct horse battery"},
    )
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.text
    assert client.get(reverse("home")).status_code == 302


def test_a_successful_login_resets_the_failure_count(client, host_user):
    for _ in range(2):
        client.post(reverse("login"), {"username": "hannah@example.com", "password": "wrong"})
    ok = client.post(
        reverse("login"),
        {"username": "hannah@example.com", "password": "correct horse battery"},
    )
    assert ok.status_code == 302


def test_a_password_reset_email_leads_to_a_new_password(client, host_user):
    host_user.email = "hannah@example.com"
    host_user.save()
    response = client.post(reverse("password_reset"), {"email": "hannah@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(line for line in body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert "Choose a new password" in form.text
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand new pass 77", "new_password2": "brand new pass 77"},
    )
    assert done.status_code == 302
    host_user.refresh_from_db()
    assert host_user.check_password("brand new pass 77")


def test_logging_out_needs_a_post_with_the_csrf_token(host_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(host_user)
    assert client.post(reverse("logout")).status_code == 403


def test_support_staff_still_log_in_to_the_admin_through_the_throttled_backends(
    client, support_agent
):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "sam@locksync.test", "password": "correct horse battery", "next": "/admin/"},
    )
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200
