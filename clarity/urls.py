from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from clarity import health, views
from connectors.api import ConnectionViewSet, IntegrationPairViewSet
from flows.api import register as register_flows_api
from flows.api_events import register as register_events_api
from flows.api_events import urlpatterns as events_api_urls
from flows.views_hooks import receive_webhook
from mappings.api import register as register_mappings_api

router = DefaultRouter()
router.register("connections", ConnectionViewSet, basename="api-connection")
router.register("pairs", IntegrationPairViewSet, basename="api-pair")
register_flows_api(router)
register_events_api(router)
register_mappings_api(router)

urlpatterns = [
    # First: the busiest URL, resolved before the many includes mounted at "".
    path("hooks/<slug:slug>/<str:token>/", receive_webhook, name="webhook"),
    path("", RedirectView.as_view(pattern_name="dashboard"), name="home"),
    path("", include("monitoring.urls")),
    path("settings/", views.account_settings, name="settings"),
    path("settings/api-token/", views.regenerate_api_token, name="api-token"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("connectors.urls")),
    path("", include("mappings.urls")),
    path("", include("mappings.urls_config")),
    path("", include("flows.urls")),
    path("", include("monitoring.urls_ops")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(events_api_urls)),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
