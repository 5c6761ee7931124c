from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.views import (
    account,
    admin,
    entities,
    home,
    keys,
    memories,
    memory_exports,
    memory_imports,
    profiles,
    requests,
    webhooks,
)

app_name = "dashboard"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", account.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", account.setup, name="setup"),
    path("setup/models/", account.setup_models, name="setup-models"),
    path("setup/key/", account.setup_key, name="setup-key"),
    path("setup/test/", account.setup_test, name="setup-test"),
    path("settings/", account.settings_page, name="settings"),
    path("memories/", memories.memory_list, name="memories"),
    path("memories/add/", memories.memory_add, name="memory-add"),
    path("memories/search/", memories.memory_search, name="search"),
    path("memories/delete-scope/", memories.memory_delete_scope, name="memory-delete-scope"),
    path("memories/<str:memory_id>/", memories.memory_detail, name="memory"),
    path("memories/<str:memory_id>/edit/", memories.memory_edit, name="memory-edit"),
    path("memories/<str:memory_id>/delete/", memories.memory_delete, name="memory-delete"),
    path("entities/", entities.entity_list, name="entities"),
    path("entities/<str:entity_type>/<path:entity_id>/delete/", entities.entity_delete, name="entity-delete"),
    path("exports/", memory_exports.export_list, name="exports"),
    path("exports/<str:export_id>/download/", memory_exports.export_download, name="export-download"),
    path("imports/", memory_imports.import_list, name="imports"),
    path("profiles/", profiles.profile_list, name="profiles"),
    path("keys/", keys.key_list, name="keys"),
    path("keys/<int:key_id>/revoke/", keys.key_revoke, name="key-revoke"),
    path("requests/", requests.request_list, name="requests"),
    path("webhooks/", webhooks.webhook_list, name="webhooks"),
    path("webhooks/<int:webhook_id>/edit/", webhooks.webhook_edit, name="webhook-edit"),
    path("webhooks/<int:webhook_id>/active/", webhooks.webhook_active, name="webhook-active"),
    path("webhooks/<int:webhook_id>/delete/", webhooks.webhook_delete, name="webhook-delete"),
    path("configuration/", admin.config_page, name="config"),
    path("configuration/test/", admin.config_test, name="config-test"),
    path("users/", admin.user_list, name="users"),
    path("users/<int:user_id>/active/", admin.user_active, name="user-active"),
    path("users/<int:user_id>/password/", admin.user_password, name="user-password"),
]
