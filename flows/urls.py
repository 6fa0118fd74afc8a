"""Flow pages under a pair (included at the root)."""

from django.urls import path

from flows import views_initial_load

urlpatterns = [
    path(
        "pairs/<slug:slug>/initial-load/",
        views_initial_load.InitialLoadView.as_view(),
        name="initial-load",
    ),
    path(
        "pairs/<slug:slug>/initial-load/progress/",
        views_initial_load.InitialLoadProgressView.as_view(),
        name="initial-load-progress",
    ),
    path(
        "pairs/<slug:slug>/initial-load/start/",
        views_initial_load.InitialLoadStartView.as_view(),
        name="initial-load-start",
    ),
]
