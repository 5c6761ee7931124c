from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.services import user_credentials_revoke


class LowerCaseEmail:
    """The email in lower case, as every other way of making or changing an account stores it: logins match it in any
    case, so the column's exact unique check then refuses another account's email in other case (two accounts of one
    email made both their logins a 500)."""

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()


class UserCreateForm(LowerCaseEmail, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "role")


class UserEditForm(LowerCaseEmail, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreateForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "name", "role", "is_active", "created_at", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "name")
    # Django admin access and permissions follow the role (User.save), so they are shown, not set.
    readonly_fields = ("is_staff", "is_superuser", "created_at", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "role")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("created_at", "last_login")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "name", "role", "usable_password", "password1", "password2")},
        ),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_credentials_revoke(user=obj)  # as the dashboard's users page does


# Roles (admin, member) decide access here; Django's groups are unused, so not offered.
admin.site.unregister(Group)
