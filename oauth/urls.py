from django.urls import path

from oauth import views

urlpatterns = [
    # RFC 9728 §3.1: the resource's path after the well-known name; the root one for clients that look there.
    path(
        ".well-known/oauth-protected-resource/mcp",
        views.ResourceMetadataView.as_view(),
        name="oauth-protected-resource-mcp",
    ),
    path(".well-known/oauth-protected-resource", views.ResourceMetadataView.as_view()),
    path(".well-known/oauth-authorization-server", views.ServerMetadataView.as_view(), name="oauth-server-metadata"),
    path("oauth/register", views.RegisterView.as_view(), name="oauth-register"),
    path("oauth/token", views.TokenView.as_view(), name="oauth-token"),
    path("oauth/revoke", views.RevokeView.as_view(), name="oauth-revoke"),
]
