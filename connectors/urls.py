from django.urls import path

from connectors.views import connections, pairs

urlpatterns = [
    path("connections/", connections.ConnectionListView.as_view(), name="connection-list"),
    path(
        "connections/new/",
        connections.ConnectionSystemChoiceView.as_view(),
        name="connection-choose",
    ),
    path(
        "connections/new/<str:system>/",
        connections.ConnectionCreateView.as_view(),
        name="connection-create",
    ),
    path(
        "connections/<int:pk>/",
        connections.ConnectionDetailView.as_view(),
        name="connection-detail",
    ),
    path(
        "connections/<int:pk>/schema/<str:entity>/",
        connections.ConnectionSchemaView.as_view(),
        name="connection-schema",
    ),
    path(
        "connections/<int:pk>/edit/",
        connections.ConnectionEditView.as_view(),
        name="connection-edit",
    ),
    path(
        "connections/<int:pk>/test/",
        connections.ConnectionTestView.as_view(),
        name="connection-test",
    ),
    path(
        "connections/<int:pk>/connect/",
        connections.OAuthConnectView.as_view(),
        name="oauth-connect",
    ),
    path("oauth/callback/", connections.OAuthCallbackView.as_view(), name="oauth-callback"),
    path("pairs/", pairs.PairListView.as_view(), name="pair-list"),
    path("pairs/new/", pairs.PairCreateView.as_view(), name="pair-create"),
    path("pairs/<slug:slug>/", pairs.PairDetailView.as_view(), name="pair-detail"),
    path("pairs/<slug:slug>/edit/", pairs.PairUpdateView.as_view(), name="pair-edit"),
    path(
        "pairs/<slug:slug>/register-webhook/",
        pairs.PairRegisterWebhookView.as_view(),
        name="pair-register-webhook",
    ),
    path(
        "pairs/<slug:slug>/rotate-token/",
        pairs.PairRotateTokenView.as_view(),
        name="pair-rotate-token",
    ),
]
