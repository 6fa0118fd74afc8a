from django.urls import path

from connectors import views

urlpatterns = [
    path("connections/", views.ConnectionListView.as_view(), name="connection-list"),
    path("connections/new/", views.ConnectionSystemChoiceView.as_view(), name="connection-choose"),
    path(
        "connections/new/<str:system>/",
        views.ConnectionFormView.as_view(),
        name="connection-create",
    ),
    path("connections/<int:pk>/", views.ConnectionDetailView.as_view(), name="connection-detail"),
    path(
        "connections/<int:pk>/schema/<str:entity>/",
        views.ConnectionSchemaView.as_view(),
        name="connection-schema",
    ),
    path("connections/<int:pk>/edit/", views.ConnectionFormView.as_view(), name="connection-edit"),
    path("connections/<int:pk>/test/", views.ConnectionTestView.as_view(), name="connection-test"),
    path("connections/<int:pk>/connect/", views.OAuthConnectView.as_view(), name="oauth-connect"),
    path("oauth/callback/", views.OAuthCallbackView.as_view(), name="oauth-callback"),
    path("pairs/", views.PairListView.as_view(), name="pair-list"),
    path("pairs/new/", views.PairCreateView.as_view(), name="pair-create"),
    path("pairs/<slug:slug>/", views.PairDetailView.as_view(), name="pair-detail"),
    path("pairs/<slug:slug>/edit/", views.PairUpdateView.as_view(), name="pair-edit"),
    path(
        "pairs/<slug:slug>/register-webhook/",
        views.PairRegisterWebhookView.as_view(),
        name="pair-register-webhook",
    ),
    path(
        "pairs/<slug:slug>/rotate-token/",
        views.PairRotateTokenView.as_view(),
        name="pair-rotate-token",
    ),
]
