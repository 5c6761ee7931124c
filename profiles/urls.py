"""Profile routes, with the trailing slash the official SDKs send. Included before platform_api's, whose
/v2/entities/{type}/{id}/ would otherwise take /v2/entities/user/{id}/profile/ for an entity id ending "/profile"."""

from django.urls import path

from profiles import views

urlpatterns = [
    path("v2/profiles/settings/", views.ProfileSettingsView.as_view(), name="platform-profile-settings"),
    path("v2/profiles/jobs/", views.ProfileJobsView.as_view(), name="platform-profile-jobs"),
    path("v2/profiles/jobs/<str:job_id>/", views.ProfileJobView.as_view(), name="platform-profile-job"),
    # path: a user id may contain "/" (sent as %2F), as on the entity routes.
    path("v2/entities/user/<path:entity_id>/profile/", views.UserProfileView.as_view(), name="platform-user-profile"),
]
