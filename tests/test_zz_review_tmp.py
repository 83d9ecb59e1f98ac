import pytest
from panel import services, tasks
from panel.models import Organisation, TeamMember, Job, Membership, Role, User, Invitation
from panel.access import access_for
from tests import factories as f

API = "/api/v1"
HUGE = 99999999999999999999


def u(w, rest=""):
    return f"{API}/organisations/{w['org'].pk}/{rest}"


def test_export_huge_actor_task(org_world, client_for):
    c = client_for(org_world["admin"])
    r = c.post(u(org_world, "activity/exports/"), {"actor": HUGE}, format="json")
    job_id = r.json()["job"]["id"]
    try:
        tasks.export_activity(job_id)
    except Exception as e:
        print("task raised", type(e), e)
    j = Job.objects.get(pk=job_id)
    print("job", j.status, j.errors)


def test_demoted_admin_keeps_export(org_world, client_for):
    admin = org_world["admin"]
    c = client_for(admin)
    r = c.post(u(org_world, "activity/exports/"), {}, format="json")
    job_id = r.json()["job"]["id"]
    tasks.export_activity(job_id)
    m = Membership.objects.get(organisation=org_world["org"], user=admin)
    services.membership_change_role(access=access_for(org_world["legal"], org_world["org"]), membership=m, role="user")
    r = c.get(u(org_world, "activity/"))
    print("demoted activity list", r.status_code)
    r = c.get(u(org_world, f"jobs/{job_id}/download/"))
    print("demoted download", r.status_code, b"".join(r.streaming_content)[:200] if r.status_code == 200 else r.content)


def test_ui_next_redirect(org_world, login):
    c = login(org_world["admin"])
    inv = services.invitation_create(access=access_for(org_world["admin"], org_world["org"]), email="x@example.test", role="user")
    for nxt in ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)"]:
        r = c.get(f"/o/{org_world['org'].pk}/invitations/{inv.pk}/revoke/?next={nxt}")
        import re; print(nxt, re.findall(rb'btn-secondary" href="([^"]*)"', r.content)); r2 = c.post(f"/o/{org_world['org'].pk}/invitations/{inv.pk}/revoke/?next={nxt}"); print("post", r2.status_code, r2.get("Location"))


def test_ui_inactive_user_added(org_world, login):
    c = login(org_world["admin"])
    dead = f.UserFactory(email="dead@example.test", is_active=False)
    r = c.post(f"/o/{org_world['org'].pk}/teams/{org_world['team'].pk}/members/add/", {"emails": "dead@example.test, Outsider@Example.test"})
    print("inactive added", r.status_code, list(TeamMember.objects.filter(team=org_world["team"]).values_list("user__email", flat=True)))


def test_ui_activity_odd_params(org_world, login):
    c = login(org_world["admin"])
    for q in ["actor=abc", "actor=99999999999999999999", "since=99999-01-01", "page=abc", "page=-1", "kind=%00"]:
        r = c.get(f"/o/{org_world['org'].pk}/activity/?{q}")
        print(q, r.status_code)
    r = c.post(f"/o/{org_world['org'].pk}/activity/export/", {"kind": "\x00"})
    print("export nul", r.status_code)


def test_api_nul_bytes(org_world, client_for):
    c = client_for(org_world["admin"])
    for path, body in [("teams/", {"name": "a\x00b"}), ("invitations/", {"email": "a\x00@b.c", "role": "user"})]:
        r = c.post(u(org_world, path), body, format="json")
        print(path, r.status_code, r.content[:200])
    r = c.get(u(org_world, "activity/?kind=%00"))
    print("kind nul", r.status_code)
    r = c.patch(u(org_world), {"name": "x\x00"}, format="json")
    print("rename nul", r.status_code)
    r = client_for(org_world["admin"]).post(f"{API}/me/tokens/", {"name": "t\x00", "scopes": ["read"]}, format="json")
    print("token nul", r.status_code)
