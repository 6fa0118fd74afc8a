from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView, DefaultRouter

from clarity import health, signin, views
from clarity.permissions import SIGNED_IN
from connectors import api as connectors_api
from flows import api as flows_api
from flows.views.hooks import receive_webhook
from mappings import api as mappings_api


class ClarityAPIRootView(APIRootView):
    """The list of the API's endpoints, for anyone signed in."""

    permission = SIGNED_IN


class ClarityRouter(DefaultRouter):
    APIRootView = ClarityAPIRootView


router = ClarityRouter()
connectors_api.register(router)
flows_api.register(router)
mappings_api.register(router)

urlpatterns = [
    # First: the busiest URL, resolved before the many includes mounted at "".
    path("hooks/<slug:slug>/<str:token>/", receive_webhook, name="webhook"),
    path("", RedirectView.as_view(pattern_name="dashboard"), name="home"),
    path("", include("monitoring.urls")),
    path("settings/", views.account_settings, name="settings"),
    path("settings/api-token/", views.regenerate_api_token, name="api-token"),
    path("settings/time-zone/", views.set_time_zone, name="time-zone"),
    path("settings/password/", views.PasswordChange.as_view(), name="password-change"),
    path("settings/two-factor/", views.two_factor, name="two-factor"),
    path("settings/two-factor/add/", views.two_factor_add, name="two-factor-add"),
    path("settings/two-factor/confirm/", views.two_factor_confirm, name="two-factor-confirm"),
    path("settings/two-factor/remove/", views.two_factor_remove, name="two-factor-remove"),
    path("login/", signin.SignInView.as_view(), name="login"),
    path("login/code/", signin.sign_in_code, name="sign-in-code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("connectors.urls")),
    path("", include("mappings.urls")),
    path("", include("flows.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(flows_api.urlpatterns)),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
